"""Callback data: one declaration per button; builder, pattern and parser all come from it.

A button's data is ``prefix:action:field1:field2...`` (ASCII, at most 64 bytes, Telegram's limit),
or ``prefix:field1...`` when the button has no action. Each kind of button is declared ONCE::

    SIGN_UP = Button("act", "su", id=int)
    SIGN_UP.data(id=7)           # "act:su:7"   (a service building an outbox keyboard uses this)
    SIGN_UP.parse("act:su:7")    # Pressed({"id": 7})
    SIGN_UP.parse("act:su:²")    # None: forged (only ASCII digits are numbers)

and the handler that receives the press is registered with the same declaration
(`handlers.buttons.on(SIGN_UP, callback)`): its pattern is derived from it, routing is a lookup
by ``(prefix, action)``, and one parser refuses malformed or forged data politely.

This module imports nothing of Telegram: services (bot/) build keyboards' data with it too.

Field kinds:
  ``int``        a non-negative integer of ASCII digits (at most 18 of them)
  ``str``        a token of ``[A-Za-z0-9_.-]``, 1-40 characters
  ``("a", "b")`` one of these literal values (an enum)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_CALLBACK_BYTES = 64
SEP = ":"
MAX_INT_DIGITS = 18
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]{1,40}")
_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")
_NAME = re.compile(r"[A-Za-z0-9_]{1,16}")

FieldKind = type[int] | type[str] | tuple[str, ...]

# Every declared button, by (prefix, action): a declaration is unique (tested at import).
REGISTRY: dict[tuple[str, str], Button] = {}


class CallbackDataError(ValueError):
    """Data that Telegram would refuse (too long, not ASCII) or that does not fit the declaration."""


@dataclass(frozen=True)
class Pressed:
    """The typed fields of a pressed button (only ever built by `Button.parse`)."""

    button: Button
    values: Mapping[str, int | str] = field(default_factory=dict)

    def num(self, name: str) -> int:
        value = self.values[name]
        if not isinstance(value, int):
            raise TypeError(f"field {name!r} of {self.button} is not a number")
        return value

    def text(self, name: str) -> str:
        value = self.values[name]
        if not isinstance(value, str):
            raise TypeError(f"field {name!r} of {self.button} is not text")
        return value

    def __getitem__(self, name: str) -> int | str:
        return self.values[name]


class Button:
    """One kind of button: prefix, action and typed fields (keyword order is the data's order)."""

    __slots__ = ("action", "fields", "prefix")

    def __init__(self, prefix: str, action: str = "", /, *, register: bool = True, **fields: FieldKind) -> None:
        if not _NAME.fullmatch(prefix) or (action and not _NAME.fullmatch(action)):
            raise CallbackDataError(f"prefix and action must be short ASCII names: {prefix!r} {action!r}")
        for name, kind in fields.items():
            if kind is not int and kind is not str and not (
                isinstance(kind, tuple) and kind and all(isinstance(v, str) and _TOKEN.fullmatch(v) for v in kind)
            ):
                raise CallbackDataError(f"field {name!r}: kind must be int, str or a tuple of tokens")
        self.prefix = prefix
        self.action = action
        self.fields: tuple[tuple[str, FieldKind], ...] = tuple(fields.items())
        if register:
            key = (prefix, action)
            if key in REGISTRY:
                raise CallbackDataError(f"callback {prefix}:{action} declared twice")
            REGISTRY[key] = self

    @property
    def key(self) -> tuple[str, str]:
        return (self.prefix, self.action)

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.fields)
        return f"Button({self.prefix}:{self.action}[{names}])"

    # --- building --------------------------------------------------------------------------------
    def data(self, *args: int | str, **kwargs: int | str) -> str:
        """The callback data for these field values (positionally or by name)."""
        if len(args) > len(self.fields):
            raise CallbackDataError(f"{self}: too many values")
        values: dict[str, int | str] = dict(zip((n for n, _ in self.fields), args, strict=False))
        for name, value in kwargs.items():
            if name in values:
                raise CallbackDataError(f"{self}: {name} given twice")
            values[name] = value
        parts = [self.prefix] + ([self.action] if self.action else [])
        for name, kind in self.fields:
            if name not in values:
                raise CallbackDataError(f"{self}: {name} missing")
            parts.append(_encode(name, kind, values.pop(name)))
        if values:
            raise CallbackDataError(f"{self}: unknown fields {sorted(values)}")
        text = SEP.join(parts)
        if len(text.encode("utf-8")) > MAX_CALLBACK_BYTES:
            raise CallbackDataError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {text!r}")
        return text

    __call__ = data

    # --- matching and parsing --------------------------------------------------------------------
    def pattern(self) -> re.Pattern[str]:
        """A regular expression matching exactly this button's well-formed data."""
        head = re.escape(self.prefix) + (SEP + re.escape(self.action) if self.action else "")
        tail = "".join(SEP + _field_regex(kind) for _, kind in self.fields)
        return re.compile(f"^{head}{tail}$")

    def parse(self, data: object) -> Pressed | None:
        """The typed fields of `data`, or None when it is not this button's well-formed data."""
        if not isinstance(data, str) or not data.isascii() or len(data) > MAX_CALLBACK_BYTES:
            return None
        parts = data.split(SEP)
        head = 2 if self.action else 1
        if parts[0] != self.prefix or (self.action and (len(parts) < 2 or parts[1] != self.action)):
            return None
        raw = parts[head:]
        if len(raw) != len(self.fields):
            return None
        values: dict[str, int | str] = {}
        for (name, kind), text in zip(self.fields, raw, strict=True):
            value = _decode(kind, text)
            if value is None:
                return None
            values[name] = value
        return Pressed(self, values)


