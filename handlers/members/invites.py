"""/invite: invite links to a group of the caller's scope; `/start inv_<token>` for members."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.members.callbacks import INVITE_LIST, INVITE_MAKE, INVITE_NEW, INVITE_REVOKE
from bot.members.rules import INVITE_PREFIX
from bot.roles import Role
from handlers import common
from handlers import keyboards as kb
from handlers.base import answer, edit_or_reply, reply, translator, user_id_of
from handlers.buttons import on, press
from handlers.members.common import checked, coordinator, in_group, notify_approvers, opened, refused, tree_button
from handlers.menu import CommandMenu

# (days, uses) offered for a new link; 0 means no limit
OPTIONS = ((7, 0), (30, 0), (0, 0), (7, 1), (30, 50))


async def invite_command(update: Update, context: Ctx) -> None:
    who = await checked(update, context, coordinator(context))
    if who is None:
        return
    tr = await translator(update, context)
    groups = await context.services.org.visible_groups(who)
    rows = [
        *kb.columns([tree_button(g, INVITE_NEW.data(group=g.id)) for g in groups], 1),
        [kb.button(str(tr("members.invite.list")), INVITE_LIST.data(page=0))],
    ]
    await reply(update, tr("members.invite.choose_group"), kb.inline(rows))


async def invite_new(update: Update, context: Ctx) -> None:
    pressed = press(update, INVITE_NEW)
    if pressed is None:
        await answer(update)
        return
    gid = pressed.num("group")
    if await checked(update, context, in_group(context, gid)) is None:
        return
    await answer(update)
    tr = await translator(update, context)
    buttons = [
        kb.button(str(tr(f"members.invite.opt.{d}.{u}")), INVITE_MAKE.data(group=gid, days=d, uses=u))
        for d, u in OPTIONS
    ]
    await edit_or_reply(update, tr("members.invite.options"), kb.inline(kb.columns(buttons, 1)))


async def invite_make(update: Update, context: Ctx) -> None:
    pressed = press(update, INVITE_MAKE)
    if pressed is None or (pressed.num("days"), pressed.num("uses")) not in OPTIONS:
        await answer(update)
        return
    gid, days, uses = pressed.num("group"), pressed.num("days"), pressed.num("uses")
    who = await checked(update, context, in_group(context, gid))
    if who is None:
        return
    await answer(update)
    tr = await translator(update, context)
    invite = await context.services.org.create_invite(who, gid, days or None, uses or None)
    link = context.services.org.invite_link(context.bot.username, invite)
    await edit_or_reply(update, tr("members.invite.created", group=invite.group_name, link=link))


async def invite_list(update: Update, context: Ctx) -> None:
    screen = await opened(update, context, coordinator(context))
    if screen is None:
        return
    who, tr = screen
    invites = await context.services.org.visible_invites(who)
    lines = [str(tr("members.invite.list_title", count=len(invites)))]
    rows = []
    for i in invites[:20]:
        uses = f"{i.uses}/{i.max_uses}" if i.max_uses else str(i.uses)
        lines.append(str(tr("members.invite.line", id=i.id, group=i.group_name, uses=uses)))
        rows.append([kb.button(str(tr("members.invite.revoke", id=i.id)), INVITE_REVOKE.data(id=i.id))])
    await edit_or_reply(update, "\n".join(lines), kb.inline(rows) if rows else None)


async def invite_revoke(update: Update, context: Ctx) -> None:
    pressed = press(update, INVITE_REVOKE)
    invite = await context.services.org.invite(pressed.num("id")) if pressed is not None else None
    if invite is None:
        await answer(update)
        return
    who = await checked(update, context, in_group(context, invite.group_id))
    if who is None:
        return
    await answer(update)
    tr = await translator(update, context)
    await context.services.org.revoke_invite(who, invite.id)
    await edit_or_reply(update, tr("members.invite.revoked"))


async def invite_payload(update: Update, context: Ctx, token: str) -> None:
    """`/start inv_<token>` from someone already registered: join that group."""
    tr = await translator(update, context)
    services = context.services
    member = await services.members.registered(user_id_of(update))
    if member is None:
        await reply(update, tr("members.not_registered"))
        return
    try:
        status = await services.members.join_by_invite(member, token)
    except Refusal as refusal:
        await refused(update, context, refusal)
        return
    invite = await services.org.invite_by_token(token)
    await reply(update, tr(f"members.join.{status}", group=invite.group_name if invite else ""))
    if status == "pending":
        await notify_approvers(context, member)


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    app.add_handler(CommandHandler("invite", invite_command, filters=common.COMMAND_FILTER))
    app.add_handler(on(INVITE_NEW, invite_new))
    app.add_handler(on(INVITE_LIST, invite_list))
    app.add_handler(on(INVITE_MAKE, invite_make))
    app.add_handler(on(INVITE_REVOKE, invite_revoke))
    menu.add("invite", "members.cmd.invite", Role.COORDINATOR)
    assert app.bot_data.ui is not None
    app.bot_data.ui.start_payloads[INVITE_PREFIX] = invite_payload
