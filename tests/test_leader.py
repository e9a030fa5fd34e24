"""Work elected through the database (bot/leader.py): one holder at a time; a holder that cannot
renew stops its work; a clean stop hands the lease over at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.leader import Leadership, Peers
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


# --- roles spread over the processes (Peers) ---------------------------------------------------------
ROLE_NAMES = ("pacer:t", "poller:t")


async def _process(db: Database, holder: str, events: list[str], roles: tuple[str, ...] = ROLE_NAMES,
                   grace_s: float = 2.0) -> tuple[Peers, dict[str, Leadership]]:
    """A 'process': its presence (Peers) and a Leadership per role, started."""
    peers = Peers(db, holder=holder, grace_s=grace_s, **FAST)
    await peers.start()
    held = {}
    for role in roles:
        held[role] = Leadership(db, role, peers=peers, **FAST)
        held[role].start(*_hooks(events, f"{holder} {role}"))
    return peers, held


async def _stop(peers: Peers, held: dict[str, Leadership]) -> None:
    for leadership in held.values():
        await leadership.stop()
    await peers.stop()


async def test_a_process_with_both_roles_hands_one_to_a_newcomer_and_a_lone_process_takes_both(
    fresh_database: Database,
) -> None:
    await migrate(fresh_database)
    events: list[str] = []
    a = await _process(fresh_database, "a", events)
    await _until(lambda: all(lead.held for lead in a[1].values()))  # alone: both roles
    b = await _process(fresh_database, "b", events)
    await _until(lambda: a[1]["pacer:t"].held and b[1]["poller:t"].held)  # the poller handed over
    await asyncio.sleep(0.5)  # several rounds: nothing moves any more
    assert a[1]["pacer:t"].held and not a[1]["poller:t"].held
    assert b[1]["poller:t"].held and not b[1]["pacer:t"].held
    assert events.count("a poller:t loses") == 1 and "b pacer:t gains" not in events
    await _stop(*b)
    await _until(lambda: all(lead.held for lead in a[1].values()))  # lone again: both
    await _stop(*a)


async def test_a_process_with_a_role_takes_a_second_after_the_grace_when_the_idle_peer_does_not(
    fresh_database: Database,
) -> None:
    await migrate(fresh_database)
    events: list[str] = []
    idle = Peers(fresh_database, holder="idle", **FAST)  # alive, but never tries for a role
    await idle.start()
    a = await _process(fresh_database, "a", events, roles=("pacer:t",), grace_s=3.0)
    await _until(lambda: a[1]["pacer:t"].held)
    poller = Leadership(fresh_database, "poller:t", peers=a[0], **FAST)
    poller.start(*_hooks(events, "a poller:t"))
    await asyncio.sleep(0.5)  # left to the idle peer for the grace (3 s from first seen free)
    assert not poller.held
    await _until(lambda: poller.held)
    await poller.stop()
    await _stop(*a)
    await idle.stop()
