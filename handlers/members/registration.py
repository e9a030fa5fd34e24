"""Registration: /start (or /register, or an invite link) for newcomers, a guided flow ("registration").

Consent first; the answers stay in the draft (user_data) until the member confirms the summary.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler

from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.i18n import Markup
from bot.members.callbacks import REG_CONFIRM, REG_CONSENT, REG_EDIT
from bot.members.models import CATEGORIES, Registration
from bot.members.rules import INVITE_PREFIX, valid_token
from bot.roles import Role
from handlers import common, steps
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, reply, translator, user_id_of
from handlers.buttons import on, press
from handlers.flows import guided
from handlers.members.common import notify_approvers, summary_lines
from handlers.members.form import CATEGORY_STEP, CONSENT, GROUPS, NAME, PHONE, SUMMARY, Form, Handler, beside

FLOW = steps.Flow("registration")


class RegistrationForm(Form):
    draft_key = "reg"
    offers_groups = True

    async def wants_groups(self, context: Ctx) -> bool:
        return not self.draft(context).get("invite") and await super().wants_groups(context)

    def groups_editable(self, context: Ctx) -> bool:
        return not self.draft(context).get("invite")

    async def summary(self, update: Update, context: Ctx) -> None:
        tr = await translator(update, context)
        d = self.draft(context)
        names = {g.id: g.name for g in await context.services.org.all_groups()}
        lines = summary_lines(tr, d, [names[g] for g in d.get("groups", []) if g in names])
        rows = [
            [kb.button(str(tr("members.summary.confirm")), REG_CONFIRM.data())],
            [kb.button(str(tr("members.summary.edit")), REG_EDIT.data())],
        ]
        await self.prompt(update, Markup(tr("members.summary.title") + "\n\n" + "\n".join(lines)), kb.inline(rows))

    def summary_handlers(self) -> list[Handler]:
        return [on(REG_CONFIRM, confirm)]


FORM = RegistrationForm(FLOW)


@FLOW.asks(CONSENT)
async def ask_consent(update: Update, context: Ctx, state: int = CONSENT) -> int:
    await FLOW.enter(update, context, CONSENT)
    tr = await translator(update, context)
    d = FORM.draft(context)
    user = update.effective_user
    text = tr("start.welcome", name=user.first_name if user else "") + "\n\n" + tr("members.privacy")
    if d.get("invite_group"):
        text = tr("members.invite.welcome", group=d["invite_group"]) + "\n\n" + text
    buttons = [
        [kb.button(str(tr("members.consent.yes")), REG_CONSENT.data(answer="yes"))],
        [kb.button(str(tr("members.consent.no")), REG_CONSENT.data(answer="no"))],
    ]
    await FORM.prompt(update, text, kb.inline(buttons))
    return CONSENT


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
    d = FORM.draft(context)
    if payload:
        tr = await translator(update, context)
        token = payload[len(INVITE_PREFIX) :]
        invite = await context.services.org.invite_by_token(token) if valid_token(token) else None
        if invite is None or not invite.usable(context.services.clock.now()):
            await reply(update, tr("members.invite.invalid"))
            return ConversationHandler.END
        d.update(invite=token, groups=[invite.group_id], invite_group=invite.group_name)
    if d.get("consent"):  # a registration left unfinished: continue where it stopped
        step = d.get("step")
        return await FORM.ask(update, context, step if isinstance(step, int) and step > CONSENT else NAME)
    invite_token, groups, invite_group = d.get("invite"), d.get("groups", []), d.get("invite_group")
    d.clear()
    d.update(invite=invite_token, groups=groups, invite_group=invite_group, expertise=[])
    await ask_consent(update, context, CONSENT)
    return CONSENT


async def consent(update: Update, context: Ctx) -> int:
    pressed = press(update, REG_CONSENT)
    await answer(update)
    d = FORM.draft(context)
    if pressed is None or pressed.text("answer") != "yes":
        d.clear()
        tr = await translator(update, context)
        await edit_or_reply(update, tr("members.consent.declined"))
        return ConversationHandler.END
    d["consent"] = True
    return await FORM.ask(update, context, NAME)


async def confirm(update: Update, context: Ctx) -> int:
    await answer(update)
    tr = await translator(update, context)
    d = FORM.draft(context)
    services = context.services
    uid = user_id_of(update)
    if not d.get("name") or d.get("category") not in CATEGORIES:
        return await FORM.ask(update, context, NAME if not d.get("name") else CATEGORY_STEP)
    if services.settings.phone_required and not d.get("phone"):
        return await FORM.ask(update, context, PHONE)
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
    except Refusal as refusal:  # the invite was used up or revoked meanwhile: choose groups instead
        d.update(invite=None, groups=[])
        d.pop("invite_group", None)
        await reply(update, tr(refusal.key, **refusal.values))
        return await FORM.ask(update, context, GROUPS)
    chosen = set(registration.group_ids)
    waiting = [g.name for g in await services.org.all_groups() if g.id in chosen and g.requires_approval]
    d.clear()
    # What is pending (the groups that need approval) and the next step, in one message.
    if member.status == "pending":
        done = tr("members.registered.pending")
        if waiting:
            done = tr.join([done, tr("members.registered.waiting", groups="、".join(waiting))])
        done = tr.join([done, tr("members.registered.next_pending")])
    else:
        parts = [tr("members.registered")]
        if waiting:
            parts.append(tr("members.registered.waiting", groups="、".join(waiting)))
        done = tr.join([*parts, tr("members.registered.next")])
    await edit_or_reply(update, done)
    await notify_approvers(context, member)
    who = await services.roles.actor(uid)
    await common.set_chat_commands(context, uid, who.role, await services.users.chosen_language(uid), context.ui.menu)
    return ConversationHandler.END


def register(app: LiaisonApp) -> None:
    """The registration flow (before common's /start catch-all, so newcomers register)."""
    private = common.COMMAND_FILTER  # commands in groups: handlers/chatpolicy.py

    def entries() -> list[Handler]:
        return [
            CommandHandler("start", start_entry, filters=private),
            CommandHandler("register", start_entry, filters=private),
        ]

    app.add_handler(
        guided(
            app,
            FLOW,
            title_key="flow.registration",
            entry_points=entries(),
            states=FORM.states({CONSENT: [on(REG_CONSENT, consent)]}),
            fallbacks=beside(*entries()),  # /start and /register continue the registration
            keeps_draft=True,
        )
    )


__all__ = ["FLOW", "FORM", "SUMMARY", "register"]
