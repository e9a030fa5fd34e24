"""Coordinator tools: groups, invites, approvals, coordinators, the member directory.

Every command and every button press re-resolves the caller (`actor`) and checks role and
scope with `RoleService.require_*`; button data can be forged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.context import Ctx, LiaisonApp
from bot.i18n import Markup, Translator
from bot.members import CATEGORIES, EXPERTISE, NAME_MAX, Invalid, InviteUnavailable, Member, clean_text, valid_token
from bot.org import PAGE_SIZE, Group, TreeError
from bot.roles import AccessDenied, Actor, Role
from handlers import common
from handlers import keyboards as kb
from handlers.base import (
    actor,
    answer,
    edit_or_reply,
    pressed,
    pressed_int,
    pressed_ints,
    refuse,
    reply,
    translator,
    user_id_of,
    with_retry_after,
)
from handlers.menu import CommandMenu

log = logging.getLogger(__name__)
AWAIT_TEXT = 0
TEXT = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
AWAIT = "org_await"
STATUSES = ("active", "pending", "left")


def member_card_lines(tr: Translator, member: Member, groups: list[str]) -> list[str]:
    """Lines of a member card; other features append their own (participation, feedback)."""
    from handlers.registration import summary_lines

    data = {
        "name": member.name,
        "category": member.category,
        "organisation": member.organisation,
        "position": member.position,
        "expertise": list(member.expertise),
        "expertise_note": member.expertise_note,
        "interests": member.interests,
        "phone": member.phone,
    }
    lines = [str(tr("members.card.status", status=tr(f"members.status.{member.status}")))]
    lines += summary_lines(tr, data)
    lines.append(str(tr("members.field.groups")) + ": " + str(tr("members.value", value=", ".join(groups) or "-")))
    lines.append(str(tr("members.card.participation")))
    return lines


def _data(update: Update) -> str | None:
    return update.callback_query.data if update.callback_query else None


async def _checked(update: Update, context: Ctx, check: Any) -> Actor | None:
    """Resolve the caller and run `check(actor)`; refuse politely on AccessDenied."""
    who = await actor(update, context)
    try:
        await check(who)
    except AccessDenied:
        await refuse(update, context)
        return None
    return who


async def _checked_press(
    update: Update, context: Ctx, prefix: str, check_for: Callable[[Ctx, int], Any]
) -> tuple[Actor, int] | None:
    """A press of `prefix:<action>:<id>` by a caller who passes `check_for(context, id)`.

    Forged data is answered silently and a failed check refused politely; both give None.
    """
    ident = pressed_int(update, prefix, 2, 1)
    if ident is None:
        await answer(update)
        return None
    who = await _checked(update, context, check_for(context, ident))
    return None if who is None else (who, ident)


async def _opened(update: Update, context: Ctx, check: Any) -> tuple[Actor, Translator] | None:
    """A screen opened by a caller who passes `check` (the press answered): the caller and their language."""
    who = await _checked(update, context, check)
    if who is None:
        return None
    await answer(update)
    return who, await translator(update, context)


def _tree_button(group: Group, data: str) -> InlineKeyboardButton:
    """A group in the tree, indented by its depth."""
    return kb.button("· " * group.depth + group.name[:40], data)


def _coordinator(context: Ctx) -> Any:
    async def check(who: Actor) -> None:
        context.services.roles.require_coordinator(who)

    return check


def _group_check(context: Ctx, group_id: int) -> Any:
    async def check(who: Actor) -> None:
        await context.services.roles.require_group(who, group_id)

    return check


def _member_check(context: Ctx, member_id: int) -> Any:
    async def check(who: Actor) -> None:
        await context.services.roles.require_member_in_scope(who, member_id)

    return check


def _owner(context: Ctx) -> Any:
    async def check(who: Actor) -> None:
        context.services.roles.require_owner(who)

    return check


# --- approvals notification -----------------------------------------------------------------------
async def notify_approvers(context: Ctx, member: Member) -> None:
    """Tell coordinators of each group where the member waits for approval."""
    services = context.services
    for m in await services.members.memberships(member):
        if m.status != "pending":
            continue
        for uid in await services.org.coordinators_of(m.path):
            lang = await services.users.language(uid, None)
            text = services.catalog.text(lang, "members.approvals.new", name=member.name or "", group=m.group_name)
            try:
                await with_retry_after(partial(context.bot.send_message, uid, text, parse_mode="HTML"))
            except (BadRequest, Forbidden, RetryAfter) as exc:
                log.info("could not notify coordinator %s: %s", uid, exc.message)


async def _tell(context: Ctx, user_id: int | None, key: str, **values: Any) -> None:
    if user_id is None:
        return
    services = context.services
    lang = await services.users.language(user_id, None)
    try:
        text = services.catalog.text(lang, key, **values)
        await with_retry_after(lambda: context.bot.send_message(user_id, text, parse_mode="HTML"))
    except (BadRequest, Forbidden, RetryAfter) as exc:
        log.info("could not message %s: %s", user_id, exc.message)


# --- /groups ----------------------------------------------------------------------------------------------
async def groups_command(update: Update, context: Ctx) -> None:
    opened = await _opened(update, context, _coordinator(context))
    if opened is None:
        return
    who, tr = opened
    groups = await context.services.org.visible_groups(who)
    buttons = [_tree_button(g, kb.cb("grp", "open", g.id)) for g in groups]
    rows = kb.columns(buttons, 1)
    if who.scope.everything:
        rows.append([kb.button(str(tr("members.groups.new_root")), kb.cb("grp", "new", 0))])
    await edit_or_reply(update, tr("members.groups.title", count=len(groups)), kb.inline(rows))


async def group_open(update: Update, context: Ctx) -> None:
    press = await _checked_press(update, context, "grp", _group_check)
    if press is None:
        return
    gid = press[1]
    group = await context.services.org.group(gid)
    if group is None:
        return
    await answer(update)
    tr = await translator(update, context)
    rows = [
        [
            kb.button(str(tr("members.groups.add_child")), kb.cb("grp", "new", gid)),
            kb.button(str(tr("members.groups.rename")), kb.cb("grp", "ren", gid)),
        ],
        [
            kb.button(str(tr("members.groups.move")), kb.cb("grp", "mv", gid)),
            kb.button(str(tr("members.groups.archive")), kb.cb("grp", "arch", gid)),
        ],
        [
            kb.button(str(tr("members.groups.toggle_approval")), kb.cb("grp", "appr", gid)),
            kb.button(str(tr("members.invite.create")), kb.cb("inv", "new", gid)),
        ],
        [kb.button(str(tr("members.back")), kb.cb("grp", "list"))],
    ]
    approval = tr("members.yes") if group.requires_approval else tr("members.no")
    text = tr("members.groups.detail", name=group.name, kind=tr(f"members.kind.{group.kind}"), approval=approval)
    await edit_or_reply(update, text, kb.inline(rows))


async def group_action(update: Update, context: Ctx) -> None:
    action = (pressed(update, "grp", 2) or [""])[0]
    if action not in ("arch", "appr", "mv"):
        await answer(update)
        return
    press = await _checked_press(update, context, "grp", _group_check)
    if press is None:
        return
    who, gid = press
    services = context.services
    tr = await translator(update, context)
    if action == "arch":
        await answer(update)
        count = await services.org.archive_group(who, gid)
        await edit_or_reply(update, tr("members.groups.archived", count=count))
    elif action == "appr":
        group = await services.org.group(gid)
        if group is None:
            return
        await services.org.toggle_approval(who, group)
        await group_open(update, context)
    else:
        await answer(update)
        targets = [g for g in await services.org.visible_groups(who) if g.id != gid]
        buttons = [_tree_button(g, kb.cb("grpmv", gid, g.id)) for g in targets]
        await edit_or_reply(update, tr("members.groups.move_where"), kb.inline(kb.columns(buttons, 1)))


async def group_move(update: Update, context: Ctx) -> None:
    ids = pressed_ints(update, "grpmv", 2)
    if ids is None:
        await answer(update)
        return
    gid, parent = ids

    async def check(who: Actor) -> None:
        await context.services.roles.require_group(who, gid)
        await context.services.roles.require_group(who, parent)

    who = await _checked(update, context, check)
    if who is None:
        return
    await answer(update)
    tr = await translator(update, context)
    try:
        await context.services.org.move_group(who, gid, parent)
    except TreeError:
        await edit_or_reply(update, tr("members.groups.move_invalid"))
        return
    await edit_or_reply(update, tr("members.groups.moved"))


async def group_kind(update: Update, context: Ctx) -> None:
    parts = pressed(update, "grpkind", 2)
    parent = kb.parse_int(parts[0]) if parts else None
    pending = (context.user_data or {}).get("grp_new")
    if parts is None or parent is None or parts[1] not in ("sub", "local", "club") or not isinstance(pending, dict):
        await answer(update)
        return
    who = await _checked(update, context, _group_check(context, parent))
    if who is None:
        return
    await answer(update)
    if pending.get("parent") != parent or context.user_data is None:
        return
    context.user_data.pop("grp_new", None)
    tr = await translator(update, context)
    services = context.services
    group = await services.org.create_group(who, str(pending["name"]), parts[1], parent)
    await edit_or_reply(update, tr("members.groups.created", name=group.name))


# --- text prompts (new group name, rename, reject reason, message, search, appoint) -----------------
async def prompt_entry(update: Update, context: Ctx) -> int:
    data = _data(update) or ""
    parts = data.split(":")
    services = context.services
    tr = await translator(update, context)
    arg = kb.parse_int(parts[2]) if len(parts) > 2 else None
    key: str | None = None
    check: Any = None
    if parts[:2] == ["grp", "new"] and arg is not None:
        check = _owner_or_root(context) if arg == 0 else _group_check(context, arg)
        key = "members.groups.ask_name"
    elif parts[:2] == ["grp", "ren"] and arg is not None:
        check, key = _group_check(context, arg), "members.groups.ask_name"
    elif parts[:2] == ["dir", "msg"] and arg is not None:
        check, key = _member_check(context, arg), "members.dir.ask_message"
    elif parts[:2] == ["dir", "search"]:
        check, key = _coordinator(context), "members.dir.ask_name"
    elif parts[:2] == ["coord", "add"]:
        check, key = _owner(context), "members.coord.ask_user"
    elif parts[:2] == ["appr", "rej"] and arg is not None and len(parts) == 4:
        gid = kb.parse_int(parts[3])
        if gid is None:
            await answer(update)
            return ConversationHandler.END
        check, key = _group_check(context, gid), "members.approvals.ask_reason"
    if key is None or check is None:
        await answer(update)
        return ConversationHandler.END
    who = await _checked(update, context, check)
    if who is None:
        return ConversationHandler.END
    await answer(update)
    if context.user_data is not None:
        context.user_data[AWAIT] = data
    del services
    await reply(update, tr(key))
    return AWAIT_TEXT


def _owner_or_root(context: Ctx) -> Any:
    async def check(who: Actor) -> None:
        context.services.roles.require_coordinator(who)
        if not who.scope.everything:
            raise AccessDenied("root groups need the head association")

    return check


async def prompt_text(update: Update, context: Ctx) -> int:
    data = str((context.user_data or {}).pop(AWAIT, ""))
    parts = data.split(":")
    text = update.message.text if update.message and update.message.text else ""
    tr = await translator(update, context)
    services = context.services
    arg = kb.parse_int(parts[2]) if len(parts) > 2 else None
    try:
        if parts[:2] == ["grp", "new"] and arg is not None:
            name = clean_text(text, NAME_MAX)
            who = await _checked(update, context, _owner_or_root(context) if arg == 0 else _group_check(context, arg))
            if who is None:
                return ConversationHandler.END
            if arg == 0:
                group = await services.org.create_group(who, name, "head", None)
                await reply(update, tr("members.groups.created", name=group.name))
            else:
                if context.user_data is not None:
                    context.user_data["grp_new"] = {"parent": arg, "name": name}
                kinds = [
                    kb.button(str(tr(f"members.kind.{k}")), kb.cb("grpkind", arg, k)) for k in ("sub", "local", "club")
                ]
                await reply(update, tr("members.groups.ask_kind", name=name), kb.inline([kinds]))
        elif parts[:2] == ["grp", "ren"] and arg is not None:
            name = clean_text(text, NAME_MAX)
            who = await _checked(update, context, _group_check(context, arg))
            if who is None:
                return ConversationHandler.END
            await services.org.rename_group(who, arg, name)
            await reply(update, tr("members.groups.renamed", name=name))
        elif parts[:2] == ["dir", "msg"] and arg is not None:
            body = clean_text(text, 3000)
            who = await _checked(update, context, _member_check(context, arg))
            member = await services.members.get(arg)
            if who is None or member is None:
                return ConversationHandler.END
            await services.members.record_message(who, member)
            await _tell(context, member.user_id, "members.dir.message_received", text=body)
            await reply(update, tr("members.dir.message_sent"))
        elif parts[:2] == ["dir", "search"]:
            query = clean_text(text, NAME_MAX)
            if context.user_data is not None:
                context.user_data["dir_q"] = {"name": query}
            await show_directory(update, context, 0)
        elif parts[:2] == ["coord", "add"]:
            who = await _checked(update, context, _owner(context))
            if who is None:
                return ConversationHandler.END
            forwarded = update.message.forward_origin if update.message else None
            sender = getattr(forwarded, "sender_user", None)
            uid = sender.id if sender is not None else kb.parse_int(text.strip())
            if uid is None:
                await reply(update, tr("members.coord.bad_user"))
                return ConversationHandler.END
            await choose_coordinator_group(update, context, uid)
        elif parts[:2] == ["appr", "rej"] and arg is not None and len(parts) == 4:
            reason = clean_text(text)
            gid = kb.parse_int(parts[3])
            if gid is None:
                return ConversationHandler.END
            await decide(update, context, arg, gid, False, reason)
    except Invalid as exc:
        if context.user_data is not None:
            context.user_data[AWAIT] = data
        await reply(update, tr(f"members.invalid.{exc.reason}"))
        return AWAIT_TEXT
    return ConversationHandler.END


# --- invites ------------------------------------------------------------------------------------------------
async def invite_command(update: Update, context: Ctx) -> None:
    who = await _checked(update, context, _coordinator(context))
    if who is None:
        return
    tr = await translator(update, context)
    groups = await context.services.org.visible_groups(who)
    buttons = [_tree_button(g, kb.cb("inv", "new", g.id)) for g in groups]
    rows = [*kb.columns(buttons, 1), [kb.button(str(tr("members.invite.list")), kb.cb("inv", "list", 0))]]
    await reply(update, tr("members.invite.choose_group"), kb.inline(rows))


async def invite_new(update: Update, context: Ctx) -> None:
    press = await _checked_press(update, context, "inv", _group_check)
    if press is None:
        return
    gid = press[1]
    await answer(update)
    tr = await translator(update, context)
    options = [("7", "0"), ("30", "0"), ("0", "0"), ("7", "1"), ("30", "50")]
    buttons = [kb.button(str(tr(f"members.invite.opt.{d}.{u}")), kb.cb("invmk", gid, d, u)) for d, u in options]
    await edit_or_reply(update, tr("members.invite.options"), kb.inline(kb.columns(buttons, 1)))


async def invite_make(update: Update, context: Ctx) -> None:
    nums = pressed_ints(update, "invmk", 3)
    if nums is None:
        await answer(update)
        return
    gid, days, uses = nums
    if days > 365 or uses > 10_000:
        await answer(update)
        return
    who = await _checked(update, context, _group_check(context, gid))
    if who is None:
        return
    await answer(update)
    tr = await translator(update, context)
    invite = await context.services.org.create_invite(who, gid, days or None, uses or None)
    link = context.services.org.invite_link(context.bot.username, invite)
    await edit_or_reply(update, tr("members.invite.created", group=invite.group_name, link=link))


async def invite_list(update: Update, context: Ctx) -> None:
    opened = await _opened(update, context, _coordinator(context))
    if opened is None:
        return
    who, tr = opened
    invites = await context.services.org.visible_invites(who)
    lines = [str(tr("members.invite.list_title", count=len(invites)))]
    rows = []
    for i in invites[:20]:
        uses = f"{i.uses}/{i.max_uses}" if i.max_uses else str(i.uses)
        lines.append(str(tr("members.invite.line", id=i.id, group=i.group_name, uses=uses)))
        rows.append([kb.button(str(tr("members.invite.revoke", id=i.id)), kb.cb("invrv", i.id))])
    await edit_or_reply(update, "\n".join(lines), kb.inline(rows) if rows else None)


async def invite_revoke(update: Update, context: Ctx) -> None:
    iid = pressed_int(update, "invrv", 1, 0)
    invite = await context.services.org.invite(iid) if iid is not None else None
    if invite is None:
        await answer(update)
        return
    who = await _checked(update, context, _group_check(context, invite.group_id))
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
    if not valid_token(token):
        await reply(update, tr("members.invite.invalid"))
        return
    try:
        status = await services.members.join_by_invite(member, token)
    except InviteUnavailable:
        await reply(update, tr("members.invite.invalid"))
        return
    invite = await services.org.invite_by_token(token)
    group = invite.group_name if invite else ""
    await reply(update, tr(f"members.join.{status}", group=group))
    if status == "pending":
        await notify_approvers(context, member)


# --- approvals ------------------------------------------------------------------------------------------------
async def approvals_command(update: Update, context: Ctx) -> None:
    opened = await _opened(update, context, _coordinator(context))
    if opened is None:
        return
    who, tr = opened
    pending = await context.services.members.pending_requests(who)
    if not pending:
        await edit_or_reply(update, tr("members.approvals.empty"))
        return
    lines = [str(tr("members.approvals.title", count=len(pending)))]
    rows = []
    for p in pending[:10]:
        lines.append(str(tr("members.approvals.line", name=p.name or "-", group=p.group_name)))
        label = (p.name or "-")[:20]
        rows.append(
            [
                kb.button(
                    str(tr("members.approvals.approve", name=label)), kb.cb("appr", "ok", p.member_id, p.group_id)
                ),
                kb.button(
                    str(tr("members.approvals.reject", name=label)), kb.cb("appr", "rej", p.member_id, p.group_id)
                ),
            ]
        )
    await edit_or_reply(update, "\n".join(lines), kb.inline(rows))


async def approve_button(update: Update, context: Ctx) -> None:
    parts = pressed(update, "appr", 3)
    ids = [kb.parse_int(p) for p in parts[1:]] if parts else []
    if len(ids) != 2 or ids[0] is None or ids[1] is None:
        await answer(update)
        return
    await decide(update, context, ids[0], ids[1], True, None)


async def decide(
    update: Update, context: Ctx, member_id: int, group_id: int, approve: bool, reason: str | None
) -> None:
    who = await _checked(update, context, _group_check(context, group_id))
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
        await _tell(context, member.user_id, "members.approvals.approved_member", group=group.name)
    else:
        await _tell(context, member.user_id, "members.approvals.rejected_member", group=group.name, reason=reason or "")
    await reply(
        update, tr("members.approvals.done_ok" if approve else "members.approvals.done_rej", name=member.name or "")
    )


# --- coordinators (owners) --------------------------------------------------------------------------------------
async def coordinators_command(update: Update, context: Ctx) -> None:
    opened = await _opened(update, context, _owner(context))
    if opened is None:
        return
    _who, tr = opened
    appointments = await context.services.org.appointments()
    lines = [str(tr("members.coord.title", count=len(appointments)))]
    rows = []
    for a in appointments[:20]:
        lines.append(str(tr("members.coord.line", user=a.user_id, name=a.member_name or "-", group=a.group_name)))
        rows.append(
            [
                kb.button(
                    str(tr("members.coord.remove", user=a.user_id, group=a.group_name[:20])),
                    kb.cb("coordrm", a.user_id, a.group_id),
                )
            ]
        )
    rows.append([kb.button(str(tr("members.coord.add")), kb.cb("coord", "add"))])
    await edit_or_reply(update, "\n".join(lines), kb.inline(rows))


async def choose_coordinator_group(update: Update, context: Ctx, uid: int) -> None:
    tr = await translator(update, context)
    groups = await context.services.org.all_groups()
    buttons = [_tree_button(g, kb.cb("coordset", uid, g.id)) for g in groups]
    await reply(update, tr("members.coord.choose_group", user=uid), kb.inline(kb.columns(buttons, 1)))


async def coordinator_from_card(update: Update, context: Ctx) -> None:
    mid = pressed_int(update, "coordpick", 1, 0)
    who = await _checked(update, context, _owner(context))
    member = await context.services.members.get(mid) if mid is not None else None
    if who is None or member is None or member.user_id is None:
        await answer(update)
        return
    await answer(update)
    await choose_coordinator_group(update, context, member.user_id)


async def _owner_press(update: Update, context: Ctx, prefix: str) -> tuple[Actor, int, int] | None:
    """An owner's press of `prefix:<user id>:<group id>` (re-checked; forged data ignored)."""
    ids = pressed_ints(update, prefix, 2)
    who = await _checked(update, context, _owner(context))
    if who is None:
        return None
    await answer(update)
    return None if ids is None else (who, ids[0], ids[1])


