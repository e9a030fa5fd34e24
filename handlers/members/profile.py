"""A member's own profile: /profile editing (a guided flow, "profile"), their groups and leaving,
and the answers to the periodic profile check."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, ConversationHandler

from bot import labels
from bot.callbacks import HOME, Button
from bot.context import Ctx, LiaisonApp
from bot.i18n import Markup, Translator
from bot.members.callbacks import (
    LEAVE_ASK,
    LEAVE_CONFIRM,
    LEAVE_GROUP,
    MY_GROUPS,
    PROFILE_FRESH,
    PROFILE_UPDATE,
    REG_CLOSE,
    REG_CONFIRM,
    REG_EDIT,
)
from bot.members.models import MEMBERSHIP_STATUS, Member
from bot.roles import Role
from handlers import common, steps
from handlers import keyboards as kb
from handlers.base import answer, edit_or_reply, reply, translator, user_id_of
from handlers.buttons import on, press
from handlers.flows import guided
from handlers.members.common import profile_of, summary_lines
from handlers.members.form import SUMMARY, Form, Handler, beside
from handlers.menu import CommandMenu

FLOW = steps.Flow("profile")
PROFILE_FIELDS = ("name", "category", "organisation", "position", "phone", "expertise_note", "interests")


class ProfileForm(Form):
    draft_key = "profile"

    async def summary(self, update: Update, context: Ctx) -> None:
        tr = await translator(update, context)
        d = self.draft(context)
        lines = summary_lines(tr, d)
        # 保存 only once something was changed (the draft differs from what was stored).
        stored = d.get("stored")
        changed = not isinstance(stored, dict) or any(d.get(k) != v for k, v in stored.items())
        rows = [
            *([[kb.button(str(tr("members.profile.save")), REG_CONFIRM.data())]] if changed else []),
            [kb.button(str(tr("members.summary.edit")), REG_EDIT.data())],
            [
                kb.button(str(tr("members.profile.groups")), MY_GROUPS.data()),
                kb.button(str(tr("members.profile.close")), REG_CLOSE.data()),
            ],
        ]
        await self.prompt(update, Markup(tr("members.profile.title") + "\n\n" + "\n".join(lines)), kb.inline(rows))

    def summary_handlers(self) -> list[Handler]:
        return [on(REG_CONFIRM, save), on(REG_CLOSE, close)]


FORM = ProfileForm(FLOW)


async def _member(update: Update, context: Ctx) -> Member | None:
    return await context.services.members.registered(user_id_of(update))


async def profile_entry(update: Update, context: Ctx) -> int:
    """/profile: the stored profile (or the unsaved edit a command interrupted) with Save / Edit."""
    member = await _member(update, context)
    if member is None or member.status == "left":
        tr = await translator(update, context)
        await reply(update, tr("members.not_registered"))
        return ConversationHandler.END
    d = FORM.draft(context)
    if d.get("member_id") != member.id:  # no kept draft of this member: start from what is stored
        d.clear()
        d.update(profile_of(member), member_id=member.id, stored=profile_of(member))
    d.pop("editing", None)
    return await FORM.ask(update, context, SUMMARY)


async def save(update: Update, context: Ctx) -> int:
    await answer(update)
    tr = await translator(update, context)
    d = FORM.draft(context)
    member = await _member(update, context)
    if member is not None:
        values = {k: d.get(k) for k in PROFILE_FIELDS}
        await context.services.members.save_profile(member, values, tuple(d.get("expertise", [])))
    d.clear()
    await edit_or_reply(update, tr("members.profile.saved"))
    return ConversationHandler.END


async def close(update: Update, context: Ctx) -> int:
    await answer(update)
    FORM.draft(context).clear()
    tr = await translator(update, context)
    await edit_or_reply(update, tr("members.profile.closed"))
    return ConversationHandler.END


# --- groups and leaving ------------------------------------------------------------------------------
async def my_groups(update: Update, context: Ctx, answered: bool = False) -> None:
    if not answered:
        await answer(update)
    tr = await translator(update, context)
    member = await _member(update, context)
    if member is None:
        await reply(update, tr("members.not_registered"))
        return
    lines = [str(tr("members.groups.mine"))]
    rows = []
    for m in await context.services.members.current_memberships(member):
        status = labels.label(tr, MEMBERSHIP_STATUS, m.status)
        lines.append(str(tr("members.groups.mine_line", group=m.group_name, status=status)))
        rows.append(
            [kb.button(str(tr("members.groups.leave", group=m.group_name[:30])), LEAVE_GROUP.data(id=m.group_id))]
        )
    rows.append([kb.button(str(tr("members.leave.button", association=association(tr, context))), LEAVE_ASK.data())])
    await edit_or_reply(update, "\n".join(lines), kb.inline(rows))


async def leave_group(update: Update, context: Ctx) -> None:
    pressed = press(update, LEAVE_GROUP)
    member = await _member(update, context)
    tr = await translator(update, context)
    if pressed is None or member is None:
        await answer(update)
        return
    left = await context.services.members.leave_group(member, pressed.num("id"))
    await answer(update, str(tr("members.groups.left" if left else "members.groups.not_in")))
    await my_groups(update, context, answered=True)


def association(tr: Translator, context: Ctx) -> str:
    """The association people leave: its configured name (LIAISON_ASSOCIATION_NAME), else 新联会."""
    return context.services.settings.association_name or str(tr("members.association"))


def confirm_or_keep(tr: Translator, confirm_key: str, button: Button) -> InlineKeyboardMarkup:
    """[confirm] [keep: back home] under a question about something irreversible."""
    return kb.inline(
        [[kb.button(str(tr(confirm_key)), button.data()), kb.button(str(tr("members.keep")), HOME.data())]]
    )


async def leave_ask(update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    await edit_or_reply(
        update,
        tr("members.leave.ask", association=association(tr, context)),
        confirm_or_keep(tr, "members.leave.confirm", LEAVE_CONFIRM),
    )


async def leave_confirm(update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    member = await _member(update, context)
    if member is None or member.status == "left":
        await edit_or_reply(update, tr("members.not_registered"))
        return
    await context.services.members.leave(member)
    await edit_or_reply(update, tr("members.leave.done", association=association(tr, context)))


# --- the periodic profile check (queued by MemberService.run_due_refresh) ------------------------------
async def refresh_answer(update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    member = await _member(update, context)
    if member is None:
        return
    await context.services.members.confirm_profile(member)
    await edit_or_reply(update, tr("members.refresh.thanks"))


async def update_hint(update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    await edit_or_reply(update, tr("members.refresh.use_profile"))


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    command = common.COMMAND_FILTER
    app.add_handler(
        guided(
            app,
            FLOW,
            title_key="flow.profile",
            entry_points=[CommandHandler("profile", profile_entry, filters=command)],
            states=FORM.states(),
            fallbacks=beside(CommandHandler("profile", profile_entry, filters=command)),  # /profile shows it again
            keeps_draft=True,
        )
    )
    app.add_handler(on(MY_GROUPS, my_groups))
    app.add_handler(on(LEAVE_GROUP, leave_group))
    app.add_handler(on(LEAVE_ASK, leave_ask))
    app.add_handler(on(LEAVE_CONFIRM, leave_confirm))
    app.add_handler(on(PROFILE_FRESH, refresh_answer))
    app.add_handler(on(PROFILE_UPDATE, update_hint))
    menu.add("profile", "members.cmd.profile", Role.PENDING)
    menu.add_home("members.home.groups", MY_GROUPS.data(), Role.PENDING)
