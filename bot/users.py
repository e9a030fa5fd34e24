"""Language preference and reachability of the people who talk to the bot."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import LANGUAGES, Language
from bot.i18n import normalise_language
from storage.users import UserRepo

_TOUCH_EVERY = timedelta(minutes=10)


class UserService:
    """Keeps every chosen language in memory (the database stays the source of truth).

    The languages people picked with /language are loaded once, on first use, and every change
    goes through this service, so the copy stays complete: finding an update's language never
    costs a database trip (most people never pick one: Telegram's own language applies).
    """

    def __init__(self, repo: UserRepo, clock: Clock, default: Language) -> None:
        self._repo = repo
        self._clock = clock
        self._default = default
        self._chosen: dict[int, Language] | None = None
        self._load_lock = asyncio.Lock()
        self._touched: dict[int, object] = {}
        # "Last seen" writes of concurrent updates share one transaction (group commit).
        self._pending: dict[int, datetime] = {}
        self._touch_lock = asyncio.Lock()

    async def _languages(self) -> dict[int, Language]:
        chosen = self._chosen
        if chosen is None:
            async with self._load_lock:
                if self._chosen is None:
                    stored = await self._repo.chosen_languages()
                    self._chosen = {user_id: lang for user_id, code in stored if (lang := _as_language(code))}
                chosen = self._chosen
        return chosen

    async def language(self, user_id: int, telegram_code: str | None) -> Language:
        chosen = (await self._languages()).get(user_id)
        return chosen if chosen is not None else normalise_language(telegram_code, self._default)

    async def chosen_language(self, user_id: int) -> Language | None:
        """The language the user picked with /language, if any."""
        return (await self._languages()).get(user_id)

    async def set_language(self, user_id: int, language: Language) -> None:
        chosen = await self._languages()  # loaded before the write: the copy cannot miss it
        await self._repo.set_language(user_id, language, self._clock.now())
        chosen[user_id] = language

    def erased(self, user_id: int) -> None:
        """Forget what is kept in memory about a user whose data was erased elsewhere."""
        if self._chosen is not None:
            self._chosen.pop(user_id, None)
        self._touched.pop(user_id, None)
        self._pending.pop(user_id, None)

    async def touch(self, user_id: int) -> None:
        """Note that the user is active (written at most every few minutes per user).

        Returns once the row is written. Touches arriving while one is being written are
        written together by the next one to get the lock: a burst of first contacts costs a
        few transactions instead of one each.
        """
        now = self._clock.now()
        last = self._touched.get(user_id)
        if isinstance(last, type(now)) and now - last < _TOUCH_EVERY:
            return
        self._pending[user_id] = now
        async with self._touch_lock:
            if user_id not in self._pending:
                return  # written by the batch before ours
            batch, self._pending = self._pending, {}
            await self._repo.touch_many(list(batch.items()))
            self._touched.update(batch)

    async def mark_blocked(self, user_id: int) -> None:
        await self._repo.mark_blocked(user_id, self._clock.now())
        self._touched.pop(user_id, None)
        self._pending.pop(user_id, None)

    async def forget(self, user_id: int) -> None:
        await self._repo.forget(user_id)
        self.erased(user_id)


def _as_language(value: str | None) -> Language | None:
    for lang in LANGUAGES:
        if value == lang:
            return lang
    return None
