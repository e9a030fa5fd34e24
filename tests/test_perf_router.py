"""The button router (handlers/router.py) picks exactly the handler a plain scan would pick; after a
plain button the persistence flush is skipped only when nothing can have changed."""

import re
from datetime import UTC, datetime

import pytest
from telegram import CallbackQuery, Chat, Message, Update, User
from telegram.ext import Application, BaseHandler, CallbackQueryHandler

from bot.app import flush_persistence
from bot.callbacks import Button
from bot.context import Ctx
from bot.persistence import SqlitePersistence
from bot.runtime import BotRuntime
from handlers.buttons import on
from handlers.router import ButtonRouter, route_buttons


async def _noop(update: object, context: object) -> None:
    return None


def _press(data: str | None, update_id: int = 1) -> Update:
    message = Message(message_id=5, date=datetime(2026, 1, 1, tzinfo=UTC), chat=Chat(42, Chat.PRIVATE), text="x")
    query = CallbackQuery(
        id=str(update_id), from_user=User(42, "A", False), chat_instance="ci", data=data, message=message
    )
    return Update(update_id=update_id, callback_query=query)


def _winner(handlers: list[BaseHandler], update: Update) -> BaseHandler | None:
    for handler in handlers:
        check = handler.check_update(update)
        if check is None or check is False:
            continue
        if isinstance(handler, ButtonRouter):
            return check[0]
        return handler
    return None


def _flatten(handlers: list[BaseHandler]) -> list[BaseHandler]:
    out: list[BaseHandler] = []
    for handler in handlers:
        out.extend(handler.handlers if isinstance(handler, ButtonRouter) else [handler])
    return out


def test_router_finds_declared_buttons_by_key_in_registration_order() -> None:
    a1 = Button("ra", "one", register=False, n=int)
    a_any = Button("ra", "two", register=False, n=int)
    bare = Button("rb", register=False, n=int)
    first = on(a1, _noop)
    catch = CallbackQueryHandler(_noop, pattern=r"^.*:1$")  # undeclared: a candidate for every press
    second = on(a_any, _noop)
    other = on(bare, _noop)
    routed = route_buttons([first, catch, second, other])
    assert len(routed) == 1 and isinstance(routed[0], ButtonRouter)
    assert _winner(routed, _press("ra:one:1")) is first
    assert _winner(routed, _press("ra:two:1")) is catch  # registered before `second`: it wins, as in a scan
    assert _winner(routed, _press("ra:two:2")) is second
    assert _winner(routed, _press("rb:5")) is other
    assert _winner(routed, _press("rb:x")) is None  # malformed: no handler, the catch-all answers
    assert _winner(routed, _press("ra:one:²")) is None  # a non-ASCII digit is forged data
    assert _winner(routed, _press("zz")) is None


async def test_every_button_reaches_the_handler_a_plain_scan_would_pick(bot: BotRuntime) -> None:
    assert bot.app is not None
    routed = bot.app.handlers[0]
    plain = _flatten(routed)
    assert any(isinstance(h, ButtonRouter) for h in routed)
    assert sum(isinstance(h, CallbackQueryHandler) for h in plain) > sum(
        isinstance(h, CallbackQueryHandler) for h in routed
    )
    sign_up = _winner(routed, _press("act:su:1"))
    assert sign_up is not None and sign_up.callback.__name__ == "sign_up"
    samples = ["", "act", "act:su:1", "act:ci:3", "act:rt:1:5", "actl:2", "actm:r:1", "home", "noop", "lang:en",
               "grp:list", "grp:arch:1", "grpmv:1:2", "prof:fresh", "ntl:v:1", "ack:1", "fb:h:1", "fb:new",
               "fbq:1", "sv:go:1", "sv:r:1", "lg:h", "lg:s:1", "nte:1", "zzz:1", "home:x", "ACT:su:1"]
    prefixes = {h.pattern.pattern.lstrip("^").split(":")[0].split("$")[0]
                for h in plain if isinstance(h, CallbackQueryHandler) and isinstance(h.pattern, re.Pattern)}
    samples += [f"{p}:1:2" for p in prefixes] + [f"{p}:x" for p in prefixes] + sorted(prefixes)
    for i, data in enumerate(samples):
        update = _press(data, i + 1)
        assert _winner(routed, update) is _winner(plain, update), data


async def test_flush_after_a_plain_button_only_when_data_can_have_changed(
    bot: BotRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bot.app is not None
    app = bot.app
    calls: list[int] = []

    async def spy(self: Application) -> None:  # type: ignore[type-arg]
        calls.append(1)

    monkeypatch.setattr(Application, "update_persistence", spy)

    async def flushed(update: Update, plain: bool, data: dict[str, object] | None = None) -> bool:
        context = Ctx.from_update(update, app)
        context.plain_button = plain
        if data and context.user_data is not None:
            context.user_data.update(data)
        before = len(calls)
        await flush_persistence(update, context)
        return len(calls) > before

    assert not await flushed(_press("act:su:1", 1), plain=True)
    assert await flushed(_press("act:su:1", 2), plain=False)  # maybe a conversation step
    assert await flushed(_press("act:su:1", 3), plain=True, data={"draft": 1})
    app.user_data[42].clear()
    persistence = app.persistence
    assert isinstance(persistence, SqlitePersistence)
    await persistence.update_user_data(42, {"kept": True})  # stored earlier: a clear must be written
    assert await flushed(_press("act:su:1", 4), plain=True)
