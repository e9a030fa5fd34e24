"""The delivery engine against the sandbox: blocked users, 429s, restarts, group migration, pacing."""

from __future__ import annotations

import asyncio

from bot.clock import FakeClock
from bot.delivery import DeliveryService
from bot.i18n import Catalog
from bot.notices import Draft, Segment
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from storage.outbox import Counts, OutboxRepo
from tests.conftest import OWNER_ID, StartBot
from tests.notices_helpers import add_group, db_of, members, outbox_rows

CATALOG = Catalog.load()


async def _send(bot: BotRuntime, text: str, *, groups: bool = False, paid: bool = False) -> int:
    services = bot.services
    assert services is not None
    who = await services.roles.actor(OWNER_ID)
    draft = Draft(text, Segment(everyone=True), post_to_groups=groups, paid=paid)
    created = await services.notices.create(who, draft, "en")
    return created.notice_id


async def _settled(bot: BotRuntime, kind: str, ref_id: int, timeout: float = 20.0) -> list[tuple[int, str, int]]:
    db = db_of(bot)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await outbox_rows(db, kind, ref_id)
        if rows and all(status not in ("pending", "sending") for _, status, _ in rows):
            return rows
        assert loop.time() < deadline, f"deliveries not settled: {rows}"
        await asyncio.sleep(0.05)


async def test_blocked_member_is_marked_unreachable_and_skipped_next_time(tg: FakeTelegram, bot: BotRuntime) -> None:
    db = db_of(bot)
    group = await add_group(db, "浦东新联会")
    people = await members(tg, db, 3, [group])
    people[1].block_bot()
    first = await _send(bot, "First")
    rows = await _settled(bot, "notice", first)
    assert sorted(status for _, status, _ in rows) == ["blocked", "sent", "sent"]
    assert await db.fetchval("SELECT unreachable_at FROM members WHERE user_id = ?", (people[1].id,)) is not None
    assert await db.fetchval("SELECT blocked_at FROM bot_users WHERE user_id = ?", (people[1].id,)) is not None
    second = await _send(bot, "Second")
    rows = await _settled(bot, "notice", second)
    assert {chat for chat, _, _ in rows} == {people[0].id, people[2].id}
    assert tg.counters.validation_errors.count(("sendMessage", "Forbidden: bot was blocked by the user")) <= 1


async def test_talking_to_the_bot_again_makes_a_member_reachable(tg: FakeTelegram, bot: BotRuntime) -> None:
    db = db_of(bot)
    group = await add_group(db, "浦东新联会")
    people = await members(tg, db, 1, [group])
    people[0].block_bot()
    await _settled(bot, "notice", await _send(bot, "One"))
    await people[0].send("/start")  # unblocks and talks to the bot
    await people[0].next_message()
    rows = await _settled(bot, "notice", await _send(bot, "Two"))
    assert rows == [(people[0].id, "sent", 1)]


async def test_rate_limit_429_is_waited_out_with_no_loss(tg: FakeTelegram, bot: BotRuntime) -> None:
    db = db_of(bot)
    group = await add_group(db, "浦东新联会")
    people = await members(tg, db, 14, [group])
    tg.set_rate_limits(True, global_per_s=8)  # far below what the engine paces for: forces 429s
    notice = await _send(bot, "Under pressure")
    rows = await _settled(bot, "notice", notice, timeout=30)
    assert all(status == "sent" for _, status, _ in rows) and len(rows) == 14
    assert tg.counters.http_429 >= 1
    for person in people:
        assert sum(m.text == "Under pressure" for m in person.inbox) == 1


async def test_injected_429s_are_retried_after_retry_after(tg: FakeTelegram, bot: BotRuntime) -> None:
    db = db_of(bot)
    group = await add_group(db, "浦东新联会")
    people = await members(tg, db, 6, [group])
    tg.set_faults(rate_429=0.3, seed=3)
    notice = await _send(bot, "Flaky")
    rows = await _settled(bot, "notice", notice, timeout=30)
    tg.set_faults()
    assert [status for _, status, _ in rows] == ["sent"] * 6
    assert all(sum(m.text == "Flaky" for m in p.inbox) == 1 for p in people)


