"""Registration and profile editing: one persistent conversation (name="registration").

The draft lives in the persisted `user_data` until the member confirms, so nothing personal
is stored before consent and progress survives a restart. `/profile` re-uses the same steps
(and the same validation) on a draft filled from the member's row.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.context import Ctx, LiaisonApp
from bot.i18n import Markup, Translator
from bot.members import (
    CATEGORIES,
    EXPERTISE,
    INVITE_PREFIX,
    NAME_MAX,
    Invalid,
    InviteUnavailable,
    Member,
    Registration,
    clean_text,
    valid_token,
)
from bot.roles import Role
from handlers import common
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, pressed, reply, translator, user_id_of
from handlers.menu import CommandMenu

CONSENT, NAME, CATEGORY, ORG, POSITION, EXPERTISE_STEP, INTERESTS, PHONE, GROUPS, SUMMARY = range(10)
ORDER = (NAME, CATEGORY, ORG, POSITION, EXPERTISE_STEP, INTERESTS, PHONE, GROUPS, SUMMARY)
EDITABLE = {
    "name": NAME,
    "category": CATEGORY,
    "organisation": ORG,
    "position": POSITION,
    "expertise": EXPERTISE_STEP,
    "interests": INTERESTS,
    "phone": PHONE,
    "groups": GROUPS,
}
TEXT = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
DRAFT = "reg"


def draft_of(context: Ctx) -> dict[str, Any]:
    data = context.user_data if context.user_data is not None else {}
    value = data.get(DRAFT)
    if not isinstance(value, dict):
        value = {}
        data[DRAFT] = value
    return value


def summary_lines(tr: Translator, d: dict[str, Any], group_names: dict[int, str] | None = None) -> list[str]:
    none = str(tr("members.none"))
    category = d.get("category")
    lines = [
        tr("members.field.name") + ": " + tr("members.value", value=d.get("name") or none),
        tr("members.field.category") + ": " + (tr(f"members.cat.{category}") if category in CATEGORIES else none),
        tr("members.field.organisation") + ": " + tr("members.value", value=d.get("organisation") or none),
        tr("members.field.position") + ": " + tr("members.value", value=d.get("position") or none),
        tr("members.field.expertise")
        + ": "
        + (", ".join(str(tr(f"members.exp.{t}")) for t in d.get("expertise", []) if t in EXPERTISE) or none)
        + (str(tr("members.value_note", value=d["expertise_note"])) if d.get("expertise_note") else ""),
        tr("members.field.interests") + ": " + tr("members.value", value=d.get("interests") or none),
        tr("members.field.phone") + ": " + tr("members.value", value=d.get("phone") or none),
    ]
    if group_names is not None:
        names = [group_names[g] for g in d.get("groups", []) if g in group_names]
        lines.append(tr("members.field.groups") + ": " + tr("members.value", value=", ".join(names) or none))
    return lines


def draft_from_member(member: Member) -> dict[str, Any]:
    return {
        "mode": "profile",
        "name": member.name,
        "category": member.category,
        "organisation": member.organisation,
        "position": member.position,
        "expertise": list(member.expertise),
        "expertise_note": member.expertise_note,
        "interests": member.interests,
        "phone": member.phone,
        "groups": [],
        "step": SUMMARY,
        "consent": True,
    }


# --- entry ---------------------------------------------------------------------------------------------
async def start_entry(update: Update, context: Ctx) -> int:
    """/start: registered people get their home menu; others register (with an invite, if any)."""
    args = context.args or []
    payload = args[0] if args else ""
    member = await context.services.members.registered(user_id_of(update))
    if member is not None or (payload and not payload.startswith(INVITE_PREFIX)):
        await common.start(update, context)
        return ConversationHandler.END
    is_register = bool(update.message and (update.message.text or "").startswith("/register"))
    if not payload and not is_register and (await actor(update, context)).role >= Role.COORDINATOR:
        # Owners and coordinators need not be members: /start is their home; /register opts in.
        await common.show_home(update, context)
        tr = await translator(update, context)
        await reply(update, tr("members.register_hint"))
        return ConversationHandler.END
    d = draft_of(context)
    tr = await translator(update, context)
    if payload:
        token = payload[len(INVITE_PREFIX) :]
        invite = await context.services.org.invite_by_token(token) if valid_token(token) else None
        if invite is None or not invite.usable(context.services.clock.now()):
            await reply(update, tr("members.invite.invalid"))
            return ConversationHandler.END
        d["invite"] = token
        d["groups"] = [invite.group_id]
        d["invite_group"] = invite.group_name
    if d.get("mode") == "register" and d.get("consent"):
        return await ask(update, context, int(d.get("step", NAME)))
    invite_token, groups, invite_group = d.get("invite"), d.get("groups", []), d.get("invite_group")
    d.clear()
    d.update(mode="register", invite=invite_token, groups=groups, invite_group=invite_group, expertise=[])
    user = update.effective_user
    text = tr("start.welcome", name=user.first_name if user else "") + "\n\n" + tr("members.privacy")
    if invite_group:
        text = tr("members.invite.welcome", group=invite_group) + "\n\n" + text
    buttons = [
        [kb.button(str(tr("members.consent.yes")), kb.cb("reg", "consent", "yes"))],
        [kb.button(str(tr("members.consent.no")), kb.cb("reg", "consent", "no"))],
    ]
    await reply(update, text, kb.inline(buttons))
    return CONSENT


async def profile_entry(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    member = await context.services.members.registered(user_id_of(update))
    d = draft_of(context)
    if member is None or member.status == "left":
        await reply(update, tr("members.not_registered"))
        if d.get("mode") == "register" and d.get("consent"):
            return int(d.get("step", NAME))
        return ConversationHandler.END
    d.clear()
    d.update(draft_from_member(member))
    return await ask(update, context, SUMMARY)


async def consent(update: Update, context: Ctx) -> int:
    parts = pressed(update, "reg", 2)
    await answer(update)
    d = draft_of(context)
    if parts is None or parts[1] != "yes":
        d.clear()
        tr = await translator(update, context)
        await edit_or_reply(update, tr("members.consent.declined"))
        return ConversationHandler.END
    d["consent"] = True
    return await ask(update, context, NAME)


# --- prompts -------------------------------------------------------------------------------------------
async def ask(update: Update, context: Ctx, state: int) -> int:
    """Show the prompt of `state` and return it as the conversation's new state."""
    tr = await translator(update, context)
    d = draft_of(context)
    d["step"] = state
    skip = kb.button(str(tr("members.skip")), kb.cb("reg", "skip"))
    if state == NAME:
        user = update.effective_user
        tg_name = " ".join(p for p in (user.first_name, user.last_name) if p) if user else ""
        use = kb.button(str(tr("members.name.use", name=tg_name[:40])), kb.cb("reg", "name", "tg"))
        rows = [[use]] if tg_name else []
        await send_prompt(update, tr("members.ask.name"), kb.inline(rows) if rows else None)
    elif state == CATEGORY:
        buttons = [kb.button(str(tr(f"members.cat.{c}")), kb.cb("reg", "cat", c)) for c in CATEGORIES]
        await send_prompt(update, tr("members.ask.category"), kb.inline(kb.columns(buttons, 1)))
    elif state in (ORG, POSITION, INTERESTS):
        key = {ORG: "members.ask.organisation", POSITION: "members.ask.position", INTERESTS: "members.ask.interests"}
        await send_prompt(update, tr(key[state]), kb.inline([[skip]]))
    elif state == EXPERTISE_STEP:
        chosen = set(d.get("expertise", []))
        buttons = [
            kb.button(("✅ " if t in chosen else "") + str(tr(f"members.exp.{t}")), kb.cb("reg", "exp", t))
            for t in EXPERTISE
        ]
        rows = [*kb.columns(buttons, 3), [kb.button(str(tr("members.done")), kb.cb("reg", "exp", "done"))]]
        await send_prompt(update, tr("members.ask.expertise"), kb.inline(rows))
    elif state == PHONE:
        required = context.services.settings.phone_required
        keyboard = kb.contact_keyboard(str(tr("members.phone.share")), None if required else str(tr("members.skip")))
        await reply(update, tr("members.ask.phone_required" if required else "members.ask.phone"), keyboard)
    elif state == GROUPS:
        groups = await context.services.org.all_groups()
        if not groups or d.get("invite") or d.get("mode") == "profile":
            return await ask(update, context, SUMMARY)
        chosen = set(d.get("groups", []))
        buttons = [
            kb.button(("✅ " if g.id in chosen else "") + "· " * g.depth + g.name[:40], kb.cb("reg", "grp", g.id))
            for g in groups
        ]
        rows = [*kb.columns(buttons, 1), [kb.button(str(tr("members.done")), kb.cb("reg", "grp", "done"))]]
        await send_prompt(update, tr("members.ask.groups"), kb.inline(rows))
    else:
        names = {g.id: g.name for g in await context.services.org.all_groups()}
        profile = d.get("mode") == "profile"
        lines = summary_lines(tr, d, None if profile else names)
        head = tr("members.profile.title" if profile else "members.summary.title")
        confirm = "members.profile.save" if profile else "members.summary.confirm"
        rows = [
            [kb.button(str(tr(confirm)), kb.cb("reg", "ok"))],
            [kb.button(str(tr("members.summary.edit")), kb.cb("reg", "edit"))],
        ]
        if profile:
            rows.append(
                [
                    kb.button(str(tr("members.profile.groups")), kb.cb("prof", "groups")),
                    kb.button(str(tr("members.profile.close")), kb.cb("reg", "close")),
                ]
            )
        await send_prompt(update, Markup(head + "\n\n" + "\n".join(lines)), kb.inline(rows))
    return state