async def coordinator_set(update: Update, context: Ctx) -> None:
    pressed = await _owner_press(update, context, "coordset")
    if pressed is None:
        return
    who, user_id, group_id = pressed
    services = context.services
    tr = await translator(update, context)
    group = await services.org.group(group_id)
    if group is None or group.archived:
        return
    await services.org.appoint(who, user_id, group_id)
    await _refresh_menu(context, user_id)
    await _tell(context, user_id, "members.coord.appointed_you", group=group.name)
    await edit_or_reply(update, tr("members.coord.appointed", user=user_id, group=group.name))


async def coordinator_remove(update: Update, context: Ctx) -> None:
    pressed = await _owner_press(update, context, "coordrm")
    if pressed is None:
        return
    who, user_id, group_id = pressed
    services = context.services
    await services.org.dismiss(who, user_id, group_id)
    await _refresh_menu(context, user_id)
    await coordinators_command(update, context)


async def _refresh_menu(context: Ctx, uid: int) -> None:
    services = context.services
    target = await services.roles.actor(uid)
    await common.set_chat_commands(
        context, uid, target.role, await services.users.chosen_language(uid), context.ui.menu
    )


# --- directory ------------------------------------------------------------------------------------------------
async def members_command(update: Update, context: Ctx) -> None:
    who = await _checked(update, context, _coordinator(context))
    if who is None:
        return
    criteria: dict[str, Any] = {}
    for arg in context.args or []:
        key, _, value = arg.partition("=")
        if key in ("category", "status", "expertise") and value:
            criteria[key] = value[:32]
        elif key == "group" and kb.parse_int(value) is not None:
            criteria["group_id"] = int(value)
        elif arg and not value:
            criteria["name"] = arg[:NAME_MAX]
    if criteria.get("expertise") and criteria["expertise"] not in EXPERTISE:
        criteria.pop("expertise")
    if context.user_data is not None:
        context.user_data["dir_q"] = criteria
    await show_directory(update, context, 0)


