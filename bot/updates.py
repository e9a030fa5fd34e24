"""Update processing: different users concurrently, one user's updates in order."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)


def ordering_key(update: object) -> int | None:
    """Updates with the same key are processed one after another, in arrival order."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Runs updates of different users concurrently and each user's updates sequentially.

    Conversations stay correct (a user's second message never overtakes the first) while
    a slow user or a slow network round trip does not hold up everyone else. Locks are
    FIFO, and tasks are created in arrival order, so per-user order is preserved.

    An update waiting for its user's turn still holds one of the concurrent-update slots, so
    one user may have at most `max_queued_per_user` updates queued: a flood beyond that is
    dropped here (the flood guard would refuse it anyway) instead of taking every slot and
    stalling everyone else.
    """

    def __init__(self, max_concurrent_updates: int = 256, max_queued_per_user: int = 32) -> None:
        super().__init__(max_concurrent_updates)
        self.max_queued_per_user = max_queued_per_user
        self.dropped = 0
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        if key is None:
            await coroutine
            return
        if self._waiting.get(key, 0) >= self.max_queued_per_user:
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # never started: nothing to clean up
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("dropping updates of chat %s: %d already queued", key, self.max_queued_per_user)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
