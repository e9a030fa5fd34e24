"""python-telegram-bot persistence backed by the project's database.

Conversation states and user/chat data live in SQLite, so a member half-way through a
conversation continues after a restart. Bot data and callback data are not persisted:
the bot keeps durable state in its own tables instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram.ext import Application, BasePersistence, ConversationHandler, PersistenceInput
from telegram.ext._utils.trackingdict import TrackingDict
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.context import BotData
from storage.ptbstate import PtbStateRepo

UserData = dict[str, Any]
ChatData = dict[str, Any]


def _canonical(data: dict[str, Any] | None) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str) if data else ""


class SqlitePersistence(BasePersistence[UserData, ChatData, BotData]):
    """Stores conversations, user_data and chat_data rows; flushed after every update.

    Only changes are written: after an update that changed nothing, flushing costs no write.
    """

    def __init__(self, repo: PtbStateRepo, now: Callable[[], datetime], update_interval: float = 1.0) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self._repo = repo
        self._now = now
        # What the database holds, so unchanged data is not written again after every update.
        self._written: dict[tuple[str, int], str] = {}
        self._states: dict[tuple[str, str], str] = {}

    async def get_user_data(self) -> dict[int, UserData]:
        return await self._load("ptb_user_data")

    async def get_chat_data(self) -> dict[int, ChatData]:
        return await self._load("ptb_chat_data")

    async def _load(self, table: str) -> dict[int, dict[str, Any]]:
        data = await self._repo.all_data(table)
        for ident, value in data.items():
            self._written[(table, ident)] = _canonical(value)
        return data

    async def _store(self, table: str, ident: int, data: dict[str, Any] | None) -> None:
        key = (table, ident)
        canonical = _canonical(data) if data else ""
        if self._written.get(key, "") == canonical:
            return
        await self._repo.set_data(table, ident, data or None)
        if canonical:
            self._written[key] = canonical
        else:
            self._written.pop(key, None)

    def holds_data_of(self, user_id: int | None, chat_id: int | None) -> bool:
        """Whether user_data of `user_id` or chat_data of `chat_id` is stored (or being written)."""
        return ("ptb_user_data", user_id) in self._written or ("ptb_chat_data", chat_id) in self._written

    async def get_bot_data(self) -> BotData:
        raise NotImplementedError("bot data is not persisted")  # never called: store_data.bot_data=False

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        stored = await self._repo.conversations(name)
        for key, state in stored.items():
            self._states[(name, key)] = json.dumps(state)
        return {tuple(json.loads(key)): state for key, state in stored.items()}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        conv_key = json.dumps(list(key))
        encoded = "" if new_state is None else json.dumps(new_state)
        if self._states.get((name, conv_key), "") == encoded:
            return
        await self._repo.set_conversation(name, conv_key, new_state, self._now())
        if encoded:
            self._states[(name, conv_key)] = encoded
        else:
            self._states.pop((name, conv_key), None)

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        await self._store("ptb_user_data", user_id, data)

    async def update_chat_data(self, chat_id: int, data: ChatData) -> None:
        await self._store("ptb_chat_data", chat_id, data)

    async def update_bot_data(self, data: BotData) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._repo.set_data("ptb_chat_data", chat_id, None)
        self._written.pop(("ptb_chat_data", chat_id), None)

    async def drop_user_data(self, user_id: int) -> None:
        await self._repo.set_data("ptb_user_data", user_id, None)
        self._written.pop(("ptb_user_data", user_id), None)

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: ChatData) -> None:
        return None

    async def refresh_bot_data(self, bot_data: BotData) -> None:
        return None

    async def flush(self) -> None:
        return None

    async def reload_chat(self, app: Application[Any, Any, UserData, ChatData, BotData, Any], ident: int) -> None:
        """Read back from the database everything PTB holds in memory about the user or chat `ident`:
        its conversations' states (python-telegram-bot #4452: a ConversationHandler reads them only
        at start), its user_data and chat_data.

        With several processes, a chat is handled by one process at a time; the process taking a
        chat over calls this first, since another process may have moved its conversations on.
        Nothing read here is marked as changed (nothing is written back because of it).
        """
        stored = await self._repo.conversations_of(ident)
        for handler in conversation_handlers(app):
            name = handler.name
            if name is None or not handler.persistent:
                continue
            conversations = handler._conversations  # private: PTB offers no per-key reload (#4452)
            for key in [k for k in conversations if ident in k]:
                if isinstance(conversations, TrackingDict):
                    conversations.data.pop(key, None)  # untracked: not a deletion to write back
                else:
                    conversations.pop(key, None)
                self._states.pop((name, json.dumps(list(key))), None)
            mine = {tuple(json.loads(k)): state for (n, k), state in stored.items() if n == name}
            if isinstance(conversations, TrackingDict):
                conversations.update_no_track(mine)
            else:
                conversations.update(mine)
            for key, state in mine.items():
                self._states[(name, json.dumps(list(key)))] = json.dumps(state)
        for table, data in (("ptb_user_data", app.user_data), ("ptb_chat_data", app.chat_data)):
            value = await self._repo.data_of(table, ident)
            if value is None and ident not in data:
                continue
            held = data[ident]  # a defaultdict behind the read-only view: created when missing
            held.clear()
            held.update(value or {})
            if value:
                self._written[(table, ident)] = _canonical(value)
            else:
                self._written.pop((table, ident), None)


def conversation_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> list[ConversationHandler[Any]]:
    """Every ConversationHandler registered, nested ones included."""
    found: list[ConversationHandler[Any]] = []
    pending: list[object] = [h for handlers in app.handlers.values() for h in handlers]
    while pending:
        handler = pending.pop()
        if isinstance(handler, ConversationHandler) and handler not in found:
            found.append(handler)
            pending.extend(handler._child_conversations)  # private: nested conversations
    return found

