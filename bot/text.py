"""Text the way Telegram counts it, and one cleaning policy for what members type.

- `utf16_len` / `visible_len`: Telegram's limits (4096 for a message, 1024 for a caption, 200 for
  a callback answer) count UTF-16 code units of the text AFTER entity parsing: tags do not count,
  ``&amp;`` counts as one character, an emoji outside the BMP counts as two.
- `split_html`: cut a long HTML text into messages that each fit, at safe boundaries (a line
  break when there is one), never inside a tag or an entity; formatting open at a cut is closed
  at the end of one part and opened again at the start of the next.
- `clean_member_text`: the one policy for member-typed text (feedback, survey answers, notes,
  profile fields): control characters, bidirectional overrides/isolates and zero-width
  characters are removed (the emoji joiners ZWJ and VS16 are kept), line breaks kept, NFC.
- `export_safe`: any stored text made safe for XLSX/CSV cells (XML 1.0 forbids most control
  characters; an export must never fail on a stored character).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
ANSWER_LIMIT = 200

_KEEP_FORMAT = {"\u200d", "\ufe0f"}  # zero-width joiner and emoji presentation: parts of emoji
_TOKEN = re.compile(r"<[^>]*>|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{0,30});|[^<&]+|[<&]")
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (Telegram's unit)."""
    return len(text.encode("utf-16-le")) // 2


def _entity_char(entity: str) -> str:
    if entity in _ENTITIES:
        return _ENTITIES[entity]
    body = entity[2:-1]
    try:
        code = int(body[1:], 16) if body[:1] in ("x", "X") else int(body)
        return chr(code)
    except ValueError:
        return "?"


def visible_text(html: str) -> str:
    """The text Telegram shows for `html` (tags removed, entities decoded)."""
    out: list[str] = []
    for token in _TOKEN.findall(html):
        if token.startswith("<") and len(token) > 1:
            continue
        out.append(_entity_char(token) if token.startswith("&") and len(token) > 1 else token)
    return "".join(out)


def visible_len(html: str) -> int:
    """Length of `html` as Telegram measures it (UTF-16 units after entity parsing)."""
    return utf16_len(visible_text(html))


@dataclass
class _Open:
    name: str
    raw: str  # the opening tag as written (with its attributes)


def split_html(html: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Parts of `html`, each at most `limit` visible UTF-16 units, cut at safe boundaries.

    A cut prefers the last line break within the part; a single line longer than the limit is
    cut between characters (never inside a tag, an entity or a surrogate pair). Tags open at a
    cut are closed at the end of the part and re-opened at the start of the next one.
    """
    if limit < 16:
        raise ValueError("limit too small to hold anything useful")
    parts: list[str] = []
    current: list[str] = []  # tokens of the part being built
    size = 0
    stack: list[_Open] = []
    # where the part could be cut at the last line break: (tokens so far, size, stack copy)
    last_break: tuple[int, int, list[_Open]] | None = None

    def close_part(upto: int, open_tags: list[_Open]) -> None:
        body = "".join(current[:upto]) + "".join(f"</{t.name}>" for t in reversed(open_tags))
        if visible_text(body).strip():
            parts.append(body)

    for token in _units(html):
        if token.startswith("<") and len(token) > 1:
            match = _TAG.match(token)
            if match:
                closing, name = match.group(1) == "/", match.group(2).lower()
                if closing:
                    for i in range(len(stack) - 1, -1, -1):
                        if stack[i].name == name:
                            del stack[i:]
                            break
                elif not token.endswith("/>"):
                    stack.append(_Open(name, token))
            current.append(token)
            continue
        width = utf16_len(_entity_char(token) if token.startswith("&") and len(token) > 1 else token)
        if size + width > limit:
            if last_break is not None and last_break[1] > limit // 2:
                upto, _, open_at_break = last_break
                rest = current[upto:]
                close_part(upto, open_at_break)
                current = [t.raw for t in open_at_break] + rest
                size = visible_len("".join(rest))
            else:
                close_part(len(current), stack)
                current = [t.raw for t in stack]
                size = 0
            last_break = None
        current.append(token)
        size += width
        if token == "\n":  # noqa: S105 - a line break, not a password
            last_break = (len(current), size, list(stack))
    if current:
        body = "".join(current)
        if visible_text(body).strip() or not parts:
            parts.append(body)
    return parts


def _units(html: str) -> list[str]:
    """Tags, entities, and single characters (a surrogate-pair emoji is one unit)."""
    units: list[str] = []
    for token in _TOKEN.findall(html):
        if token.startswith(("<", "&")) and len(token) > 1:
            units.append(token)
        else:
            units.extend(token)
    return units


_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def typed_int(text: str, max_digits: int = 18) -> int | None:
    """A number a member typed: ASCII digits, or the full-width digits Chinese input methods type
    (１２); None for anything else. ``str.isdigit`` also accepts superscripts (²), circled (⑫) and
    other digits that ``int`` refuses or reads differently: those are not numbers here."""
    value = text.strip().translate(_FULL_WIDTH_DIGITS)
    if not value or len(value) > max_digits or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def truncate_text(text: str, limit: int, ellipsis: str = "…") -> str:
    """Plain `text` cut to at most `limit` UTF-16 units (with `ellipsis` when cut); cut BEFORE
    escaping, so an entity (``&amp;``) is never split, and never inside a character."""
    if utf16_len(text) <= limit:
        return text
    room = max(0, limit - utf16_len(ellipsis))
    used = 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            cut = text[:index]
            if cut.endswith("\u200d"):  # do not end on a joiner (half an emoji sequence)
                cut = cut[:-1]
            return cut + ellipsis
    return text


def truncate_html(html: str, limit: int, ellipsis: str = "…") -> str:
    """`html` cut to at most `limit` visible units (with `ellipsis` when cut), tags balanced."""
    if visible_len(html) <= limit:
        return html
    first = split_html(html, max(16, limit - utf16_len(ellipsis)))[0]
    return first + ellipsis


def clean_member_text(text: str | None) -> str:
    """The one cleaning policy for text members type (see the module docstring)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    kept = [
        ch
        for ch in text
        if ch == "\n" or ch in _KEEP_FORMAT or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    ]
    return "".join(kept).strip()


def export_safe(value: str) -> str:
    """A stored text as an XLSX/CSV cell can hold it (characters XML forbids become U+FFFD)."""
    return _XML_ILLEGAL.sub("\ufffd", value)