async def test_a_429_halt_claims_nothing_until_it_ends(tg: FakeTelegram, bot: BotRuntime) -> None:
    """While a 429's retry_after runs, the worker neither claims nor releases rows: it used to
    claim a batch and release it again in a tight loop, the single writer busy the whole halt."""
    db = db_of(bot)
    group = await add_group(db, "浦东新联会")
    people = await members(tg, db, 200, [group])
    tg.inject_429("sendMessage", retry_after=4)
    # a paid broadcast: sends are not paced apart, the worker is between batches when the 429 comes
    notice = await _send(bot, "Halted", paid=True)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while tg.counters.http_429 < 1:
        assert loop.time() < deadline, "no 429 was answered"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # the answers in flight at the 429 are recorded
    writes = db.writes
    await asyncio.sleep(2.0)  # well inside the 4 s halt
    assert db.writes - writes <= 3, f"{db.writes - writes} writes during the halt"
    rows = await _settled(bot, "notice", notice, timeout=30)
    assert [status for _, status, _ in rows] == ["sent"] * 200
    assert all(sum(m.text == "Halted" for m in p.inbox) == 1 for p in people)


async def test_an_outage_of_telegram_pauses_the_broadcast_and_fails_no_one(tg: FakeTelegram, bot: BotRuntime) -> None:
    """Telegram refusing connections for 12 s (longer than a row's five attempts last) mid-broadcast:
    sending pauses and resumes; no recipient is marked failed, none gets the notice twice."""
    db = db_of(bot)
    group = await add_group(db, "浦东新联会")
    people = await members(tg, db, 300, [group])
    tg.set_faults(latency_s=0.01)
    notice = await _send(bot, "Through an outage")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while sum(1 for p in people if p.inbox) < 20:
        assert loop.time() < deadline, "the broadcast did not start"
        await asyncio.sleep(0.02)
    await tg.stop()  # connections refused from now on
    await asyncio.sleep(12)
    await tg.start()  # same port, same world
    rows = await _settled(bot, "notice", notice, timeout=90)
    tg.set_faults()
    statuses = [status for _, status, _ in rows]
    assert "failed" not in statuses, statuses
    assert statuses.count("unknown") <= 64  # only what was in flight at the cut
    assert statuses.count("sent") + statuses.count("unknown") == 300
    assert all(sum(m.text == "Through an outage" for m in p.inbox) <= 1 for p in people)


async def test_server_errors_are_retried_with_backoff(tg: FakeTelegram, bot: BotRuntime) -> None:
    db = db_of(bot)
    group = await add_group(db, "浦东新联会")
    await members(tg, db, 5, [group])
    tg.set_faults(error_rate=0.4, seed=5)
    notice = await _send(bot, "Eventually")
    rows = await _settled(bot, "notice", notice, timeout=30)
    tg.set_faults()
    assert [status for _, status, _ in rows] == ["sent"] * 5