async def send_prompt(update: Update, text: str, markup: Any) -> None:
    if update.callback_query is not None:
        await edit_or_reply(update, text, markup)
    else:
        await reply(update, text, markup)


async def advance(update: Update, context: Ctx, current: int) -> int:
    d = draft_of(context)
    if d.get("editing") or d.get("mode") == "profile":
        d["editing"] = False
        return await ask(update, context, SUMMARY)
    return await ask(update, context, ORDER[ORDER.index(current) + 1])


async def invalid(update: Update, context: Ctx, exc: Invalid, state: int) -> int:
    tr = await translator(update, context)
    await reply(update, tr(f"members.invalid.{exc.reason}"))
    return state


# --- answers ---------------------------------------------------------------------------------------------
def _text(update: Update) -> str:
    return update.message.text if update.message and update.message.text else ""


async def name_text(update: Update, context: Ctx) -> int:
    try:
        draft_of(context)["name"] = clean_text(_text(update), NAME_MAX)
    except Invalid as exc:
        return await invalid(update, context, exc, NAME)
    return await advance(update, context, NAME)


async def name_from_telegram(update: Update, context: Ctx) -> int:
    await answer(update)
    user = update.effective_user
    name = " ".join(p for p in (user.first_name, user.last_name) if p) if user else ""
    try:
        draft_of(context)["name"] = clean_text(name, NAME_MAX)
    except Invalid as exc:
        return await invalid(update, context, exc, NAME)
    return await advance(update, context, NAME)


