"""What a valid profile value and a valid invite token are (pure functions, no I/O)."""

from __future__ import annotations

import secrets
import unicodedata

from bot.errors import Refusal

NAME_MAX = 64
TEXT_MAX = 200
MESSAGE_MAX = 3000
INVITE_PREFIX = "inv_"


def clean_text(value: str | None, max_len: int = TEXT_MAX) -> str:
    """Trim, refuse control characters, empty text and overlong text (counted in characters).

    Markup is kept as typed (it is escaped when shown); emoji and right-to-left text are fine,
    but bidirectional override/isolate controls are refused with the other control characters.
    Refusals: ``members.invalid.empty`` / ``.control`` / ``.too_long``.
    """
    text = (value or "").strip()
    if not text:
        raise Refusal("members.invalid.empty")
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf") and ch not in ("\u200d", "\ufe0f"):
            raise Refusal("members.invalid.control")
    if len(text) > max_len:
        raise Refusal("members.invalid.too_long")
    return text


def new_invite_token() -> str:
    """URL-safe token; with the prefix well under Telegram's 64-character payload limit."""
    return secrets.token_urlsafe(16)


def valid_token(token: str) -> bool:
    return 0 < len(token) <= 64 - len(INVITE_PREFIX) and all(c.isascii() and (c.isalnum() or c in "-_") for c in token)
