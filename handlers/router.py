"""Button routing: a lookup by the data's ``(prefix, action)``, not a scan of regular expressions.

`route_buttons` replaces each *contiguous* run of button handlers of a group with one
`ButtonRouter` at the same place. Handlers declared from a `bot.callbacks.Button`
(`handlers.buttons.ButtonHandler`) are found by the key the pressed data claims; the few
handlers without a declaration (the catch-all for stale buttons) are tried for every press.
Candidates keep their registration order and each one's own ``check_update`` still decides,
so the handler that wins is the one that would have won when tried one by one.

Conversations keep their own handlers untouched; handlers with ``block=False`` stay where they are.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_TRUE
from telegram.ext import BaseHandler, CallbackQueryHandler
from telegram.ext._utils.types import CCT

from bot.callbacks import head_of
from bot.context import Ctx
from handlers.buttons import ButtonHandler


async def _never_called(update: object, context: object) -> None:  # pragma: no cover - see handle_update
    raise AssertionError("ButtonRouter dispatches to the matched handler")


class ButtonRouter(BaseHandler[Update, CCT, Any]):
    """Stands for a run of button handlers; see the module docstring."""

    def __init__(self, handlers: list[CallbackQueryHandler[CCT, Any]]) -> None:
        super().__init__(_never_called)
        self.handlers = handlers
        keys = [h.button.key if isinstance(h, ButtonHandler) else None for h in handlers]
        self._unrouted = [h for h, key in zip(handlers, keys, strict=True) if key is None]
        self._by_key: dict[tuple[str, str], list[CallbackQueryHandler[CCT, Any]]] = {
            key: [h for h, other in zip(handlers, keys, strict=True) if other in (key, None)]
            for key in {key for key in keys if key is not None}
        }

    def candidates(self, data: object) -> list[CallbackQueryHandler[CCT, Any]]:
        head = head_of(data)
        if head is None:
            return self.handlers  # games, empty or non-string data: every handler, as before
        found = self._by_key.get(head)
        if found is None and head[1]:
            found = self._by_key.get((head[0], ""))  # a button without an action: prefix:field...
        return found if found is not None else self._unrouted

    def check_update(self, update: object) -> tuple[CallbackQueryHandler[CCT, Any], object] | None:
        if not (isinstance(update, Update) and update.callback_query):
            return None
        for handler in self.candidates(update.callback_query.data):
            check = handler.check_update(update)
            if check is not None and check is not False:
                return handler, check
        return None

    async def handle_update(  # type: ignore[override]
        self, update: Update, application: Any, check_result: tuple[CallbackQueryHandler[CCT, Any], Any], context: CCT
    ) -> Any:
        handler, check = check_result
        if isinstance(context, Ctx):
            context.plain_button = True  # no conversation state can change (bot/app.py::flush_persistence)
        return await handler.handle_update(update, application, check, context)

    def __repr__(self) -> str:
        return f"ButtonRouter[{len(self.handlers)} handlers]"


def _routable(handler: BaseHandler[Any, Any, Any]) -> bool:
    # Same blocking behaviour as the router itself (PTB's default), so nothing changes there.
    return isinstance(handler, CallbackQueryHandler) and handler.block is DEFAULT_TRUE and (
        type(handler) is CallbackQueryHandler or isinstance(handler, ButtonHandler)
    )


def route_buttons(handlers: list[BaseHandler[Any, Any, Any]]) -> list[BaseHandler[Any, Any, Any]]:
    """`handlers` with every contiguous run of ≥ 2 button handlers replaced by one router."""
    out: list[BaseHandler[Any, Any, Any]] = []
    run: list[Any] = []

    def close_run() -> None:
        if len(run) >= 2:
            out.append(ButtonRouter(list(run)))
        else:
            out.extend(run)
        run.clear()

    for handler in handlers:
        if _routable(handler):
            run.append(handler)
        else:
            close_run()
            out.append(handler)
    close_run()
    return out