async def category_chosen(update: Update, context: Ctx) -> int:
    parts = pressed(update, "reg", 2)
    await answer(update)
    if parts is None or parts[1] not in CATEGORIES:
        return CATEGORY
    draft_of(context)["category"] = parts[1]
    return await advance(update, context, CATEGORY)


def free_text_step(state: int, column: str) -> Any:
    async def handle(update: Update, context: Ctx) -> int:
        try:
            draft_of(context)[column] = clean_text(_text(update))
        except Invalid as exc:
            return await invalid(update, context, exc, state)
        return await advance(update, context, state)

    return handle


async def skip(update: Update, context: Ctx) -> int:
    await answer(update)
    d = draft_of(context)
    state = int(d.get("step", NAME))
    column = {ORG: "organisation", POSITION: "position", INTERESTS: "interests"}.get(state)
    if column is None:
        return state
    d[column] = None
    return await advance(update, context, state)


async def expertise_toggle(update: Update, context: Ctx) -> int:
    parts = pressed(update, "reg", 2)
    await answer(update)
    d = draft_of(context)
    if parts is None:
        return EXPERTISE_STEP
    if parts[1] == "done":
        return await advance(update, context, EXPERTISE_STEP)
    if parts[1] in EXPERTISE:
        chosen: list[str] = list(d.get("expertise", []))
        chosen.remove(parts[1]) if parts[1] in chosen else chosen.append(parts[1])
        d["expertise"] = chosen
    return await ask(update, context, EXPERTISE_STEP)


