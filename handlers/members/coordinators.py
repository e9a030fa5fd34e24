"""/coordinators (owners): appoint and dismiss coordinators of groups."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import Ctx, LiaisonApp
from bot.members.callbacks import (
    COORDINATOR_ADD,
    COORDINATOR_FROM_CARD,
    COORDINATOR_REMOVE,
    COORDINATOR_SET,
    COORDINATORS,
)
from bot.roles import Actor, Role
from handlers import common
from handlers import keyboards as kb
from handlers.base import answer, edit_or_reply, reply, translator
from handlers.buttons import on, press
from handlers.members.common import checked, opened, owner, refresh_menu, tell, tree_button
from handlers.menu import CommandMenu


async def coordinators_command(update: Update, context: Ctx) -> None:
    screen = await opened(update, context, owner(context))
    if screen is None:
        return
    _who, tr = screen
    appointments = await context.services.org.appointments()
    lines = [str(tr("members.coord.title", count=len(appointments)))]
    rows = []
    for a in appointments[:20]:
        lines.append(str(tr("members.coord.line", user=a.user_id, name=a.member_name or "-", group=a.group_name)))
        text = str(tr("members.coord.remove", user=a.user_id, group=a.group_name[:20]))
        rows.append([kb.button(text, COORDINATOR_REMOVE.data(user=a.user_id, group=a.group_id))])
    rows.append([kb.button(str(tr("members.coord.add")), COORDINATOR_ADD.data())])
    await edit_or_reply(update, "\n".join(lines), kb.inline(rows))


async def choose_group(update: Update, context: Ctx, uid: int) -> None:
    tr = await translator(update, context)
    groups = await context.services.org.all_groups()
    buttons = [tree_button(g, COORDINATOR_SET.data(user=uid, group=g.id)) for g in groups]
    await reply(update, tr("members.coord.choose_group", user=uid), kb.inline(kb.columns(buttons, 1)))


async def coordinator_from_card(update: Update, context: Ctx) -> None:
    pressed = press(update, COORDINATOR_FROM_CARD)
    who = await checked(update, context, owner(context))
    member = await context.services.members.get(pressed.num("member")) if pressed is not None else None
    await answer(update)
    if who is None or member is None or member.user_id is None:
        return
    await choose_group(update, context, member.user_id)


async def _owner_press(
    update: Update, context: Ctx, pressed_ids: tuple[int, int] | None
) -> tuple[Actor, int, int] | None:
    """An owner's press naming (user id, group id) (re-checked; forged data ignored)."""
    who = await checked(update, context, owner(context))
    if who is None:
        return None
    await answer(update)
    return None if pressed_ids is None else (who, *pressed_ids)


async def coordinator_set(update: Update, context: Ctx) -> None:
    pressed = press(update, COORDINATOR_SET)
    found = await _owner_press(update, context, (pressed.num("user"), pressed.num("group")) if pressed else None)
    if found is None:
        return
    who, user_id, group_id = found
    services = context.services
    tr = await translator(update, context)
    group = await services.org.group(group_id)
    if group is None or group.archived:
        return
    await services.org.appoint(who, user_id, group_id)
    await refresh_menu(context, user_id)
    await tell(context, user_id, "members.coord.appointed_you", group=group.name)
    await edit_or_reply(update, tr("members.coord.appointed", user=user_id, group=group.name))


async def coordinator_remove(update: Update, context: Ctx) -> None:
    pressed = press(update, COORDINATOR_REMOVE)
    found = await _owner_press(update, context, (pressed.num("user"), pressed.num("group")) if pressed else None)
    if found is None:
        return
    who, user_id, group_id = found
    await context.services.org.dismiss(who, user_id, group_id)
    await refresh_menu(context, user_id)
    await coordinators_command(update, context)


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    app.add_handler(CommandHandler("coordinators", coordinators_command, filters=common.COMMAND_FILTER))
    app.add_handler(on(COORDINATORS, coordinators_command))
    app.add_handler(on(COORDINATOR_SET, coordinator_set))
    app.add_handler(on(COORDINATOR_REMOVE, coordinator_remove))
    app.add_handler(on(COORDINATOR_FROM_CARD, coordinator_from_card))
    menu.add("coordinators", "members.cmd.coordinators", Role.OWNER)