async def show_directory(update: Update, context: Ctx, page: int) -> None:
    opened = await _opened(update, context, _coordinator(context))
    if opened is None:
        return
    who, tr = opened
    criteria = dict((context.user_data or {}).get("dir_q") or {})
    found, total = await context.services.org.directory(who, criteria, page)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    buttons = [kb.button((m.name or "-")[:40], kb.cb("dir", "card", m.id)) for m in found]
    rows = [
        *kb.columns(buttons, 2),
        kb.pager("dirp", page, pages, str(tr("members.prev")), str(tr("members.next"))),
        [
            kb.button(str(tr("members.dir.search")), kb.cb("dir", "search")),
            kb.button(str(tr("members.dir.filters")), kb.cb("dirf", "menu", "-")),
        ],
    ]
    await edit_or_reply(update, tr("members.dir.title", count=total), kb.inline(rows))


async def directory_filter(update: Update, context: Ctx) -> None:
    """Filter buttons: category, expertise, status, group (within the caller's scope)."""
    parts = pressed(update, "dirf", 2)
    who = await _checked(update, context, _coordinator(context))
    if who is None:
        return
    if parts is None or context.user_data is None:
        await answer(update)
        return
    kind, value = parts
    criteria = dict(context.user_data.get("dir_q") or {})
    if kind == "menu":
        await answer(update)
        tr = await translator(update, context)
        rows = [[kb.button(str(tr(f"members.cat.{c}"))[:30], kb.cb("dirf", "cat", c))] for c in CATEGORIES]
        rows += kb.columns([kb.button(str(tr(f"members.exp.{t}")), kb.cb("dirf", "exp", t)) for t in EXPERTISE], 4)
        rows.append([kb.button(str(tr(f"members.status.{st}")), kb.cb("dirf", "st", st)) for st in STATUSES])
        groups = await context.services.org.visible_groups(who)
        rows += kb.columns([kb.button(g.name[:30], kb.cb("dirf", "grp", g.id)) for g in groups[:20]], 2)
        rows.append([kb.button(str(tr("members.dir.clear")), kb.cb("dirf", "clear", "-"))])
        await edit_or_reply(update, tr("members.dir.filter_title"), kb.inline(rows))
        return
    if kind == "cat" and value in CATEGORIES:
        criteria["category"] = value
    elif kind == "exp" and value in EXPERTISE:
        criteria["expertise"] = value
    elif kind == "st" and value in STATUSES:
        criteria["status"] = value
    elif kind == "grp" and kb.parse_int(value) is not None:
        criteria["group_id"] = int(value)
    elif kind == "clear":
        criteria = {}
    context.user_data["dir_q"] = criteria
    await show_directory(update, context, 0)


