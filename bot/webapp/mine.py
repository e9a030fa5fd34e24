"""A member's own views in the Mini App: the profile form and the feedback form with attachments,
as an alternative to the chat's /profile and /feedback (the same services, the same rules).

Attachments: the chat stores a feedback item's files as Telegram file ids (the member sent them
to the bot). A file uploaded from the Mini App is sent by the bot into the member's own chat
(photo or document, with a caption naming the item), and the file id Telegram gives back is
stored exactly like the chat's, so coordinators see it in the chat's item view and its count on
the board. Nothing is sent before the request is known to be acceptable (kind, text, today's
limit), and never more than the chat's `MAX_ATTACHMENTS`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from bot import labels
from bot.errors import Refusal
from bot.feedback.models import KINDS as FEEDBACK_KINDS
from bot.feedback.service import MAX_ATTACHMENTS, clean_text
from bot.members.models import CATEGORIES, EXPERTISE, EXPERTISE_TAG
from bot.members.rules import NAME_MAX
from bot.members.rules import clean_text as clean_field
from bot.roles import Actor
from bot.services import Services
from bot.webapp.views import BadRequest, SendFile, _label, lang_of

PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
PHOTO_MAX = 10 * 1024 * 1024  # Telegram's limit for an uploaded photo; bigger images go as documents
FILE_MAX = 20 * 1024 * 1024  # per file (Telegram accepts 50 MB; a phone's upload stays well below)
OPTIONAL_FIELDS = ("organisation", "position", "expertise_note", "interests")


@dataclass(frozen=True)
class Upload:
    """One file of a multipart request."""

    name: str
    content_type: str
    data: bytes


# --- profile -----------------------------------------------------------------------------------------
async def _member(services: Services, actor: Actor) -> Any:
    member = await services.members.registered(actor.user_id)
    if member is None or member.status == "left":
        raise Refusal("members.not_registered")
    return member


async def profile(services: Services, actor: Actor, lang: str) -> dict[str, Any]:
    member = await _member(services, actor)
    tr = services.catalog.for_lang(lang_of(lang))
    return {
        "name": member.name, "category": member.category, "organisation": member.organisation,
        "position": member.position, "phone": member.phone, "expertise": list(member.expertise),
        "expertise_note": member.expertise_note, "interests": member.interests,
        "categories": [{"key": c, "label": _label(tr, "category", c)} for c in CATEGORIES],
        "expertise_tags": [{"key": e, "label": labels.label(tr, EXPERTISE_TAG, e)} for e in EXPERTISE],
    }


async def save_profile(services: Services, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """The chat's /profile Save: every field cleaned by the same rule; the phone stays as shared."""
    member = await _member(services, actor)
    category = body.get("category")
    if category not in CATEGORIES:
        raise BadRequest("unknown category")
    tags = body.get("expertise", [])
    if not isinstance(tags, list) or any(t not in EXPERTISE for t in tags):
        raise BadRequest("unknown expertise")
    values: dict[str, str | None] = {"name": clean_field(str(body.get("name", "")), NAME_MAX),
                                     "category": str(category), "phone": member.phone}
    for key in OPTIONAL_FIELDS:
        raw = str(body.get(key) or "")
        values[key] = clean_field(raw) if raw.strip() else None
    await services.members.save_profile(member, values, tuple(str(t) for t in tags))
    return {"saved": True}


# --- feedback ----------------------------------------------------------------------------------------
async def my_feedback(services: Services, actor: Actor) -> dict[str, Any]:
    items = await services.feedback.mine(actor)
    return {"remaining_today": await services.feedback.remaining_today(actor), "max_files": MAX_ATTACHMENTS,
            "items": [{"id": i.id, "ref": i.ref, "kind": i.kind, "status": i.status, "body": i.body[:300],
                       "answer": i.answer} for i in items]}


async def submit_feedback(services: Services, actor: Actor, body: dict[str, Any], files: list[Upload],
                          send_file: SendFile | None, lang: str) -> dict[str, Any]:
    kind = str(body.get("kind", "suggestion"))
    if kind not in FEEDBACK_KINDS:
        raise BadRequest("unknown kind")
    text = str(body.get("text", ""))
    anonymous = str(body.get("anonymous", "")).lower() in ("1", "true", "on", "yes")
    if len(files) > MAX_ATTACHMENTS:
        raise BadRequest("too many files")
    attachments: list[tuple[str, str]] = []
    if files:
        if send_file is None:
            raise BadRequest("files cannot be sent from here")
        clean_text(text)  # refuses an empty or overlong text before anything is sent
        if await services.feedback.remaining_today(actor) <= 0:
            raise Refusal("fb.limit", limit=services.settings.feedback_daily_limit)
        tr = services.catalog.for_lang(lang_of(lang))
        caption = html.unescape(str(tr("webapp.attachment_caption", text=text[:60])))  # a plain caption
        for upload in files:
            photo = upload.content_type in PHOTO_TYPES and len(upload.data) <= PHOTO_MAX
            attachments.append(await send_file(actor.user_id, upload.name, upload.data, caption, photo))
    created = await services.feedback.submit(actor, kind, text, anonymous, attachments)
    return {"ref": created.ref, "attachments": len(attachments)}
