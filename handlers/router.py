"""Button routing: one handler per run of button handlers, finding candidates by the data's prefix.

Every button press used to be checked against each ``CallbackQueryHandler`` of group 0 in turn
(a regular expression each, ~40 before the busiest buttons). `route_buttons` replaces each
*contiguous* run of plain ``CallbackQueryHandler``s with one `ButtonRouter` at the same place.
The router looks at the callback data's first field (``"act:su:7"`` -> ``"act"``) and tries only
the handlers of the run whose pattern starts with that literal field, plus those whose pattern
has no literal first field, in their registration order. Each candidate's own ``check_update``
still decides, so the first handler that matched before is the one that matches now.

Only contiguous runs are merged (nothing registered between two button handlers changes
places), conversations keep their own handlers untouched, and handlers with
``block=False`` stay where they are.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_TRUE
from telegram.ext import BaseHandler, CallbackQueryHandler
from telegram.ext._utils.types import CCT

from bot.context import Ctx
from handlers.keyboards import SEP

# "^act:", "act:", "^home$": a literal first field followed by the separator or the end.
_HEAD = re.compile(r"\^?([A-Za-z0-9_]+)(?::|\$)")


def literal_head(handler: CallbackQueryHandler[Any, Any]) -> str | None:
    """The literal first field every data this handler's pattern can match starts with, if any."""
    pattern = handler.pattern
    if not isinstance(pattern, re.Pattern) or pattern.flags & re.IGNORECASE:
        return None
    source = pattern.pattern
    if not isinstance(source, str) or _top_level_alternation(source):
        return None
    found = _HEAD.match(source)
    return found.group(1) if found else None


def _top_level_alternation(source: str) -> bool:
    depth, escaped, in_class = 0, False, False
    for char in source:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
    return False


async def _never_called(update: object, context: object) -> None:  # pragma: no cover - see handle_update
    raise AssertionError("ButtonRouter dispatches to the matched handler")


class ButtonRouter(BaseHandler[Update, CCT, Any]):
    """Stands for a run of ``CallbackQueryHandler``s; see the module docstring."""

    def __init__(self, handlers: list[CallbackQueryHandler[CCT, Any]]) -> None:
        super().__init__(_never_called)
        self.handlers = handlers
        heads = [literal_head(h) for h in handlers]
        unrouted = [h for h, head in zip(handlers, heads, strict=True) if head is None]
        self._unrouted = unrouted
        self._by_head: dict[str, list[CallbackQueryHandler[CCT, Any]]] = {
            head: [h for h, other in zip(handlers, heads, strict=True) if other in (head, None)]
            for head in {head for head in heads if head is not None}
        }

    def candidates(self, data: object) -> list[CallbackQueryHandler[CCT, Any]]:
        if not isinstance(data, str) or not data:
            return self.handlers  # games, empty or non-string data: every handler, as before
        return self._by_head.get(data.split(SEP, 1)[0], self._unrouted)

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
    return type(handler) is CallbackQueryHandler and handler.block is DEFAULT_TRUE


def route_buttons(handlers: list[BaseHandler[Any, Any, Any]]) -> list[BaseHandler[Any, Any, Any]]:
    """`handlers` with every contiguous run of ≥ 2 plain button handlers replaced by one router."""
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