async def directory_page(update: Update, context: Ctx) -> None:
    page = pressed_int(update, "dirp", 1, 0)
    await show_directory(update, context, page or 0)


async def member_card(update: Update, context: Ctx) -> None:
    press = await _checked_press(update, context, "dir", _member_check)
    if press is None:
        return
    who, mid = press
    member = await context.services.members.get(mid)
    if member is None:
        await answer(update)
        return
    await answer(update)
    tr = await translator(update, context)
    groups = [
        m.group_name for m in await context.services.members.memberships(member) if m.status in ("active", "pending")
    ]
    rows = [[kb.button(str(tr("members.dir.message")), kb.cb("dir", "msg", mid))]]
    if who.is_owner and member.user_id is not None:
        rows.append([kb.button(str(tr("members.coord.make")), kb.cb("coordpick", mid))])
    await edit_or_reply(update, Markup("\n".join(member_card_lines(tr, member, groups))), kb.inline(rows))


def prompts() -> ConversationHandler[Ctx]:
    fallbacks: list[BaseHandler[Update, Ctx, Any]] = [common.cancel_fallback()]
    pattern = r"^(grp:new:\d+|grp:ren:\d+|dir:msg:\d+|dir:search|coord:add|appr:rej:\d+:\d+)$"
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(prompt_entry, pattern=pattern)],
        states={AWAIT_TEXT: [MessageHandler(TEXT | filters.FORWARDED, prompt_text)]},
        fallbacks=fallbacks,
        name="org_prompts",
        persistent=True,
        per_message=False,
        allow_reentry=True,
    )


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    app.add_handler(prompts())
    private = filters.ChatType.PRIVATE & common.COMMAND_FILTER
    app.add_handler(CommandHandler("groups", groups_command, filters=private))
    app.add_handler(CommandHandler("invite", invite_command, filters=private))
    app.add_handler(CommandHandler("approvals", approvals_command, filters=private))
    app.add_handler(CommandHandler("coordinators", coordinators_command, filters=private))
    app.add_handler(CommandHandler("members", members_command, filters=private))
    app.add_handler(CallbackQueryHandler(groups_command, pattern=r"^grp:list$"))
    app.add_handler(CallbackQueryHandler(group_open, pattern=r"^grp:open:"))
    app.add_handler(CallbackQueryHandler(group_action, pattern=r"^grp:(arch|appr|mv):"))
    app.add_handler(CallbackQueryHandler(group_move, pattern=r"^grpmv:"))
    app.add_handler(CallbackQueryHandler(group_kind, pattern=r"^grpkind:"))
    app.add_handler(CallbackQueryHandler(invite_new, pattern=r"^inv:new:"))
    app.add_handler(CallbackQueryHandler(invite_list, pattern=r"^inv:list:"))
    app.add_handler(CallbackQueryHandler(invite_make, pattern=r"^invmk:"))
    app.add_handler(CallbackQueryHandler(invite_revoke, pattern=r"^invrv:"))
    app.add_handler(CallbackQueryHandler(approve_button, pattern=r"^appr:ok:"))
    app.add_handler(CallbackQueryHandler(approvals_command, pattern=r"^appr:list$"))
    app.add_handler(CallbackQueryHandler(coordinators_command, pattern=r"^coord:list$"))
    app.add_handler(CallbackQueryHandler(coordinator_set, pattern=r"^coordset:"))
    app.add_handler(CallbackQueryHandler(coordinator_remove, pattern=r"^coordrm:"))
    app.add_handler(CallbackQueryHandler(coordinator_from_card, pattern=r"^coordpick:"))
    app.add_handler(CallbackQueryHandler(directory_page, pattern=r"^dirp:"))
    app.add_handler(CallbackQueryHandler(directory_filter, pattern=r"^dirf:"))
    app.add_handler(CallbackQueryHandler(member_card, pattern=r"^dir:card:"))
    menu.add("groups", "members.cmd.groups", Role.COORDINATOR)
    menu.add("invite", "members.cmd.invite", Role.COORDINATOR)
    menu.add("approvals", "members.cmd.approvals", Role.COORDINATOR)
    menu.add("members", "members.cmd.members", Role.COORDINATOR)
    menu.add("coordinators", "members.cmd.coordinators", Role.OWNER)
    menu.add_home("members.home.approvals", kb.cb("appr", "list"), Role.COORDINATOR)
    menu.add_home("members.home.directory", kb.cb("dirp", 0), Role.COORDINATOR)
    assert app.bot_data.ui is not None
    app.bot_data.ui.start_payloads["inv_"] = invite_payload
