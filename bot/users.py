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
    """The one language resolution, and a cache of it (the database stays the source of truth).

    A user's language is their /language choice, else the Telegram `language_code` last seen
    (stored with the "last seen" write, so messages the bot sends on its own use it too), else
    the configured default.

    A user's choice is read at most once per process: with their first contact's "last seen"
    write (same trip, see `touch`), or on its own for someone who has not written since the start
    (e.g. a coordinator being notified); /language and erasure update the copy.
    """

    def __init__(self, repo: UserRepo, clock: Clock, default: Language) -> None:
        self._repo = repo
        self._clock = clock
        self._default = default
        self._chosen: dict[int, Language | None] = {}
        self._seen_language: dict[int, Language | None] = {}  # from Telegram's language_code
        self._touched: dict[int, object] = {}
        # "Last seen" writes of concurrent updates share one transaction (group commit).
        self._pending: dict[int, tuple[datetime, Language | None]] = {}
        self._touch_lock = asyncio.Lock()

    async def chosen_language(self, user_id: int) -> Language | None:
        """The language the user picked with /language, if any."""
        if user_id not in self._chosen:
            await self._load(user_id)
        return self._chosen[user_id]

    async def _load(self, user_id: int) -> None:
        stored = await self._repo.get(user_id)
        self._chosen[user_id] = _as_language(stored.language if stored else None)
        self._seen_language[user_id] = _as_language(stored.tg_language if stored else None)

    async def language(self, user_id: int, telegram_code: str | None = None) -> Language:
        """The user's language: their choice, else Telegram's (this update's or the last seen), else the default."""
        chosen = await self.chosen_language(user_id)
        if chosen is not None:
            return chosen
        if telegram_code:
            return normalise_language(telegram_code, self._default)
        if user_id not in self._seen_language:
            await self._load(user_id)
        return self._seen_language.get(user_id) or self._default

    async def set_language(self, user_id: int, language: Language) -> None:
        await self._repo.set_language(user_id, language, self._clock.now())
        self._chosen[user_id] = language

    def erased(self, user_id: int) -> None:
        """Forget what is kept in memory about a user whose data was erased elsewhere."""
        self._chosen.pop(user_id, None)
        self._seen_language.pop(user_id, None)
        self._touched.pop(user_id, None)
        self._pending.pop(user_id, None)

    async def touch(self, user_id: int, telegram_code: str | None = None) -> None:
        """Note that the user is active, and the language Telegram reports for them.

        Written at most every few minutes per user (at once when the language changed). Returns
        once the row is written. Touches arriving while one is being written are written
        together by the next one to get the lock: a burst of first contacts costs a few
        transactions instead of one each.
        """
        now = self._clock.now()
        seen = _telegram_language(telegram_code)
        last = self._touched.get(user_id)
        same_language = seen is None or self._seen_language.get(user_id) == seen
        if isinstance(last, type(now)) and now - last < _TOUCH_EVERY and same_language:
            return
        self._pending[user_id] = (now, seen)
        async with self._touch_lock:
            if user_id not in self._pending:
                return  # written by the batch before ours
            batch, self._pending = self._pending, {}
            languages = await self._repo.touch_many([(uid, at, lang) for uid, (at, lang) in batch.items()])
            self._touched.update((uid, at) for uid, (at, _) in batch.items())
            for touched, (chosen, seen_code) in languages.items():
                self._chosen.setdefault(touched, _as_language(chosen))
                self._seen_language[touched] = _as_language(seen_code)

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


def _telegram_language(code: str | None) -> Language | None:
    """Telegram's `language_code` as one of our languages; None when it names neither."""
    if not code:
        return None
    low = code.lower()
    if low.startswith("zh"):
        return "zh-Hans"
    if low.startswith("en"):
        return "en"
    return None
