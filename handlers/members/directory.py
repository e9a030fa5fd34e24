"""/members: the member directory of the caller's scope — search, filters, pages, member cards.

The scope is applied by the service (bot/members/org.py) to every listing; a group filter outside
the scope is refused there, and a card lists only the groups inside the reader's scope.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import CommandHandler

from bot import labels
from bot.context import Ctx, LiaisonApp
from bot.i18n import Markup, Translator
from bot.members.callbacks import (
    COORDINATOR_FROM_CARD,
    DIRECTORY_PAGE,
    DIRECTORY_SEARCH,
    FILTER_CATEGORY,
    FILTER_CLEAR,
    FILTER_EXPERTISE,
    FILTER_GROUP,
    FILTER_MENU,
    FILTER_STATUS,
    MEMBER_CARD,
    MESSAGE_MEMBER,
)
from bot.members.models import (
    CATEGORIES,
    CATEGORY,
    DIRECTORY_STATUSES,
    EXPERTISE,
    EXPERTISE_TAG,
    MEMBER_STATUS,
    Member,
)
from bot.members.org import PAGE_SIZE
from bot.members.rules import NAME_MAX, namesake_hint
from bot.roles import AccessDenied, Actor, Role
from bot.text import truncate_text
from handlers import common
from handlers import keyboards as kb
from handlers.base import answer, edit_or_reply, refuse, translator
from handlers.buttons import on, press
from handlers.members.common import checked, coordinator, member_card_lines, member_in_scope, pager
from handlers.menu import CommandMenu

QUERY = "dir_q"  # user_data: the directory's current criteria
FILTER_BUTTONS = (FILTER_MENU, FILTER_CATEGORY, FILTER_EXPERTISE, FILTER_STATUS, FILTER_GROUP, FILTER_CLEAR)


def _criteria(context: Ctx) -> dict[str, Any]:
    return dict((context.user_data or {}).get(QUERY) or {})


def _remember(context: Ctx, criteria: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[QUERY] = criteria


async def members_command(update: Update, context: Ctx) -> None:
    """/members [name] [category=..] [status=..] [expertise=..] [group=<id>]"""
    who = await checked(update, context, coordinator(context))
    if who is None:
        return
    criteria: dict[str, Any] = {}
    for arg in context.args or []:
        key, _, value = arg.partition("=")
        if key == "category" and value in CATEGORIES:
            criteria["category"] = value
        elif key == "status" and value in DIRECTORY_STATUSES:
            criteria["status"] = value
        elif key == "expertise" and value in EXPERTISE:
            criteria["expertise"] = value
        elif key == "group" and value.isascii() and value.isdigit() and len(value) <= 18:
            criteria["group_id"] = int(value)
        elif arg and not value:
            criteria["name"] = truncate_text(arg, NAME_MAX, "")  # Telegram's units, like the stored names
    await show_directory(update, context, 0, criteria)


async def show_directory(update: Update, context: Ctx, page: int, criteria: dict[str, Any] | None = None) -> None:
    """One page of the directory for `criteria` (else the remembered ones); refused outside the scope."""
    who = await checked(update, context, coordinator(context))
    if who is None:
        return
    criteria = _criteria(context) if criteria is None else criteria
    try:
        found, total = await context.services.org.directory(who, criteria, page)
    except AccessDenied:
        await refuse(update, context)
        return
    _remember(context, criteria)
    await answer(update)
    tr = await translator(update, context)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    names = [m.name for m in found]
    buttons = [kb.button(_listed(tr, m, names.count(m.name) > 1), MEMBER_CARD.data(id=m.id)) for m in found]
    rows = [
        *kb.columns(buttons, 2),
        pager(DIRECTORY_PAGE, page, pages, tr),
        [
            kb.button(str(tr("members.dir.search")), DIRECTORY_SEARCH.data()),
            kb.button(str(tr("members.dir.filters")), FILTER_MENU.data(x="-")),
        ],
    ]
    await edit_or_reply(update, tr("members.dir.title", count=total), kb.inline(rows))


async def filter_menu(who: Actor, update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    rows = [[kb.button(labels.label(tr, CATEGORY, c)[:30], FILTER_CATEGORY.data(value=c))] for c in CATEGORIES]
    expertise = [kb.button(labels.label(tr, EXPERTISE_TAG, t), FILTER_EXPERTISE.data(value=t)) for t in EXPERTISE]
    rows += kb.columns(expertise, 4)
    rows.append(
        [kb.button(labels.label(tr, MEMBER_STATUS, s), FILTER_STATUS.data(value=s)) for s in DIRECTORY_STATUSES]
    )
    groups = await context.services.org.visible_groups(who)
    rows += kb.columns([kb.button(g.name[:30], FILTER_GROUP.data(id=g.id)) for g in groups[:20]], 2)
    rows.append([kb.button(str(tr("members.dir.clear")), FILTER_CLEAR.data(x="-"))])
    await edit_or_reply(update, tr("members.dir.filter_title"), kb.inline(rows))


async def directory_filter(update: Update, context: Ctx) -> None:
    """Filter buttons: category, expertise, status, group (a group outside the scope is refused)."""
    who = await checked(update, context, coordinator(context))
    if who is None:
        return
    criteria = _criteria(context)
    if (pressed := press(update, FILTER_MENU)) is not None:
        await filter_menu(who, update, context)
        return
    if (pressed := press(update, FILTER_CATEGORY)) is not None:
        criteria["category"] = pressed.text("value")
    elif (pressed := press(update, FILTER_EXPERTISE)) is not None:
        criteria["expertise"] = pressed.text("value")
    elif (pressed := press(update, FILTER_STATUS)) is not None:
        criteria["status"] = pressed.text("value")
    elif (pressed := press(update, FILTER_GROUP)) is not None:
        criteria["group_id"] = pressed.num("id")
    elif press(update, FILTER_CLEAR) is not None:
        criteria = {}
    await show_directory(update, context, 0, criteria)


async def directory_page(update: Update, context: Ctx) -> None:
    pressed = press(update, DIRECTORY_PAGE)
    await show_directory(update, context, pressed.num("page") if pressed else 0)


async def member_card(update: Update, context: Ctx) -> None:
    pressed = press(update, MEMBER_CARD)
    if pressed is None:
        await answer(update)
        return
    mid = pressed.num("id")
    who = await checked(update, context, member_in_scope(context, mid))
    if who is None:
        return
    await answer(update)
    services = context.services
    member = await services.members.get(mid)
    if member is None:
        return
    tr = await translator(update, context)
    groups = [m.group_name for m in await services.members.memberships_in_scope(who, member)]
    rows = [[kb.button(str(tr("members.dir.message")), MESSAGE_MEMBER.data(id=mid))]]
    if who.is_owner and member.user_id is not None:
        rows.append([kb.button(str(tr("members.coord.make")), COORDINATOR_FROM_CARD.data(member=mid))])
    await edit_or_reply(update, Markup("\n".join(member_card_lines(tr, member, groups))), kb.inline(rows))


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    app.add_handler(CommandHandler("members", members_command, filters=common.COMMAND_FILTER))
    app.add_handler(on(DIRECTORY_PAGE, directory_page))
    for button in FILTER_BUTTONS:
        app.add_handler(on(button, directory_filter))
    app.add_handler(on(MEMBER_CARD, member_card))
    menu.add("members", "members.cmd.members", Role.COORDINATOR)
    menu.add_home("members.home.directory", DIRECTORY_PAGE.data(page=0), Role.COORDINATOR)


def _listed(tr: Translator, m: Member, namesake: bool) -> str:
    """A member's name in the directory; two of the same name (two 王芳) are told apart by their
    organisation, else the last 4 digits of their phone."""
    name = (m.name or "-")[:30]
    if not namesake:
        return name
    found = namesake_hint(m.organisation, m.phone, 12)
    if found is None:
        return name
    kind, value = found
    hint = value if kind == "org" else str(tr("members.phone_tail", digits=value))
    return str(tr("members.approvals.same_name", name=name, hint=hint))
