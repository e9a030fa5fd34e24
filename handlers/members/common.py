"""Pieces every module of the members handlers shares: role checks, summaries, the member card,
messages to other people, labels. Imports nothing of its sibling modules (no import loop)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot import labels
from bot.callbacks import NOOP, Button
from bot.context import Ctx
from bot.errors import Refusal
from bot.i18n import Translator
from bot.members.models import (
    CATEGORIES,
    CATEGORY,
    EXPERTISE,
    EXPERTISE_TAG,
    MEMBER_STATUS,
    Group,
    Member,
)
from bot.roles import AccessDenied, Actor
from handlers import common
from handlers import keyboards as kb
from handlers.base import actor, answer, refuse, reply, translator, with_retry_after

log = logging.getLogger(__name__)

Check = Callable[[Actor], Awaitable[None]]


# --- role and scope checks (re-done on every press: button data can be forged) --------------------------
async def checked(update: Update, context: Ctx, check: Check) -> Actor | None:
    """Resolve the caller and run `check(actor)`; refuse politely on AccessDenied."""
    who = await actor(update, context)
    try:
        await check(who)
    except AccessDenied:
        await refuse(update, context)
        return None
    return who


async def opened(update: Update, context: Ctx, check: Check) -> tuple[Actor, Translator] | None:
    """A screen opened by a caller who passes `check` (the press answered): the caller and their language."""
    who = await checked(update, context, check)
    if who is None:
        return None
    await answer(update)
    return who, await translator(update, context)


def coordinator(context: Ctx) -> Check:
    async def check(who: Actor) -> None:
        context.services.roles.require_coordinator(who)

    return check


def owner(context: Ctx) -> Check:
    async def check(who: Actor) -> None:
        context.services.roles.require_owner(who)

    return check


def in_group(context: Ctx, group_id: int) -> Check:
    async def check(who: Actor) -> None:
        await context.services.roles.require_group(who, group_id)

    return check


def member_in_scope(context: Ctx, member_id: int) -> Check:
    async def check(who: Actor) -> None:
        await context.services.roles.require_member_in_scope(who, member_id)

    return check


def head_of_tree(context: Ctx) -> Check:
    """New root groups: only the head association's coordinators and the owners."""

    async def check(who: Actor) -> None:
        context.services.roles.require_coordinator(who)
        if not who.scope.everything:
            raise AccessDenied("root groups need the head association")

    return check


async def refused(update: Update, context: Ctx, refusal: Refusal) -> None:
    tr = await translator(update, context)
    await reply(update, tr(refusal.key, **refusal.values))


# --- rendering ------------------------------------------------------------------------------------------
def tree_button(group: Group, data: str) -> InlineKeyboardButton:
    """A group in the tree, indented by its depth."""
    return kb.button("· " * group.depth + group.name[:40], data)


def pager(button: Button, page: int, pages: int, tr: Translator) -> list[InlineKeyboardButton]:
    """‹ x/y › buttons whose data is `button` with the page number."""
    row: list[InlineKeyboardButton] = []
    if page > 0:
        row.append(kb.button(str(tr("members.prev")), button.data(page=page - 1)))
    if pages > 1:
        row.append(kb.button(f"{page + 1}/{pages}", NOOP.data()))
    if page + 1 < pages:
        row.append(kb.button(str(tr("members.next")), button.data(page=page + 1)))
    return row


def summary_lines(tr: Translator, d: dict[str, Any], group_names: list[str] | None = None) -> list[str]:
    """A profile (a draft or a stored member) as lines; enum values as words (bot/labels)."""
    none = str(tr("members.none"))
    category = d.get("category")
    expertise = [labels.label(tr, EXPERTISE_TAG, t) for t in d.get("expertise", []) if t in EXPERTISE]
    lines = [
        tr("members.field.name") + ": " + tr("members.value", value=d.get("name") or none),
        tr("members.field.category")
        + ": "
        + tr("members.value", value=labels.label(tr, CATEGORY, category) if category in CATEGORIES else none),
        tr("members.field.organisation") + ": " + tr("members.value", value=d.get("organisation") or none),
        tr("members.field.position") + ": " + tr("members.value", value=d.get("position") or none),
        tr("members.field.expertise")
        + ": "
        + tr("members.value", value=", ".join(expertise) or none)
        + (str(tr("members.value_note", value=d["expertise_note"])) if d.get("expertise_note") else ""),
        tr("members.field.interests") + ": " + tr("members.value", value=d.get("interests") or none),
        tr("members.field.phone") + ": " + tr("members.value", value=d.get("phone") or none),
    ]
    if group_names is not None:
        lines.append(tr("members.field.groups") + ": " + tr("members.value", value=", ".join(group_names) or none))
    return lines


def profile_of(member: Member) -> dict[str, Any]:
    """A member's stored profile in the shape of a draft (for summaries and editing)."""
    return {
        "name": member.name,
        "category": member.category,
        "organisation": member.organisation,
        "position": member.position,
        "expertise": list(member.expertise),
        "expertise_note": member.expertise_note,
        "interests": member.interests,
        "phone": member.phone,
    }


def member_card_lines(tr: Translator, member: Member, groups: list[str]) -> list[str]:
    """Lines of a member card (`groups`: only those inside the reader's scope)."""
    lines = [str(tr("members.card.status", status=labels.label(tr, MEMBER_STATUS, member.status)))]
    lines += summary_lines(tr, profile_of(member), groups)
    lines.append(str(tr("members.card.participation")))
    return lines


# --- messages to other people ------------------------------------------------------------------------------
async def tell(context: Ctx, user_id: int | None, key: str, **values: Any) -> None:
    """A direct message to someone else, in their language."""
    if user_id is None:
        return
    services = context.services
    lang = await services.users.language(user_id)
    try:
        text = services.catalog.text(lang, key, **values)
        await with_retry_after(partial(context.bot.send_message, user_id, text, parse_mode="HTML"))
    except (BadRequest, Forbidden, RetryAfter) as exc:
        log.info("could not message %s: %s", user_id, exc.message)


async def notify_approvers(context: Ctx, member: Member) -> None:
    """Tell coordinators of each group where the member waits for approval."""
    services = context.services
    for m in await services.members.memberships(member):
        if m.status != "pending":
            continue
        for uid in await services.org.coordinators_of(m.path):
            await tell(context, uid, "members.approvals.new", name=member.name or "", group=m.group_name)


async def refresh_menu(context: Ctx, uid: int) -> None:
    """Give `uid` the command menu of their (new) role."""
    services = context.services
    target = await services.roles.actor(uid)
    await common.set_chat_commands(
        context, uid, target.role, await services.users.chosen_language(uid), context.ui.menu
    )
