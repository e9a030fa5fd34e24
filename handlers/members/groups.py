"""/groups: the group tree of the caller's scope — open, add, rename, move, archive, approval."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot import labels
from bot.callbacks import Button
from bot.context import Ctx, LiaisonApp
from bot.errors import Refusal
from bot.members.callbacks import (
    GROUP_APPROVAL,
    GROUP_ARCHIVE,
    GROUP_KIND,
    GROUP_LIST,
    GROUP_MOVE,
    GROUP_MOVE_TO,
    GROUP_NEW,
    GROUP_OPEN,
    GROUP_RENAME,
    INVITE_NEW,
)
from bot.members.models import CHILD_KINDS
from bot.members.models import GROUP_KIND as KIND_LABEL
from bot.roles import Actor, Role
from handlers import common
from handlers import keyboards as kb
from handlers.base import answer, edit_or_reply, reply, translator
from handlers.buttons import on, press
from handlers.members.common import checked, coordinator, in_group, opened, tree_button
from handlers.menu import CommandMenu

PENDING_GROUP = "grp_new"  # user_data: the name of a sub-group waiting for its kind


async def groups_command(update: Update, context: Ctx) -> None:
    screen = await opened(update, context, coordinator(context))
    if screen is None:
        return
    who, tr = screen
    groups = await context.services.org.visible_groups(who)
    rows = kb.columns([tree_button(g, GROUP_OPEN.data(id=g.id)) for g in groups], 1)
    if who.scope.everything:
        rows.append([kb.button(str(tr("members.groups.new_root")), GROUP_NEW.data(parent=0))])
    await edit_or_reply(update, tr("members.groups.title", count=len(groups)), kb.inline(rows))


async def group_open(update: Update, context: Ctx) -> None:
    pressed = press(update, GROUP_OPEN)
    if pressed is None:
        return
    gid = pressed.num("id")
    if await checked(update, context, in_group(context, gid)) is None:
        return
    await answer(update)
    await show_group(update, context, gid)


async def show_group(update: Update, context: Ctx, gid: int) -> None:
    group = await context.services.org.group(gid)
    if group is None:
        return
    tr = await translator(update, context)
    rows = [
        [
            kb.button(str(tr("members.groups.add_child")), GROUP_NEW.data(parent=gid)),
            kb.button(str(tr("members.groups.rename")), GROUP_RENAME.data(id=gid)),
        ],
        [
            kb.button(str(tr("members.groups.move")), GROUP_MOVE.data(id=gid)),
            kb.button(str(tr("members.groups.archive")), GROUP_ARCHIVE.data(id=gid)),
        ],
        [
            kb.button(str(tr("members.groups.toggle_approval")), GROUP_APPROVAL.data(id=gid)),
            kb.button(str(tr("members.invite.create")), INVITE_NEW.data(group=gid)),
        ],
        [kb.button(str(tr("members.back")), GROUP_LIST.data())],
    ]
    approval = tr("members.yes") if group.requires_approval else tr("members.no")
    kind = labels.label(tr, KIND_LABEL, group.kind)
    await edit_or_reply(
        update, tr("members.groups.detail", name=group.name, kind=kind, approval=approval), kb.inline(rows)
    )


async def _group_press(update: Update, context: Ctx, button: Button) -> tuple[Actor, int] | None:
    """A press of a group's button by a caller whose scope covers the group (forged data: None)."""
    pressed = press(update, button)
    if pressed is None:
        await answer(update)
        return None
    gid = pressed.num("id")
    who = await checked(update, context, in_group(context, gid))
    return None if who is None else (who, gid)


async def group_archive(update: Update, context: Ctx) -> None:
    found = await _group_press(update, context, GROUP_ARCHIVE)
    if found is None:
        return
    who, gid = found
    await answer(update)
    tr = await translator(update, context)
    count = await context.services.org.archive_group(who, gid)
    await edit_or_reply(update, tr("members.groups.archived", count=count))


async def group_approval(update: Update, context: Ctx) -> None:
    found = await _group_press(update, context, GROUP_APPROVAL)
    if found is None:
        return
    who, gid = found
    await answer(update)
    group = await context.services.org.group(gid)
    if group is None:
        return
    await context.services.org.toggle_approval(who, group)
    await show_group(update, context, gid)


async def group_move(update: Update, context: Ctx) -> None:
    found = await _group_press(update, context, GROUP_MOVE)
    if found is None:
        return
    who, gid = found
    await answer(update)
    tr = await translator(update, context)
    targets = [g for g in await context.services.org.visible_groups(who) if g.id != gid]
    buttons = [tree_button(g, GROUP_MOVE_TO.data(id=gid, parent=g.id)) for g in targets]
    await edit_or_reply(update, tr("members.groups.move_where"), kb.inline(kb.columns(buttons, 1)))


async def group_move_to(update: Update, context: Ctx) -> None:
    pressed = press(update, GROUP_MOVE_TO)
    if pressed is None:
        await answer(update)
        return
    gid, parent = pressed.num("id"), pressed.num("parent")

    async def check(who: Actor) -> None:
        await context.services.roles.require_group(who, gid)
        await context.services.roles.require_group(who, parent)

    who = await checked(update, context, check)
    if who is None:
        return
    await answer(update)
    tr = await translator(update, context)
    try:
        await context.services.org.move_group(who, gid, parent)
    except Refusal as refusal:
        await edit_or_reply(update, tr(refusal.key, **refusal.values))
        return
    await edit_or_reply(update, tr("members.groups.moved"))


async def ask_kind(update: Update, context: Ctx, parent: int, name: str) -> None:
    """A new sub-group's name is known: ask its kind (the name waits in user_data)."""
    tr = await translator(update, context)
    if context.user_data is not None:
        context.user_data[PENDING_GROUP] = {"parent": parent, "name": name}
    kinds = [kb.button(labels.label(tr, KIND_LABEL, k), GROUP_KIND.data(parent=parent, kind=k)) for k in CHILD_KINDS]
    await reply(update, tr("members.groups.ask_kind", name=name), kb.inline([kinds]))


async def group_kind(update: Update, context: Ctx) -> None:
    pressed = press(update, GROUP_KIND)
    pending = (context.user_data or {}).get(PENDING_GROUP)
    if pressed is None or not isinstance(pending, dict):
        await answer(update)
        return
    parent = pressed.num("parent")
    who = await checked(update, context, in_group(context, parent))
    if who is None:
        return
    await answer(update)
    if pending.get("parent") != parent or context.user_data is None:
        return
    context.user_data.pop(PENDING_GROUP, None)
    tr = await translator(update, context)
    group = await context.services.org.create_group(who, str(pending["name"]), pressed.text("kind"), parent)
    await edit_or_reply(update, tr("members.groups.created", name=group.name))


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    app.add_handler(CommandHandler("groups", groups_command, filters=common.COMMAND_FILTER))
    app.add_handler(on(GROUP_LIST, groups_command))
    app.add_handler(on(GROUP_OPEN, group_open))
    app.add_handler(on(GROUP_ARCHIVE, group_archive))
    app.add_handler(on(GROUP_APPROVAL, group_approval))
    app.add_handler(on(GROUP_MOVE, group_move))
    app.add_handler(on(GROUP_MOVE_TO, group_move_to))
    app.add_handler(on(GROUP_KIND, group_kind))
    menu.add("groups", "members.cmd.groups", Role.COORDINATOR)