def _encode(name: str, kind: FieldKind, value: Any) -> str:
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or len(str(value)) > MAX_INT_DIGITS:
            raise CallbackDataError(f"field {name!r} must be a non-negative int: {value!r}")
        return str(value)
    text = str(value)
    if isinstance(kind, tuple):
        if text not in kind:
            raise CallbackDataError(f"field {name!r} must be one of {kind}: {value!r}")
        return text
    if not _TOKEN.fullmatch(text):
        raise CallbackDataError(f"field {name!r} must be a short ASCII token: {value!r}")
    return text


def _decode(kind: FieldKind, text: str) -> int | str | None:
    if kind is int:
        return int(text) if _ASCII_DIGITS.fullmatch(text) else None
    if isinstance(kind, tuple):
        return text if text in kind else None
    return text if _TOKEN.fullmatch(text) else None


def _field_regex(kind: FieldKind) -> str:
    if kind is int:
        return "[0-9]{1,18}"
    if isinstance(kind, tuple):
        return "(?:" + "|".join(re.escape(v) for v in kind) + ")"
    return r"[A-Za-z0-9_.\-]{1,40}"


def head_of(data: object) -> tuple[str, str] | None:
    """The ``(prefix, action)`` a piece of data claims to be (for routing), or None.

    Buttons without an action are found under ``(prefix, "")``: callers look up both.
    """
    if not isinstance(data, str) or not data:
        return None
    parts = data.split(SEP, 2)
    return (parts[0], parts[1] if len(parts) > 1 else "")


def lookup(data: object) -> Button | None:
    """The declared button `data` claims to be: by (prefix, action), else by (prefix, "")."""
    head = head_of(data)
    if head is None:
        return None
    return REGISTRY.get(head) or REGISTRY.get((head[0], ""))


def parse_any(data: object) -> Pressed | None:
    """`data` parsed by the declaration it claims to be, or None (unknown, malformed or forged)."""
    button = lookup(data)
    return button.parse(data) if button is not None else None


# Buttons every part of the bot uses.
NOOP = Button("noop")  # a label-only button (page x/y)
HOME = Button("home")  # back to the home screen
LANGUAGE = Button("lang", "", code=("zh-Hans", "en"))
