"""Button handlers declared from `bot.callbacks.Button`: pattern and parsing come from the declaration.

    app.add_handler(on(SIGN_UP, sign_up))          # register
    pressed = press(update, SIGN_UP)               # in the callback: typed fields, or None

A press whose data claims a declared button but does not parse (forged, stale, a non-ASCII
digit) matches no handler and gets the polite "stale button" answer of the catch-all.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_TRUE, DefaultValue
from telegram.ext import CallbackQueryHandler

from bot.callbacks import Button, Pressed
from bot.context import Ctx

ButtonCallback = Callable[[Update, Ctx], Coroutine[Any, Any, Any]]


class ButtonHandler(CallbackQueryHandler[Ctx, Any]):
    """A ``CallbackQueryHandler`` for exactly one declared button (routed by its key)."""

    __slots__ = ("button",)

    def __init__(
        self, button: Button, callback: ButtonCallback, *, block: bool | DefaultValue[bool] = DEFAULT_TRUE
    ) -> None:
        super().__init__(callback, pattern=button.pattern(), block=block)
        self.button = button

    def check_update(self, update: object) -> bool | object | None:
        if not (isinstance(update, Update) and update.callback_query is not None):
            return None
        if self.button.parse(update.callback_query.data) is None:
            return None
        return super().check_update(update)


def on(button: Button, callback: ButtonCallback, *, block: bool | DefaultValue[bool] = DEFAULT_TRUE) -> ButtonHandler:
    """The handler of presses of `button`."""
    return ButtonHandler(button, callback, block=block)


def press(update: Update, button: Button) -> Pressed | None:
    """The typed fields of the pressed `button`; None when the update is not a well-formed press of it."""
    query = update.callback_query
    return button.parse(query.data) if query is not None else None
