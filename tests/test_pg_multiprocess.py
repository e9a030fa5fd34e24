"""PostgreSQL-specific: several bot processes on one database (issue 19).

Two runtimes in this process, each with its own connection pool (so its own server sessions, as
two processes have), share one PostgreSQL database; the tests that need a process to die run the
bot as child processes (tests/multiproc_helpers.py) and SIGKILL one. Skipped on SQLite, which
serves one process.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.notices import Recurrence, Segment
from bot.notices.models import NewNotice
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from storage import notices as store
from storage.db import Database
from storage.timefmt import to_db
from tests.conftest import OWNER_ID, open_test_database
from tests.multiproc_helpers import PACER, POLLER, BotGroup
from tests.reliability_helpers import compose_notice, registration_user, seed_group, seed_member

NOTICES = 12
RECIPIENTS = 90
BROADCAST = "Two processes, one pacer"
POLLING = "receiving updates by long polling"
BURST_USERS = 12
BURST_EACH = 6


@pytest.fixture
async def pg_db(database_url: str | None, tmp_path: Path) -> AsyncIterator[Database]:
    if database_url is None:
        pytest.skip("PostgreSQL only: several processes share one server database")
    db = await open_test_database(database_url, tmp_path / "unused.db")
    yield db
    await db.close()


async def _two_runtimes(settings: Settings, clock: FakeClock) -> list[BotRuntime]:
    runtimes = [BotRuntime(settings, clock=clock, token="7000000:sandbox") for _ in range(2)]
    await asyncio.gather(*(r.start(polling=False) for r in runtimes))
    return runtimes


async def test_pg_due_notices_fire_once_across_two_processes(
    pg_db: Database, settings: Settings, clock: FakeClock
) -> None:
    head = await seed_group(pg_db, "浦东新联总会")
    for i in range(5):
        await seed_member(pg_db, 7100 + i, name=f"Reader {i}", group_id=head)
    segment = Segment(group_ids=(head,)).to_json()
    due = clock.now() + timedelta(hours=1)
    ids = []
    async with pg_db.transaction() as tx:
        for i in range(NOTICES):
            recurring = i == 0
            ids.append(await store.insert(tx, NewNotice(
                author_user_id=OWNER_ID, author_lang="en", text=f"Due once #{i}", attachment=None, segment=segment,
                post_to_groups=False, paid=False, urgent=True, status="recurring" if recurring else "scheduled",
                recurrence=Recurrence("weekly", due.time(), weekdays=(due.weekday(),)).to_json() if recurring else None,
                next_due_at=due, until_at=due + timedelta(days=60) if recurring else None), clock.now()))
    runtimes = await _two_runtimes(settings, clock)
    try:
        clock.advance(timedelta(hours=2))
        # both processes' schedulers wake at the same moment, several times over
        reports = await asyncio.gather(*(r.services.notices.run_due() for r in runtimes for _ in range(3)
                                         if r.services is not None))
    finally:
        for runtime in runtimes:
            await runtime.stop()
    fired = Counter(notice_id for report in reports for notice_id in report.fired)
    assert sum(fired.values()) == NOTICES, fired
    assert all(count == 1 for count in fired.values()), fired
    children = await pg_db.fetchval("SELECT COUNT(*) FROM notices WHERE parent_id = ?", (ids[0],))
    assert children == 1
    rows = await pg_db.fetchall(
        "SELECT ref_id, COUNT(*) AS n FROM outbox WHERE kind = 'notice' GROUP BY ref_id")
    assert len(rows) == NOTICES and {int(r["n"]) for r in rows} == {5}


async def _settled(group: BotGroup, kind: str, timeout: float = 60.0) -> Counter[str]:
    """The outbox statuses of `kind` once none is pending or being sent (or at the timeout)."""
    assert group.db is not None
    deadline = time.monotonic() + timeout
    while True:
        statuses = Counter(str(r["status"]) for r in await group.db.fetchall(
            "SELECT status FROM outbox WHERE kind = ?", (kind,)))
        if not (statuses["pending"] or statuses["sending"]) or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.1)


@pytest.fixture
def pg_url(database_url: str | None) -> str:
    if database_url is None:
        pytest.skip("PostgreSQL only: several processes share one server database")
    return database_url


async def test_pg_standby_takes_the_long_poll_over_when_the_poller_is_killed(
    tg: FakeTelegram, pg_url: str, tmp_path: Path
) -> None:
    async with BotGroup(tg, tmp_path, pg_url, processes=2) as group:
        poller = (await group.spread())[POLLER]
        standby = next(p for p in group.procs if p is not poller)
        assert "stopped long polling" in standby.log_tail(100_000), "it handed the poller over"
        assert await group.holder(POLLER) is poller
        user = tg.create_user("Standby Sun", language_code="en")
        await user.send("/start")
        assert "Standby Sun" in ((await user.next_message(15)).text or "")
        killed = time.monotonic()
        await group.kill(poller)
        seconds = await group.takeover(POLLER, poller, killed)
        print(f"long poller taken over {seconds:.2f} s after the SIGKILL")
        await user.send("/help")
        assert (await user.next_message(30)).text, "the standby answers once it polls"
        assert POLLING in standby.log_tail(100_000)


async def test_pg_pacer_is_taken_over_after_a_kill_mid_broadcast_and_every_recipient_gets_the_notice(
    tg: FakeTelegram, pg_url: str, tmp_path: Path
) -> None:
    db = await open_test_database(pg_url, tmp_path / "unused.db")
    try:
        head = await seed_group(db, "浦东新联总会")
        readers = []
        for i in range(RECIPIENTS):
            person = tg.create_user(f"Reader {i}", language_code="en")
            person.state.started = True
            await seed_member(db, person.id, name=f"Reader {i}", group_id=head)
            readers.append(person)
    finally:
        await db.close()
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    owner.state.started = True
    async with BotGroup(tg, tmp_path, pg_url, processes=2) as group:
        pacer = await group.wait_holder(PACER)
        control = await compose_notice(owner, BROADCAST)
        await owner.press(control, "Send now")
        while sum(BROADCAST in (m.text or "") for r in readers for m in r.inbox) < RECIPIENTS // 4:
            await asyncio.sleep(0.02)
        killed = time.monotonic()
        in_flight = await group.kill(pacer)
        seconds = await group.takeover(PACER, pacer, killed)
        print(f"pacer taken over {seconds:.2f} s after the SIGKILL; {in_flight} sends were in flight")
        statuses = await _settled(group, "notice")
    copies = [sum(BROADCAST in (m.text or "") for m in r.inbox) for r in readers]
    assert statuses == {"sent": RECIPIENTS}, statuses
    assert min(copies) == 1, "every recipient got the notice"
    assert sum(copies) - RECIPIENTS <= in_flight, (copies, in_flight)


async def _updates_settled(group: BotGroup, timeout: float = 60.0) -> None:
    """Until Telegram has delivered every update and none recorded is waiting or being handled."""
    assert group.db is not None
    deadline = time.monotonic() + timeout
    while group.tg.world.updates or await group.db.fetchval(
            "SELECT COUNT(*) FROM inbound_updates WHERE state IN ('pending', 'taken')"):
        assert time.monotonic() < deadline, "updates left unhandled"
        await asyncio.sleep(0.1)


async def _seed_head(url: str, tmp_path: Path) -> None:
    db = await open_test_database(url, tmp_path / "unused.db")
    try:
        await seed_group(db, "浦东新联总会")
    finally:
        await db.close()


async def _register(user: Any, name: str, group: str) -> Any:
    """Walk the sign-up strictly: each answer only once its question is on screen."""
    flow = registration_user(user, name, group)
    await user.send(flow.start)
    for prompt, action, argument in flow.rules:
        asked = await user.wait_for(lambda m, p=prompt: p in (m.text or ""), 15)
        if action == "send":
            await user.send(argument)
        elif action == "contact":
            await user.press_reply_button(argument)
        elif action == "press":
            await user.press(asked, argument)
        else:  # choose: tick the group, then Done
            await user.press(asked, lambda b, a=argument: a in b["text"])
            ticked = await user.wait_for(
                lambda m, i=asked.message_id: m.message_id == i and any("✅" in b for b in m.buttons), 15)
            await user.press(ticked, "Done")
    return await user.wait_for(lambda m: flow.done in (m.text or ""), 15)


async def test_pg_a_conversation_carries_on_when_its_updates_reach_alternate_processes(
    tg: FakeTelegram, pg_url: str, tmp_path: Path
) -> None:
    """python-telegram-bot keeps conversation states in memory (#4452): each step of this sign-up
    reaches the other process (round robin), which must read the state back before handling it."""
    await _seed_head(pg_url, tmp_path)
    async with BotGroup(tg, tmp_path, pg_url, processes=2, webhook=True) as group:
        user = tg.create_user("Newcomer Alt", language_code="en")
        done = await _register(user, "Newcomer Alt", "浦东新联总会")
        assert group.proxy is not None and group.db is not None
        await _updates_settled(group)
        received = group.proxy.received
        bodies = [str(r["body"]) for r in await group.db.fetchall(
            "SELECT body FROM inbound_updates ORDER BY update_id")]
        states = Counter(str(r[0]) for r in await group.db.fetchall("SELECT state FROM inbound_updates"))
        name = await group.db.fetchval("SELECT name FROM members WHERE user_id = ?", (user.id,))
    assert "You are registered" in (done.text or "")
    assert sum('"/start"' in body for body in bodies) == 1, "the sign-up never had to start again"
    assert min(received) >= len(bodies) // 2, received  # every other step reached the other process
    assert name == "Newcomer Alt"
    assert states == {"done": len(bodies)}, states


async def test_pg_webhook_updates_are_handled_once_when_a_receiving_process_is_killed(
    tg: FakeTelegram, pg_url: str, tmp_path: Path
) -> None:
    users = [tg.create_user(f"Burst {i}", language_code="en") for i in range(BURST_USERS)]
    async with BotGroup(tg, tmp_path, pg_url, processes=2, webhook=True) as group:
        for user in users:
            await user.send("/start")
        victim = group.procs[0]

        async def talk(user: Any) -> None:
            for _ in range(BURST_EACH):
                await user.send("/help")
                await asyncio.sleep(0.05)

        talking = asyncio.gather(*(talk(u) for u in users))
        await asyncio.sleep(0.4)
        await group.kill(victim)
        await talking
        assert group.db is not None
        await _updates_settled(group)
        rows = await group.db.fetchall("SELECT chat_key, state FROM inbound_updates")
    handled = Counter(int(r["chat_key"]) for r in rows if r["state"] == "done")
    abandoned = Counter(int(r["chat_key"]) for r in rows if r["state"] == "abandoned")
    assert len(rows) == BURST_USERS * (BURST_EACH + 1), "every update was recorded once"
    for user in users:
        answered = len(user.messages)
        # one answer per handled update; an update the killed process was handling may or may not
        # have been answered, and is never handled again
        assert handled[user.id] <= answered <= handled[user.id] + abandoned[user.id], (user.id, answered)
    print(f"webhook burst: {sum(handled.values())} handled, {sum(abandoned.values())} abandoned at the kill")


async def test_pg_a_process_starting_beside_the_pacer_leaves_its_sends_in_flight_alone(
    pg_db: Database, settings: Settings, clock: FakeClock
) -> None:
    """The outbox recovery runs when a process takes the pacer over, not at every start: a second
    process starting must not put the live pacer's in-flight sends back (it would send them twice)."""
    first = BotRuntime(settings, clock=clock, token="7000000:sandbox")
    await first.start(polling=False)
    second = BotRuntime(settings, clock=clock, token="7000000:sandbox")
    try:
        assert first.services is not None
        delivery = first.services.delivery
        while delivery.leadership is None or not delivery.leadership.held:  # it takes the pacer lease at once
            await asyncio.sleep(0.02)
        async with pg_db.transaction() as tx:  # the first process's sends in flight
            for chat in range(3):
                await tx.execute(
                    "INSERT INTO outbox (kind, ref_id, chat_id, text, status, attempts, attempted_at, created_at,"
                    " not_before) VALUES ('notice', 1, ?, 'in flight', 'sending', 1, ?, ?, ?)",
                    (8100 + chat, *[to_db(clock.now())] * 3))
        await second.start(polling=False)
        assert second.services is not None
        standby = second.services.delivery
        while standby.leadership is None:  # its worker starts (standing by) just after the start-up
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        rows = await pg_db.fetchall("SELECT status, resent FROM outbox WHERE text = 'in flight'")
        assert [(r["status"], r["resent"]) for r in rows] == [("sending", 0)] * 3
        assert not standby.leadership.held
    finally:
        await second.stop()
        await first.stop()


# --- the roles spread over the processes (bot/leader.py Peers) ---------------------------------------
async def test_pg_a_lone_process_holds_both_roles(tg: FakeTelegram, pg_url: str, tmp_path: Path) -> None:
    async with BotGroup(tg, tmp_path, pg_url, processes=1) as group:
        roles = await group.wait_roles(lambda roles: True, "a lone process takes every role")
        assert roles[POLLER] is roles[PACER] is group.procs[0]
        user = tg.create_user("Lone Lu", language_code="en")
        await user.send("/start")
        assert "Lone Lu" in ((await user.next_message(15)).text or "")


@pytest.mark.parametrize(("together", "victim"), [(False, POLLER), (True, PACER)],
                         ids=["one-after-another-kill-poller", "together-kill-pacer"])
async def test_pg_roles_go_to_different_processes_and_the_survivor_of_a_kill_holds_both(
    tg: FakeTelegram, pg_url: str, tmp_path: Path, together: bool, victim: str
) -> None:
    """Started one after another (the first takes both roles and hands one over) or together, the
    two processes end up with one role each; killing either leaves the survivor holding both."""
    group = BotGroup(tg, tmp_path, pg_url, processes=2)
    await group.prepare()
    try:
        await group.start_all(together=together)
        roles = await group.spread()
        assert {roles[POLLER], roles[PACER]} == set(group.procs)
        user = tg.create_user("Spread Su", language_code="en")
        await user.send("/start")
        assert "Spread Su" in ((await user.next_message(15)).text or "")
        killed_proc = roles[victim]
        survivor = next(p for p in group.procs if p is not killed_proc)
        killed = time.monotonic()
        await group.kill(killed_proc)
        await group.wait_roles(lambda roles: roles[POLLER] is roles[PACER] is survivor,
                               "the survivor holds both roles")
        print(f"{victim} taken over by the survivor {time.monotonic() - killed:.2f} s after the SIGKILL")
        await user.send("/help")
        assert (await user.next_message(30)).text, "the survivor answers"
    finally:
        await group.close()
