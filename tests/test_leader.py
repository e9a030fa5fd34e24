"""Work elected through the database (bot/leader.py): one holder at a time; a holder that cannot
renew stops its work; a clean stop hands the lease over at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.leader import Leadership
from storage import leases
from storage.db import Database
from storage.migrations import migrate

FAST = {"ttl_s": 0.6, "renew_s": 0.1}


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def _hooks(events: list[str], name: str) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    async def gain() -> None:
        events.append(f"{name} gains")

    async def lose() -> None:
        events.append(f"{name} loses")

    return gain, lose


async def test_a_holder_that_cannot_renew_stops_its_work_and_a_standby_takes_over(
    fresh_database: Database,
) -> None:
    await migrate(fresh_database)
    events: list[str] = []
    first = Leadership(fresh_database, "work", holder="first", **FAST)
    second = Leadership(fresh_database, "work", holder="second", **FAST)
    first.start(*_hooks(events, "first"))
    await _until(lambda: first.held)
    second.start(*_hooks(events, "second"))
    await asyncio.sleep(0.3)  # several tries of the standby while the holder renews
    assert not second.held and events == ["first gains"]

    async def unreachable() -> bool:  # the holder's database goes away: it cannot renew
        return False

    first.try_hold = unreachable  # type: ignore[method-assign]
    await _until(lambda: second.held and not first.held)
    assert sorted(events) == ["first gains", "first loses", "second gains"]
    await second.stop()
    await first.stop()


async def test_a_clean_stop_releases_the_lease_for_the_standby(fresh_database: Database) -> None:
    await migrate(fresh_database)
    events: list[str] = []
    first = Leadership(fresh_database, "work", holder="first", ttl_s=60.0, renew_s=0.1)
    second = Leadership(fresh_database, "work", holder="second", ttl_s=60.0, renew_s=0.1)
    first.start(*_hooks(events, "first"))
    await _until(lambda: first.held)
    second.start(*_hooks(events, "second"))
    await first.stop()
    assert events == ["first gains", "first loses"]
    await _until(lambda: second.held)  # long before the 60 s lease would have expired
    async with fresh_database.transaction() as tx:
        assert not await leases.acquire(tx, "work", "third", datetime.now(UTC), timedelta(seconds=1))
    await second.stop()
