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

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.context import BotData
from storage.ptbstate import PtbStateRepo

UserData = dict[str, Any]
ChatData = dict[str, Any]


class SqlitePersistence(BasePersistence[UserData, ChatData, BotData]):
    """Stores conversations, user_data and chat_data rows; flushed after every update."""

    def __init__(self, repo: PtbStateRepo, now: Callable[[], datetime], update_interval: float = 1.0) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=True, callback_data=False),
            update_interval=update_interval,
        )
        self._repo = repo
        self._now = now

    async def get_user_data(self) -> dict[int, UserData]:
        return await self._repo.all_data("ptb_user_data")

    async def get_chat_data(self) -> dict[int, ChatData]:
        return await self._repo.all_data("ptb_chat_data")

    async def get_bot_data(self) -> BotData:
        raise NotImplementedError("bot data is not persisted")  # never called: store_data.bot_data=False

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        stored = await self._repo.conversations(name)
        return {tuple(json.loads(key)): state for key, state in stored.items()}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        await self._repo.set_conversation(name, json.dumps(list(key)), new_state, self._now())

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        await self._repo.set_data("ptb_user_data", user_id, data)

    async def update_chat_data(self, chat_id: int, data: ChatData) -> None:
        await self._repo.set_data("ptb_chat_data", chat_id, data)

    async def update_bot_data(self, data: BotData) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._repo.set_data("ptb_chat_data", chat_id, None)

    async def drop_user_data(self, user_id: int) -> None:
        await self._repo.set_data("ptb_user_data", user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: ChatData) -> None:
        return None

    async def refresh_bot_data(self, bot_data: BotData) -> None:
        return None

    async def flush(self) -> None:
        return None

