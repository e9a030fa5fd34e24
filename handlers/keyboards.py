"""Keyboards and callback data, built in one place.

Callback data is ``prefix:action:arg...`` in ASCII, at most 64 bytes (Telegram's limit).
It comes back from the client and can be forged: handlers parse it with `parse` and
re-check the caller's rights and the object's state on every press.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.callbacks import NOOP
from bot.i18n import Markup

MAX_CALLBACK_BYTES = 64
T = TypeVar("T")
SEP = ":"


def cb(*parts: object) -> str:
    """Build callback data from parts; refuses data Telegram would reject."""
    data = SEP.join(str(p) for p in parts)
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data must be 1-64 bytes: {data!r}")
    return data


def parse(data: str | None, prefix: str, arity: int | None = None) -> list[str] | None:
    """Split callback data of `prefix`; None when it is not well-formed (forged or stale)."""
    if not data:
        return None
    parts = data.split(SEP)
    if parts[0] != prefix:
        return None
    rest = parts[1:]
    if arity is not None and len(rest) != arity:
        return None
    return rest


def parse_int(text: str) -> int | None:
    """A small non-negative integer from callback data, or None."""
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def parse_ints(data: str | None, prefix: str, arity: int) -> list[int] | None:
    """`prefix:n1:n2...` with exactly `arity` small integers; None when forged or stale."""
    parts = parse(data, prefix, arity)
    if parts is None:
        return None
    numbers = [parse_int(p) for p in parts]
    return None if any(n is None for n in numbers) else [n for n in numbers if n is not None]


def button(text: str, data: str) -> InlineKeyboardButton:
    """A callback button. A button's label is plain text: a catalogue text (`Markup`, HTML with its
    values escaped once) is shown unescaped, so "R&D" is not shown as "R&amp;D"."""
    return InlineKeyboardButton(html.unescape(text) if isinstance(text, Markup) else text, callback_data=data)


def url_button(text: str, url: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, url=url)


def inline(rows: Iterable[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows if row])


def columns(buttons: Sequence[InlineKeyboardButton], width: int = 2) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def pager(prefix: str, page: int, pages: int, prev_text: str, next_text: str) -> list[InlineKeyboardButton]:
    """Previous / page x of y / next buttons for a paginated list."""
    row: list[InlineKeyboardButton] = []
    if page > 0:
        row.append(button(prev_text, cb(prefix, page - 1)))
    if pages > 1:
        row.append(button(f"{page + 1}/{pages}", NOOP.data()))
    if page + 1 < pages:
        row.append(button(next_text, cb(prefix, page + 1)))
    return row


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, the page number (from 0) and how many pages there are."""

    items: list[T]
    page: int
    pages: int

    def nav(self, prefix: str, prev_text: str, next_text: str) -> list[InlineKeyboardButton]:
        """◀ x/y ▶ buttons whose data is `prefix:<page>`."""
        return pager(prefix, self.page, self.pages, prev_text, next_text)


def page_of(items: Sequence[T], page: int, size: int) -> Page[T]:
    """Page `page` of `items`, `size` a page; a page out of range (forged) is clamped into it."""
    pages = max(1, (len(items) + size - 1) // size)
    page = min(max(page, 0), pages - 1)
    return Page(list(items[page * size : (page + 1) * size]), page, pages)


def contact_keyboard(share_text: str, skip_text: str | None = None) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(share_text, request_contact=True)]]
    if skip_text:
        rows.append([KeyboardButton(skip_text)])
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def remove_keyboard() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()
