"""Coordinator side and durability of activities: scope, capacity, attendance, restarts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.activities_helpers import add_coordinator, add_group, draft, drain_outbox, member_user, owner_actor
from tests.conftest import OWNER_ID, StartBot


@pytest.fixture(autouse=True)
def no_flood_limits(tg: FakeTelegram) -> None:
    tg.set_rate_limits(False)


async def _publish(bot: BotRuntime, clock: FakeClock, **overrides: object) -> int:
    assert bot.services is not None
    result = await bot.services.activities.create(owner_actor(OWNER_ID), draft(clock.now(), **overrides))
    assert result.activity is not None
    await drain_outbox(bot)
    return result.activity.id


async def test_coordinator_outside_the_scope_cannot_open_the_roster(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    head = await add_group(bot.db, "Head")
    pudong = await add_group(bot.db, "Pudong", head)
    huamu = await add_group(bot.db, "Huamu", head)
    aid = await _publish(bot, clock, group_ids=(pudong,))
    other = tg.create_user("Other coordinator", language_code="en")
    await add_coordinator(bot.db, other.id, huamu)
    await other.send("/manage")
    menu = await other.next_message()
    assert "no upcoming" in (menu.text or "")
    forged = await other.press_data(menu, f"actm:cancel:{aid}")
    assert "not allowed" in ((await forged.answer()).text or "").lower()
    assert bot.services is not None
    a = await bot.services.activities.repo.get(aid)
    assert a is not None and a.status == "published"


async def test_raising_capacity_promotes_waiting_members_in_order(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    users = [await member_user(tg, bot.db, f"M{i}") for i in range(4)]
    aid = await _publish(bot, clock, capacity=1)
    for user in users:
        await (await user.press(await user.next_message(), "Sign up")).answer()
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send(f"/capacity {aid} 3")
    assert "Seats changed" in ((await owner.next_message()).text or "")
    rows = await bot.db.fetchall("SELECT status FROM activity_signups WHERE activity_id = ? ORDER BY id", (aid,))
    assert [r["status"] for r in rows] == ["confirmed", "confirmed", "confirmed", "waiting"]
    await owner.send(f"/capacity {aid} 1")
    assert "fewer seats" in ((await owner.next_message()).text or "")


async def test_attendance_marked_from_roster_and_no_shows_after_the_end(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    came = await member_user(tg, bot.db, "Came")
    absent = await member_user(tg, bot.db, "Absent")
    await _publish(bot, clock, capacity=5)
    for user in (came, absent):
        await (await user.press(await user.next_message(), "Sign up")).answer()
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    roster = await owner.next_message()
    await (await owner.press(roster, "Mark attendance")).answer()
    names = await owner.wait_for(lambda m: "Tap a name" in (m.text or ""))
    await (await owner.press(names, "Came")).answer()  # days before: check-in is not open, it asks (#17)
    ask = await owner.wait_for(lambda m: "not open" in (m.text or ""))
    assert "marked" in ((await (await owner.press(ask, "Mark attended anyway")).answer()).text or "").lower()
    clock.advance(timedelta(days=4))
    await owner.send("/manage")
    await owner.press(await owner.wait_for(lambda m: "Choose an activity" in (m.text or "")), "Reading club")
    final = await owner.wait_for(lambda m: "No-shows" in (m.text or ""))
    assert "Checked in (1): Came" in (final.text or "") and "No-shows (1): Absent" in (final.text or "")


async def test_reminder_due_while_down_is_sent_at_start_when_still_meaningful(
    tg: FakeTelegram, start_bot: StartBot, clock: FakeClock
) -> None:
    runtime = await start_bot()
    assert runtime.db is not None
    alice = await member_user(tg, runtime.db, "Alice")
    await _publish(runtime, clock)
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    await runtime.stop()
    clock.advance(timedelta(days=2, hours=1))  # the 1-day reminder fell due while down
    runtime = await start_bot()
    await drain_outbox(runtime)
    await alice.wait_for(lambda m: "Reminder" in (m.text or ""))
    assert runtime.db is not None
    assert await runtime.db.fetchval("SELECT COUNT(*) FROM outbox WHERE kind = 'act_rem'") == 1


async def test_half_finished_new_activity_survives_a_restart(
    tg: FakeTelegram, start_bot: StartBot, clock: FakeClock
) -> None:
    runtime = await start_bot()
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/newactivity")
    await owner.next_message()
    await owner.send("Forum")
    assert "start time" in ((await owner.next_message()).text or "")
    await runtime.stop()
    await start_bot()
    await owner.send("2026-12-05 14:00")
    assert "Start: Sat 5 Dec 14:00" in ((await owner.next_message()).text or "")


async def test_activities_list_is_paginated_with_own_status(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    for n in range(7):
        await _publish(
            bot,
            clock,
            title=f"Salon {n}",
            starts_at=clock.now() + timedelta(days=3, hours=n),
            ends_at=clock.now() + timedelta(days=3, hours=n + 1),
        )
    await alice.send("/activities")
    first = await alice.wait_for(lambda m: "Upcoming activities" in (m.text or ""))
    assert "Salon 0" in (first.text or "") and "Salon 5" not in (first.text or "")
    await (await alice.press(first, "Next »")).answer()
    second = await alice.wait_for(lambda m: m.message_id == first.message_id and "Salon 5" in (m.text or ""))
    assert "Not signed up" in (second.text or "")