async def test_restart_mid_broadcast_delivers_each_recipient_once(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot()
    db = db_of(runtime)
    group = await add_group(db, "浦东新联会")
    people = await members(tg, db, 40, [group])
    tg.set_faults(latency_s=0.05)
    notice = await _send(runtime, "Survives restarts")
    await asyncio.sleep(0.6)
    await runtime.stop()
    sent_before = await db_of_path_count(runtime, tg, people)
    assert 0 < sent_before < 40, "the stop happened mid-broadcast"
    tg.set_faults()
    second = await start_bot()
    rows = await _settled(second, "notice", notice)
    assert len(rows) == 40
    unknown = [chat for chat, status, _ in rows if status == "unknown"]
    for person in people:
        got = sum(m.text == "Survives restarts" for m in person.inbox)
        assert got == 1 or (got == 0 and person.id in unknown)


async def db_of_path_count(runtime: BotRuntime, tg: FakeTelegram, people: list) -> int:  # type: ignore[type-arg]
    return sum(1 for p in people if any(m.text == "Survives restarts" for m in p.inbox))


async def test_after_a_crash_claimed_and_in_flight_rows_are_sent(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot()
    db = db_of(runtime)
    group = await add_group(db, "浦东新联会")
    people = await members(tg, db, 2, [group])
    await runtime.stop()
    from storage.backend import open_database
    from storage.outbox import OutgoingMessage, enqueue

    raw = await open_database(runtime.settings)
    try:
        async with raw.transaction() as tx:
            await enqueue(tx, [OutgoingMessage("notice", 77, people[0].id, "in flight"),
                               OutgoingMessage("notice", 77, people[1].id, "only claimed")], runtime.clock.now())
            # what a kill leaves: one request was out (attempted), the other row only claimed
            await tx.execute("UPDATE outbox SET status = 'sending', attempts = 1, attempted_at = created_at"
                             " WHERE chat_id = ?", (people[0].id,))
            await tx.execute("UPDATE outbox SET status = 'sending', attempts = 1 WHERE chat_id = ?", (people[1].id,))
    finally:
        await raw.close()
    second = await start_bot()
    await people[0].wait_for(lambda m: m.text == "in flight")
    await people[1].wait_for(lambda m: m.text == "only claimed")
    for _ in range(100):
        rows = await outbox_rows(db_of(second), "notice", 77)
        if all(status == "sent" for _, status, _ in rows):
            break
        await asyncio.sleep(0.05)
    assert [(status, attempts) for _, status, attempts in rows] == [("sent", 2), ("sent", 1)]
    counts = await OutboxRepo(db_of(second)).counts("notice", 77)
    assert counts.resent == 1  # the in-flight one may have reached its member twice; the report says so


async def test_group_posting_follows_a_migration_to_supergroup(tg: FakeTelegram, bot: BotRuntime) -> None:
    db = db_of(bot)
    group = await add_group(db, "浦东新联会")
    people = await members(tg, db, 1, [group])
    chat = tg.create_group("新媒体从业人员联谊会", [people[0]])
    for _ in range(100):
        if await db.fetchval("SELECT COUNT(*) FROM group_chats"):
            break
        await asyncio.sleep(0.05)
    # The bot has not seen the migration service message yet: its first send gets migrate_to_chat_id.
    tg.world.updates.clear()
    new = chat.migrate_to_supergroup()
    tg.world.updates.clear()
    notice = await _send(bot, "To the supergroup", groups=True)
    rows = await _settled(bot, "notice_group", notice)
    assert rows == [(new.id, "sent", 1)]
    await new.wait_for(lambda m: m.text == "To the supergroup")


async def test_broadcast_over_a_jittery_network_never_hits_the_flood_limit(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    db = db_of(bot)
    group = await add_group(db, "浦东新联会")
    people = await members(tg, db, 70, [group])
    # A fifth of the requests reach the server's flood counter 150 ms late: an evenly spaced
    # sender would put 31 arrivals in one second here.
    tg.set_faults(delay_rate=0.2, delay_s=0.15, seed=11)
    notice = await _send(bot, "Steady")
    rows = await _settled(bot, "notice", notice, timeout=30)
    tg.set_faults()
    assert [status for _, status, _ in rows] == ["sent"] * 70
    assert tg.counters.http_429 == 0
    assert all(sum(m.text == "Steady" for m in p.inbox) == 1 for p in people)


def test_the_report_says_when_a_restart_may_have_duplicated_messages() -> None:
    service = DeliveryService(None, FakeClock(), CATALOG)  # type: ignore[arg-type]  # texts only
    text = service._report_text("en", 7, Counts(sent=10, resent=2), scheduled=False)
    assert "10 sent" in text and "2 message(s) were sent again" in text
    assert "sent again" not in service._report_text("en", 7, Counts(sent=10), scheduled=False)