async def expertise_note(update: Update, context: Ctx) -> int:
    try:
        draft_of(context)["expertise_note"] = clean_text(_text(update))
    except Invalid as exc:
        return await invalid(update, context, exc, EXPERTISE_STEP)
    tr = await translator(update, context)
    await reply(update, tr("members.expertise.noted"))
    return await ask(update, context, EXPERTISE_STEP)


async def phone_contact(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    contact = update.message.contact if update.message else None
    if contact is None or contact.user_id != user_id_of(update):
        await reply(update, tr("members.phone.not_yours"))
        return PHONE
    phone = "".join(ch for ch in contact.phone_number if ch.isdigit() or ch == "+")[:20]
    draft_of(context)["phone"] = phone
    await reply(update, tr("members.phone.saved"), kb.remove_keyboard())
    return await advance(update, context, PHONE)


async def phone_text(update: Update, context: Ctx) -> int:
    tr = await translator(update, context)
    if _text(update).strip() == str(tr("members.skip")) and not context.services.settings.phone_required:
        draft_of(context)["phone"] = None
        await reply(update, tr("members.phone.skipped"), kb.remove_keyboard())
        return await advance(update, context, PHONE)
    await reply(update, tr("members.phone.use_button"))
    return PHONE


async def group_toggle(update: Update, context: Ctx) -> int:
    parts = pressed(update, "reg", 2)
    d = draft_of(context)
    tr = await translator(update, context)
    if parts is None:
        await answer(update)
        return GROUPS
    if parts[1] == "done":
        if not d.get("groups"):
            await answer(update, str(tr("members.groups.need_one")), alert=True)
            # show what is really chosen (the message may show a tick the bot lost in a restart)
            return await ask(update, context, GROUPS)
        await answer(update)
        return await advance(update, context, GROUPS)
    gid = kb.parse_int(parts[1])
    await answer(update)
    valid = {g.id for g in await context.services.org.all_groups()}
    if gid is not None and gid in valid:
        chosen: list[int] = list(d.get("groups", []))
        chosen.remove(gid) if gid in chosen else chosen.append(gid)
        d["groups"] = chosen
    return await ask(update, context, GROUPS)


async def edit_menu(update: Update, context: Ctx) -> int:
    await answer(update)
    tr = await translator(update, context)
    d = draft_of(context)
    fields = [f for f in EDITABLE if not (f == "groups" and (d.get("mode") == "profile" or d.get("invite")))]
    buttons = [kb.button(str(tr(f"members.field.{f}")), kb.cb("reg", "editf", f)) for f in fields]
    await edit_or_reply(update, tr("members.edit.which"), kb.inline(kb.columns(buttons, 2)))
    return SUMMARY


async def edit_field(update: Update, context: Ctx) -> int:
    parts = pressed(update, "reg", 2)
    await answer(update)
    if parts is None or parts[1] not in EDITABLE:
        return SUMMARY
    draft_of(context)["editing"] = True
    return await ask(update, context, EDITABLE[parts[1]])


async def close(update: Update, context: Ctx) -> int:
    await answer(update)
    draft_of(context).clear()
    tr = await translator(update, context)
    await edit_or_reply(update, tr("members.profile.closed"))
    return ConversationHandler.END


async def confirm(update: Update, context: Ctx) -> int:
    await answer(update)
    tr = await translator(update, context)
    d = draft_of(context)
    services = context.services
    uid = user_id_of(update)
    if d.get("mode") == "profile":
        member = await services.members.registered(uid)
        if member is not None:
            values = {
                k: d.get(k)
                for k in ("name", "category", "organisation", "position", "phone", "expertise_note", "interests")
            }
            await services.members.save_profile(member, values, tuple(d.get("expertise", [])))
            await services.members.confirm_profile(member)
        d.clear()
        await edit_or_reply(update, tr("members.profile.saved"))
        return ConversationHandler.END
    if not d.get("name") or d.get("category") not in CATEGORIES:
        return await ask(update, context, NAME if not d.get("name") else CATEGORY)
    if services.settings.phone_required and not d.get("phone"):
        return await ask(update, context, PHONE)
    if await services.members.registered(uid) is not None:
        d.clear()
        await common.show_home(update, context)
        return ConversationHandler.END
    registration = Registration(
        user_id=uid,
        name=d["name"],
        category=d["category"],
        organisation=d.get("organisation"),
        position=d.get("position"),
        phone=d.get("phone"),
        expertise=tuple(d.get("expertise", [])),
        expertise_note=d.get("expertise_note"),
        interests=d.get("interests"),
        group_ids=tuple(int(g) for g in d.get("groups", [])),
        invite_token=d.get("invite"),
    )
    try:
        member = await services.members.register(registration)
    except InviteUnavailable:
        d["invite"] = None
        d["groups"] = []
        d.pop("invite_group", None)
        await reply(update, tr("members.invite.expired_during"))
        return await ask(update, context, GROUPS)
    d.clear()
    done = "members.registered.pending" if member.status == "pending" else "members.registered"
    await edit_or_reply(update, tr(done))
    from handlers.org import notify_approvers

    await notify_approvers(context, member)
    who = await context.services.roles.actor(uid)
    await common.set_chat_commands(context, uid, who.role, await services.users.chosen_language(uid), context.ui.menu)
    return ConversationHandler.END


async def out_of_step(update: Update, context: Ctx) -> int | None:
    """Input the current step does not take — a stray photo or contact, or a button of a step the
    bot has not reached (it restarted a moment after showing it): say so and ask the step again."""
    d = draft_of(context)
    step = d.get("step")
    tr = await translator(update, context)
    if update.callback_query is not None:
        await answer(update, str(tr("members.step_again")))
    else:
        await reply(update, tr("members.step_again"))
    if not isinstance(step, int):
        return None
    return await ask(update, context, step)


async def help_keep_state(update: Update, context: Ctx) -> None:
    await common.help_command(update, context)


def conversation() -> ConversationHandler[Ctx]:
    def cq(callback: Any, pattern: str) -> BaseHandler[Update, Ctx, Any]:
        return CallbackQueryHandler(callback, pattern=pattern)

    fallbacks: list[BaseHandler[Update, Ctx, Any]] = [
        common.cancel_fallback(),
        MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~filters.COMMAND, out_of_step),
        CallbackQueryHandler(out_of_step, pattern=r"^reg:"),
    ]

    return ConversationHandler(
        entry_points=[
            CommandHandler("start", start_entry, filters=common.COMMAND_FILTER & filters.ChatType.PRIVATE),
            CommandHandler("profile", profile_entry, filters=common.COMMAND_FILTER & filters.ChatType.PRIVATE),
            CommandHandler("register", start_entry, filters=common.COMMAND_FILTER & filters.ChatType.PRIVATE),
        ],
        states={
            CONSENT: [cq(consent, r"^reg:consent:")],
            NAME: [MessageHandler(TEXT, name_text), cq(name_from_telegram, r"^reg:name:tg$")],
            CATEGORY: [cq(category_chosen, r"^reg:cat:")],
            ORG: [MessageHandler(TEXT, free_text_step(ORG, "organisation")), cq(skip, r"^reg:skip$")],
            POSITION: [MessageHandler(TEXT, free_text_step(POSITION, "position")), cq(skip, r"^reg:skip$")],
            EXPERTISE_STEP: [cq(expertise_toggle, r"^reg:exp:"), MessageHandler(TEXT, expertise_note)],
            INTERESTS: [MessageHandler(TEXT, free_text_step(INTERESTS, "interests")), cq(skip, r"^reg:skip$")],
            PHONE: [MessageHandler(filters.CONTACT, phone_contact), MessageHandler(TEXT, phone_text)],
            GROUPS: [cq(group_toggle, r"^reg:grp:")],
            SUMMARY: [
                cq(confirm, r"^reg:ok$"),
                cq(edit_menu, r"^reg:edit$"),
                cq(edit_field, r"^reg:editf:"),
                cq(close, r"^reg:close$"),
            ],
        },
        fallbacks=fallbacks,
        name="registration",
        persistent=True,
        per_message=False,
        allow_reentry=True,
    )


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    # The basic /start is registered after every feature (handlers.common.register_catch_alls),
    # so this conversation sees /start first.
    app.add_handler(conversation())
    menu.add("profile", "members.cmd.profile", Role.PENDING)
