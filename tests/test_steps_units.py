"""The step journal helper (handlers/steps.py) on its own: recording, durability, the guard's check."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from telegram import CallbackQuery, Chat, Message, MessageEntity, Update, User
from telegram.ext import CommandHandler

from handlers.steps import JOURNAL, Behind, Flow, journal_of

USER = User(id=7, first_name="Coord", is_bot=False)
CHAT = Chat(id=7, type=Chat.PRIVATE)


class RecordingPersistence:
    def __init__(self) -> None:
        self.writes: list[tuple[int, dict[str, Any]]] = []

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        self.writes.append((user_id, {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}))


def _context(user_data: dict[str, Any], persistence: RecordingPersistence) -> Any:
    return SimpleNamespace(user_data=user_data, application=SimpleNamespace(persistence=persistence))


def _text(text: str) -> Update:
    entities = [MessageEntity(MessageEntity.BOT_COMMAND, 0, len(text.split()[0]))] if text.startswith("/") else []
    message = Message(1, datetime.now(UTC), CHAT, from_user=USER, text=text, entities=entities)
    return Update(1, message=message)


def _press(data: str) -> Update:
    message = Message(2, datetime.now(UTC), CHAT, text="question")
    return Update(2, callback_query=CallbackQuery("q1", USER, "inst", message=message, data=data))


async def _noop(update: Update, context: Any) -> int:
    return 0


async def test_enter_records_the_state_and_writes_user_data_before_returning() -> None:
    flow = Flow("demo")
    persistence = RecordingPersistence()
    data: dict[str, Any] = {"draft": {"title": "Tea"}}
    assert await flow.enter(_text("Tea"), _context(data, persistence), 3) == 3
    assert journal_of(data, "demo") == 3
    assert persistence.writes == [(7, {"draft": {"title": "Tea"}, JOURNAL: {"demo": 3}})]


async def test_clear_removes_only_this_flows_entry() -> None:
    one, other = Flow("one"), Flow("other")
    data: dict[str, Any] = {}
    context = _context(data, RecordingPersistence())
    one.record(context, 1)
    other.record(context, 2)
    one.clear(context)
    assert data == {JOURNAL: {"other": 2}}
    other.clear(context)
    assert data == {}


def _guard(recorded: int | None, state: int = 1) -> Behind:
    flow = Flow("demo")
    flow.askers[2] = lambda update, context, s: _noop(update, context)
    user_data = {7: {JOURNAL: {"demo": recorded}}} if recorded is not None else {}
    app: Any = SimpleNamespace(user_data=user_data)
    return Behind(flow, app, state, [CommandHandler("cancel", _noop)])


def test_guard_catches_input_only_when_the_journal_is_ahead() -> None:
    assert _guard(2).check_update(_text("2026-12-05 14:00"))
    assert _guard(2).check_update(_press("x:1"))
    assert not _guard(1).check_update(_text("in step"))  # journal agrees with the state
    assert not _guard(None).check_update(_text("no journal"))
    assert not _guard(5).check_update(_text("no asker for 5"))


def test_guard_lets_commands_and_fallbacks_through() -> None:
    assert not _guard(2).check_update(_text("/cancel"))
    assert not _guard(2).check_update(_text("/help"))
