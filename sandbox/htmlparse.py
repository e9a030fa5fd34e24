"""Strict parser for Telegram's HTML parse mode.

Turns Bot API HTML into plain text plus a list of ``MessageEntity`` dicts whose offsets and
lengths are counted in UTF-16 code units, exactly like Telegram.  Anything Telegram would refuse
raises :class:`EntityParseError` whose message follows Telegram's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_SIMPLE_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_ALL_TAGS = {*_SIMPLE_TAGS, "span", "a", "blockquote", "tg-emoji"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{0,30});")
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_RE = re.compile(r"""\s*([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(err)`` is the Telegram description tail."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (Telegram's unit for offsets and lengths)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    entity: dict[str, Any] | None
    start: int
    byte_offset: int


@dataclass
class _State:
    source: str
    out: list[str] = field(default_factory=list)
    pos16: int = 0
    stack: list[_Open] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.pos16 += utf16_len(text)


def _decode_entity(body: str) -> str | None:
    if body.startswith(("#x", "#X")):
        code = int(body[2:], 16)
    elif body.startswith("#"):
        code = int(body[1:])
    else:
        return _NAMED_ENTITIES.get(body)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def unescape_attr(value: str, state: _State, index: int) -> str:
    """Decode character entities inside an attribute value."""
    result: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            char, i = _read_entity(value, i, state, index)
            result.append(char)
        else:
            result.append(value[i])
            i += 1
    return "".join(result)


def _read_entity(text: str, i: int, state: _State, index: int) -> tuple[str, int]:
    match = _ENTITY_RE.match(text, i)
    decoded = _decode_entity(match.group(1)) if match else None
    if match is None or decoded is None:
        raise EntityParseError(
            f"Character entity expected or unsupported entity at byte offset {state.byte_offset(index)}"
        )
    return decoded, match.end()


def _parse_attrs(raw: str, state: _State, index: int) -> dict[str, str]:
    attrs: dict[str, str] = {}
    pos = 0
    while pos < len(raw):
        if raw[pos:].strip() in ("", "/"):
            break
        match = _ATTR_RE.match(raw, pos)
        if match is None or match.end() == pos:
            raise EntityParseError(f"Can't parse attributes at byte offset {state.byte_offset(index)}")
        value = match.group(2) if match.group(2) is not None else match.group(3)
        if value is None:
            value = match.group(4) or ""
        attrs[match.group(1).lower()] = unescape_attr(value, state, index)
        pos = match.end()
    return attrs


def _entity_for(tag: str, attrs: dict[str, str], state: _State, index: int) -> dict[str, Any] | None:
    offset = state.byte_offset(index)
    if tag in _SIMPLE_TAGS:
        if tag == "code" and state.stack and state.stack[-1].tag == "pre":
            language = attrs.get("class", "")
            if language.startswith("language-") and state.stack[-1].entity is not None:
                state.stack[-1].entity["language"] = language[len("language-") :]
        return {"type": _SIMPLE_TAGS[tag]}
    if tag == "span":
        if attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Unsupported start tag "span" at byte offset {offset}')
        return {"type": "spoiler"}
    if tag == "a":
        href = attrs.get("href", "")
        return {"type": "text_link", "url": href} if href else None
    if tag == "blockquote":
        return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
    emoji_id = attrs.get("emoji-id", "")
    if not emoji_id.isdigit():
        raise EntityParseError(f'Custom emoji entity must contain a valid "emoji-id" at byte offset {offset}')
    return {"type": "custom_emoji", "custom_emoji_id": emoji_id}


def _open_tag(raw: str, state: _State, index: int) -> None:
    match = _TAG_NAME_RE.match(raw)
    offset = state.byte_offset(index)
    if match is None:
        raise EntityParseError(f"Unsupported start tag at byte offset {offset}")
    tag = match.group(0).lower()
    if tag not in _ALL_TAGS:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {offset}')
    attrs = _parse_attrs(raw[match.end() :], state, index)
    entity = _entity_for(tag, attrs, state, index)
    state.stack.append(_Open(tag, entity, state.pos16, offset))


def _close_tag(raw: str, state: _State, index: int) -> None:
    tag = raw.strip().lower()
    offset = state.byte_offset(index)
    if not state.stack:
        raise EntityParseError(f'Unexpected end tag at byte offset {offset}')
    top = state.stack[-1]
    if tag != top.tag:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {offset}, expected "</{top.tag}>", found "</{tag}>"'
        )
    state.stack.pop()
    length = state.pos16 - top.start
    if top.entity is not None and length > 0:
        if top.tag == "code" and state.stack and state.stack[-1].tag == "pre":
            return
        state.entities.append({**top.entity, "offset": top.start, "length": length})


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML; return ``(plain_text, entities)`` or raise :class:`EntityParseError`."""
    state = _State(source)
    i = 0
    while i < len(source):
        char = source[i]
        if char == "&":
            decoded, i_next = _read_entity(source, i, state, i)
            state.emit(decoded)
            i = i_next
        elif char == "<":
            end = source.find(">", i)
            if end == -1:
                raise EntityParseError(f"Unclosed start tag at byte offset {state.byte_offset(i)}")
            inner = source[i + 1 : end]
            if inner.startswith("/"):
                _close_tag(inner[1:], state, i)
            else:
                _open_tag(inner, state, i)
            i = end + 1
        else:
            j = i
            while j < len(source) and source[j] not in "&<":
                j += 1
            state.emit(source[i:j])
            i = j
    if state.stack:
        top = state.stack[-1]
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{top.tag}"')
    entities = sorted(state.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(state.out), entities
