"""What a valid profile value and a valid invite token are (pure functions, no I/O)."""

from __future__ import annotations

import secrets

from bot.errors import Refusal
from bot.text import clean_member_text, utf16_len

NAME_MAX = 64
TEXT_MAX = 200
MESSAGE_MAX = 3000
INVITE_PREFIX = "inv_"


def clean_text(value: str | None, max_len: int = TEXT_MAX) -> str:
    """The one cleaning policy for member text (bot/text.clean_member_text), strict for profile fields.

    Line ends and tabs become plain spacing and the text is NFC, as everywhere; a character the
    policy would drop (control, bidirectional override/isolate, zero-width; the emoji joiners are
    kept) is refused rather than silently removed, because a profile field is shown to others as
    typed. Lengths count Telegram's UTF-16 units. Markup is kept as typed (escaped when shown).
    Refusals: ``members.invalid.empty`` / ``.control`` / ``.too_long``.
    """
    raw = value or ""
    if any(not ch.isspace() and clean_member_text(ch) == "" for ch in raw):
        raise Refusal("members.invalid.control")
    text = clean_member_text(raw)
    if not text:
        raise Refusal("members.invalid.empty")
    if utf16_len(text) > max_len:
        raise Refusal("members.invalid.too_long")
    return text


def new_invite_token() -> str:
    """URL-safe token; with the prefix well under Telegram's 64-character payload limit."""
    return secrets.token_urlsafe(16)


def valid_token(token: str) -> bool:
    return 0 < len(token) <= 64 - len(INVITE_PREFIX) and all(c.isascii() and (c.isalnum() or c in "-_") for c in token)


def namesake_hint(organisation: str | None, phone: str | None, org_len: int = 20) -> tuple[str, str] | None:
    """What tells a member apart from another of the same name (two 王芳 are common): their
    organisation ("org", cut to `org_len`), else the last 4 digits of their phone ("phone"); None
    when neither is known. Shown in the roster, /members, /approvals and who-has-not lists."""
    if organisation:
        return "org", organisation[:org_len]
    digits = "".join(ch for ch in (phone or "") if ch.isascii() and ch.isdigit())
    return ("phone", digits[-4:]) if digits else None
