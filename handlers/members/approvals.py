"""/approvals: join requests waiting in the caller's scope; approve, or reject with a reason."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot import labels
from bot.context import Ctx, LiaisonApp
from bot.members.callbacks import APPROVALS, APPROVALS_PAGE, APPROVE, REJECT
from bot.members.models import CATEGORY
from bot.members.rules import namesake_hint
from bot.roles import Role
from handlers import common
from handlers import keyboards as kb
from handlers.base import answer, edit_or_reply, reply, translator
from handlers.buttons import on, press
from handlers.members.common import checked, coordinator, in_group, opened, tell
from handlers.menu import CommandMenu

PAGE = 10


async def approvals_command(update: Update, context: Ctx) -> None:
    pressed = press(update, APPROVALS_PAGE)
    screen = await opened(update, context, coordinator(context))
    if screen is None:
        return
    who, tr = screen
    pending = await context.services.members.pending_requests(who)
    if not pending:
        await edit_or_reply(update, tr("members.approvals.empty"))
        return
    page = kb.page_of(pending, pressed.num("page") if pressed is not None else 0, PAGE)
    lines = [str(tr("members.approvals.title", count=len(pending)))]
    if page.pages > 1:
        lines.append(str(tr("members.approvals.page", page=page.page + 1, pages=page.pages)))
    rows = []
    names = [p.name for p in page.items]
    for p in page.items:
        details = [labels.label(tr, CATEGORY, p.category) if p.category else "", (p.organisation or "")[:30]]
        shown = " · ".join(d for d in details if d)
        key = "members.approvals.line_details" if shown else "members.approvals.line"
        lines.append(str(tr(key, name=p.name or "-", group=p.group_name, details=shown)))
        label = (p.name or "-")[:20]
        if names.count(p.name) > 1:  # the same name twice on the page: tell the requests apart
            found = namesake_hint(p.organisation, p.phone, 12)
            kind, value = found if found is not None else ("org", p.group_name[:12])
            hint = value if kind == "org" else str(tr("members.phone_tail", digits=value))
            label = str(tr("members.approvals.same_name", name=label, hint=hint))
        ids = {"member": p.member_id, "group": p.group_id}
        rows.append(
            [
                kb.button(str(tr("members.approvals.approve", name=label)), APPROVE.data(**ids)),
                kb.button(str(tr("members.approvals.reject", name=label)), REJECT.data(**ids)),
            ]
        )
    if page.pages > 1:
        nav = []
        if page.page > 0:
            nav.append(kb.button("◀", APPROVALS_PAGE.data(page=page.page - 1)))
        if page.page + 1 < page.pages:
            nav.append(kb.button("▶", APPROVALS_PAGE.data(page=page.page + 1)))
        rows.append(nav)
    await edit_or_reply(update, "\n".join(lines), kb.inline(rows))


async def approve_button(update: Update, context: Ctx) -> None:
    pressed = press(update, APPROVE)
    if pressed is None:
        await answer(update)
        return
    await decide(update, context, pressed.num("member"), pressed.num("group"), True, None)


async def decide(
    update: Update, context: Ctx, member_id: int, group_id: int, approve: bool, reason: str | None
) -> None:
    """Approve or reject one request in a group of the caller's scope (re-checked here)."""
    who = await checked(update, context, in_group(context, group_id))
    if who is None:
        return
    await answer(update)
    tr = await translator(update, context)
    services = context.services
    done = await services.members.decide(who.user_id, member_id, group_id, approve, reason)
    member = await services.members.get(member_id)
    group = await services.org.group(group_id)
    if not done or member is None or group is None:
        await reply(update, tr("members.approvals.already"))
        return
    if approve:
        await tell(context, member.user_id, "members.approvals.approved_member", group=group.name)
    else:
        await tell(context, member.user_id, "members.approvals.rejected_member", group=group.name, reason=reason or "")
    done_key = "members.approvals.done_ok" if approve else "members.approvals.done_rej"
    await reply(update, tr(done_key, name=member.name or ""))


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    app.add_handler(CommandHandler("approvals", approvals_command, filters=common.COMMAND_FILTER))
    app.add_handler(on(APPROVALS, approvals_command))
    app.add_handler(on(APPROVALS_PAGE, approvals_command))
    app.add_handler(on(APPROVE, approve_button))
    menu.add("approvals", "members.cmd.approvals", Role.COORDINATOR)
    menu.add_home("members.home.approvals", APPROVALS.data(), Role.COORDINATOR)
