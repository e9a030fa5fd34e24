"""/myfeedback: a member follows their items; the Helpful buttons under an answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import Update

from bot.context import Ctx
from bot.feedback import callbacks as cb
from bot.feedback import short
from bot.i18n import Markup
from bot.labels import label
from bot.text import visible_len
from handlers.base import actor, answer, reply, translator
from handlers.buttons import press

if TYPE_CHECKING:
    from bot.services import Services


async def my_feedback(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.is_member:
        await reply(update, tr("fb.members_only"))
        return
    items = await context.services.feedback.mine(who)
    if not items:
        await reply(update, tr("fb.mine_empty"))
        return
    blocks = [tr("fb.mine_title")]
    for item in items[:10]:
        block = tr(
            "fb.mine_item",
            ref=item.ref,
            kind=label(tr, "feedback_kind", item.kind),
            status=label(tr, "feedback_status", item.status),
            text=short(item.body),
        )
        if item.answer:
            block = Markup(block + "\n" + tr("fb.mine_answer", answer=short(item.answer, 200)))
        if sum(visible_len(b) + 2 for b in blocks) + visible_len(block) > 4000:  # Telegram's units
            break  # whole blocks only: never cut through HTML
        blocks.append(block)
    await reply(update, Markup("\n\n".join(blocks)))


async def helpful_pressed(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    pressed = press(update, cb.HELPFUL)
    who = await actor(update, context)
    if pressed is None or not who.is_member:
        await answer(update, str(tr("fb.not_found")))
        return
    ok = await context.services.feedback.mark_helpful(who, pressed.num("id"), pressed.text("helpful") == "1")
    await answer(update, str(tr("fb.thanks_rating" if ok else "fb.not_found")))


async def my_data(services: Services, member_id: int) -> dict[str, Any]:
    """The feedback part of /mydata: the member's own items, kinds and statuses in their words."""
    items = await services.feedback.of_member(member_id)
    if not items:
        return {}
    member = await services.members.get(member_id)
    user_id = member.user_id if member is not None else None
    tr = services.catalog.for_lang(
        await services.users.language(user_id) if user_id is not None else services.settings.language
    )
    return {
        "items": [
            {
                "ref": item.ref,
                "kind": label(tr, "feedback_kind", item.kind),
                "status": label(tr, "feedback_status", item.status),
                "text": item.body,
                "answer": item.answer,
                "helpful": item.helpful,
                "reopened": item.reopened,
                "anonymous": item.anonymous,
                "created_at": item.created_at.isoformat(),
            }
            for item in items
        ]
    }
