"""/digest: "you said, we did" — answered suggestions, previewed, then queued to the members."""

from __future__ import annotations

from telegram import Update

from bot.context import Ctx
from bot.feedback import callbacks as cb
from bot.feedback import digest_text
from bot.roles import AccessDenied
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, refuse, reply, translator
from handlers.buttons import press


async def digest_command(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    try:
        groups = await context.services.feedback.scope_groups(who)
    except AccessDenied:
        await refuse(update, context)
        return
    buttons = [kb.button(str(tr("fb.digest_whole_scope")), cb.DIGEST_PREVIEW.data(group=cb.ALL))]
    buttons += [kb.button(name, cb.DIGEST_PREVIEW.data(group=str(gid))) for gid, name in groups]
    await reply(update, tr("fb.digest_choose"), kb.inline(kb.columns(buttons)))


async def digest_pressed(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    pressed = press(update, cb.DIGEST_PREVIEW) or press(update, cb.DIGEST_SEND)
    group = pressed.text("group") if pressed else cb.ALL
    group_id = cb.group_of(group)
    if pressed is None or (group != cb.ALL and group_id is None):
        await answer(update)
        return
    who = await actor(update, context)
    service = context.services.feedback
    try:
        if pressed.button is cb.DIGEST_PREVIEW:
            entries = await service.digest_preview(who, group_id)
            await answer(update)
            if not entries:
                await edit_or_reply(update, tr("fb.digest_nothing"))
                return
            preview = tr("fb.digest_preview", body=digest_text(tr, entries))
            send = kb.button(str(tr("fb.digest_send")), cb.DIGEST_SEND.data(group=group))
            await edit_or_reply(update, preview, kb.inline([[send]]))
            return
        queued = await service.send_digest(who, group_id)
    except AccessDenied:
        await refuse(update, context)
        return
    await answer(update)
    await edit_or_reply(update, tr("fb.digest_queued", count=queued) if queued else tr("fb.digest_nothing"))
