"""Member self-service: groups and leaving, /mydata, /forget, and the periodic profile check."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from functools import partial

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import Ctx, LiaisonApp
from bot.i18n import Markup, Translator
from bot.roles import Role
from bot.services import Services
from handlers import common
from handlers import keyboards as kb
from handlers.base import (
    answer,
    edit_or_reply,
    pressed_int,
    reply,
    send_direct,
    translator,
    user_id_of,
    with_retry_after,
)
from handlers.menu import CommandMenu
from handlers.registration import summary_lines

log = logging.getLogger(__name__)
REFRESH_JOB = "members-profile-refresh"


async def _member(update: Update, context: Ctx):  # type: ignore[no-untyped-def]
    return await context.services.members.registered(user_id_of(update))


async def my_groups(update: Update, context: Ctx, answered: bool = False) -> None:
    if not answered:
        await answer(update)
    tr = await translator(update, context)
    member = await _member(update, context)
    if member is None:
        await reply(update, tr("members.not_registered"))
        return
    memberships = [m for m in await context.services.members.memberships(member) if m.status in ("active", "pending")]
    lines = [str(tr("members.groups.mine"))]
    rows = []
    for m in memberships:
        lines.append(str(tr("members.groups.mine_line", group=m.group_name, status=tr(f"members.mstatus.{m.status}"))))
        rows.append(
            [kb.button(str(tr("members.groups.leave", group=m.group_name[:30])), kb.cb("prof", "lv", m.group_id))]
        )
    rows.append([kb.button(str(tr("members.leave.button")), kb.cb("prof", "quit"))])
    await edit_or_reply(update, "\n".join(lines), kb.inline(rows))


async def leave_group(update: Update, context: Ctx) -> None:
    gid = pressed_int(update, "prof", 2, 1)
    member = await _member(update, context)
    tr = await translator(update, context)
    if gid is None or member is None:
        await answer(update)
        return
    left = await context.services.members.leave_group(member, gid)
    await answer(update, str(tr("members.groups.left" if left else "members.groups.not_in")))
    await my_groups(update, context, answered=True)


def _confirm_or_keep(tr: Translator, confirm_key: str, action: str) -> InlineKeyboardMarkup:
    """[confirm `prof:<action>`] [keep: back home] under a question about something irreversible."""
    return kb.inline(
        [[kb.button(str(tr(confirm_key)), kb.cb("prof", action)), kb.button(str(tr("members.keep")), kb.cb("home"))]]
    )


async def leave_ask(update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    await edit_or_reply(update, tr("members.leave.ask"), _confirm_or_keep(tr, "members.leave.confirm", "quitok"))


async def leave_confirm(update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    member = await _member(update, context)
    if member is None or member.status == "left":
        await edit_or_reply(update, tr("members.not_registered"))
        return
    await context.services.members.leave(member)
    await edit_or_reply(update, tr("members.leave.done"))


async def mydata(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    member = await _member(update, context)
    if member is None:
        await reply(update, tr("members.mydata.nothing"))
        return
    data = await context.services.members.export(member)
    d = {**data, "groups": [g["group_id"] for g in data["groups"]]}
    lines = summary_lines(tr, d)
    groups = ", ".join(f"{g['group_name']} ({g['status']})" for g in data["groups"])
    text = (
        tr("members.mydata.title")
        + "\n\n"
        + "\n".join(lines)
        + "\n"
        + tr("members.mydata.groups", groups=groups or "-")
    )
    await reply(update, Markup(text))
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    chat = update.effective_chat
    if chat is not None:
        caption = str(tr("members.mydata.file"))
        # bytes, not a stream: a retry after a 429 uploads the whole file again
        await send_direct(
            update, context, lambda: chat.send_document(payload, filename="my-data.json", caption=caption),
            what="/mydata file",
        )


async def forget(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    member = await context.services.members.by_user(user_id_of(update))
    if member is None:
        await reply(update, tr("members.mydata.nothing"))
        return
    await reply(update, tr("members.forget.ask"), _confirm_or_keep(tr, "members.forget.confirm", "forgetok"))


async def forget_confirm(update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    uid = user_id_of(update)
    member = await context.services.members.by_user(uid)
    if member is None:
        await edit_or_reply(update, tr("members.mydata.nothing"))
        return
    # Anonymous or not, the member's feedback stays (counts, answers) but no longer leads to them.
    await context.services.feedback.forget_member(member.id)
    await context.services.members.erase(member)
    context.services.users.erased(uid)
    if context.user_data is not None:
        context.user_data.clear()
    await context.application.persistence.drop_user_data(uid) if context.application.persistence else None
    context.application.drop_user_data(uid)
    await edit_or_reply(update, tr("members.forget.done"))
    await common.set_chat_commands(context, uid, Role.STRANGER, None, context.ui.menu)


async def refresh_answer(update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    member = await _member(update, context)
    if member is None:
        return
    await context.services.members.confirm_profile(member)
    await edit_or_reply(update, tr("members.refresh.thanks"))


async def run_due_refresh(bot: Bot, services: Services) -> int:
    """Ask each member whose profile check is due; each row is claimed before sending."""
    sent = 0
    for _member_id, user_id in await services.members.claim_due_refresh():
        lang = await services.users.language(user_id, None)
        tr = services.catalog.for_lang(lang)
        markup = kb.inline(
            [
                [
                    kb.button(str(tr("members.refresh.ok")), kb.cb("prof", "fresh")),
                    kb.button(str(tr("members.refresh.update")), kb.cb("prof", "upd")),
                ]
            ]
        )
        try:
            text = tr("members.refresh.ask")
            await with_retry_after(partial(bot.send_message, user_id, text, parse_mode="HTML", reply_markup=markup))
            sent += 1
        except (BadRequest, Forbidden, RetryAfter) as exc:
            log.info("profile check not delivered to %s: %s", user_id, exc.message)
    return sent


async def _refresh_job(context: Ctx) -> None:
    services = context.application.bot_data.services
    if services is not None:
        await run_due_refresh(context.bot, services)


async def update_hint(update: Update, context: Ctx) -> None:
    await answer(update)
    tr = await translator(update, context)
    await edit_or_reply(update, tr("members.refresh.use_profile"))


async def on_startup(app: LiaisonApp) -> None:
    """Re-arm the daily profile check; what fell due while the bot was down runs at once."""
    if app.job_queue is None:
        return
    for job in app.job_queue.get_jobs_by_name(REFRESH_JOB):
        job.schedule_removal()
    app.job_queue.run_repeating(_refresh_job, interval=timedelta(days=1), first=timedelta(seconds=5), name=REFRESH_JOB)


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    private = filters.ChatType.PRIVATE & common.COMMAND_FILTER
    app.add_handler(CommandHandler("mydata", mydata, filters=private))
    app.add_handler(CommandHandler("forget", forget, filters=private))
    app.add_handler(CallbackQueryHandler(my_groups, pattern=r"^prof:groups$"))
    app.add_handler(CallbackQueryHandler(leave_group, pattern=r"^prof:lv:"))
    app.add_handler(CallbackQueryHandler(leave_ask, pattern=r"^prof:quit$"))
    app.add_handler(CallbackQueryHandler(leave_confirm, pattern=r"^prof:quitok$"))
    app.add_handler(CallbackQueryHandler(forget_confirm, pattern=r"^prof:forgetok$"))
    app.add_handler(CallbackQueryHandler(refresh_answer, pattern=r"^prof:fresh$"))
    app.add_handler(CallbackQueryHandler(update_hint, pattern=r"^prof:upd$"))
    menu.add("mydata", "members.cmd.mydata", Role.STRANGER)
    menu.add("forget", "members.cmd.forget", Role.PENDING)
    menu.add_home("members.home.groups", kb.cb("prof", "groups"), Role.PENDING)
