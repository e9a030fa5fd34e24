"""Guided activity edit (Edit button -> field -> value -> confirm) and roster paging, end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from storage.db import Database
from tests.activities_helpers import (
    add_coordinator,
    add_group,
    add_member,
    draft,
    drain_outbox,
    member_user,
    owner_actor,
)
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


def _text(message: SandboxMessage) -> str:
    return message.text or ""


async def _roster(coordinator: SandboxUser, title: str = "Reading club") -> SandboxMessage:
    await coordinator.send("/manage")
    await coordinator.press(await coordinator.next_message(), title)
    return await coordinator.next_message()


async def _ask(coordinator: SandboxUser, field: str) -> SandboxMessage:
    """Open the roster, press Edit, then the field's button; returns the prompt (same message)."""
    roster = await _roster(coordinator)
    await (await coordinator.press(roster, "✏️ Edit")).answer()
    menu = await coordinator.wait_for(
        lambda m: m.message_id == roster.message_id and "What do you want to change" in _text(m)
    )
    await (await coordinator.press(menu, field)).answer()
    return await coordinator.wait_for(lambda m: m.message_id == roster.message_id and "Send the new" in _text(m))


async def _save(coordinator: SandboxUser, preview: SandboxMessage) -> SandboxMessage:
    await (await coordinator.press(preview, "✅ Save")).answer()
    return await coordinator.wait_for(lambda m: m.message_id == preview.message_id and "Save this" not in _text(m))


async def _activity(db: Database, aid: int) -> dict[str, object]:
    row = await db.fetchone("SELECT * FROM activities WHERE id = ?", (aid,))
    assert row is not None
    return dict(row)


def _owner(tg: FakeTelegram) -> SandboxUser:
    return tg.create_user("Owner", language_code="en", user_id=OWNER_ID)


async def test_guided_title_edit_refuses_overlong_text_then_saves(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    aid = await _publish(bot, clock)
    owner = _owner(tg)
    prompt = await _ask(owner, "Title")
    assert "Current title: Reading club" in _text(prompt)
    await owner.send("x" * 121)
    assert "at most 120 characters" in _text(await owner.next_message())
    await owner.send("Book <club> & tea")
    preview = await owner.next_message()
    assert "Reading club → Book <club> & tea" in _text(preview)
    done = await _save(owner, preview)
    assert "Changed; 0 signed-up members" in _text(done) and "Book <club> & tea" in _text(done)
    assert (await _activity(bot.db, aid))["title"] == "Book <club> & tea"


async def test_guided_start_edit_refuses_past_time_keeps_duration_and_tells_members(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    aid = await _publish(bot, clock)
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    owner = _owner(tg)
    await _ask(owner, "Start time")
    await owner.send("2026-11-01 10:00")
    assert "in the past" in _text(await owner.next_message())
    await owner.send("not a date")
    assert "can't read that time" in _text(await owner.next_message())
    await owner.send("2026-12-05 14:00")
    preview = await owner.next_message()
    assert "2026-12-05 14:00 – 2026-12-05 16:00" in _text(preview)
    assert "1 signed-up member" in _text(await _save(owner, preview))
    row = await _activity(bot.db, aid)
    assert row["starts_at"] == "2026-12-05T06:00:00.000000Z" and row["ends_at"] == "2026-12-05T08:00:00.000000Z"
    await drain_outbox(bot)
    changed = await alice.wait_for(lambda m: "Activity changed" in _text(m))
    assert "(Start time, End time)" in _text(changed) and "Sat 5 Dec 14:00–16:00" in _text(
        changed
    )  # one date, weekday shown (#17)
    audit = await bot.db.fetchone("SELECT actor_user_id, details FROM audit_log WHERE action = 'activity.edit'")
    assert audit is not None and audit["actor_user_id"] == OWNER_ID
    assert json.loads(audit["details"])["fields"] == ["ends_at", "starts_at"]


async def test_guided_end_edit_refuses_end_before_start(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    aid = await _publish(bot, clock)
    owner = _owner(tg)
    await _ask(owner, "End time")
    await owner.send("2026-11-25 09:00")  # the start is 2026-11-25 10:00 (Asia/Shanghai)
    assert "The end must be after the start" in _text(await owner.next_message())
    await owner.send("2026-11-25 13:30")
    await _save(owner, await owner.next_message())
    assert (await _activity(bot.db, aid))["ends_at"] == "2026-11-25T05:30:00.000000Z"


async def test_guided_deadline_edit_refuses_after_start_and_dash_means_the_start(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    aid = await _publish(bot, clock)
    owner = _owner(tg)
    await _ask(owner, "Sign-up deadline")
    await owner.send("2026-11-26 10:00")
    assert "cannot be after the start" in _text(await owner.next_message())
    await owner.send("-")
    await _save(owner, await owner.next_message())
    row = await _activity(bot.db, aid)
    assert row["signup_deadline"] == row["starts_at"]


async def test_guided_place_edit_with_dash_clears_it(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    aid = await _publish(bot, clock)
    owner = _owner(tg)
    prompt = await _ask(owner, "Place")
    assert "Current place: Room 3" in _text(prompt)
    await owner.send("-")
    await _save(owner, await owner.next_message())
    assert (await _activity(bot.db, aid))["place"] == ""


async def test_guided_capacity_below_confirmed_is_refused(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    users = [await member_user(tg, bot.db, f"M{i}") for i in range(2)]
    aid = await _publish(bot, clock, capacity=2)
    for user in users:
        await (await user.press(await user.next_message(), "Sign up")).answer()
    owner = _owner(tg)
    await _ask(owner, "Seats")
    await owner.send("0")
    assert "positive whole number" in _text(await owner.next_message())
    await owner.send("1")
    assert "fewer seats than are already taken" in _text(await owner.next_message())
    await owner.send("/cancel")
    assert "Left the current step" in _text(await owner.next_message())
    assert (await _activity(bot.db, aid))["capacity"] == 2


async def test_guided_capacity_increase_promotes_the_waitlist_in_order(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    users = [await member_user(tg, bot.db, f"M{i}") for i in range(4)]
    aid = await _publish(bot, clock, capacity=1)
    for user in users:
        await (await user.press(await user.next_message(), "Sign up")).answer()
    owner = _owner(tg)
    await _ask(owner, "Seats")
    await owner.send("3")
    preview = await owner.next_message()
    assert "Seats: 1 → 3" in _text(preview)
    assert "Seats changed" in _text(await _save(owner, preview))
    rows = await bot.db.fetchall("SELECT status FROM activity_signups WHERE activity_id = ? ORDER BY id", (aid,))
    assert [r["status"] for r in rows] == ["confirmed", "confirmed", "confirmed", "waiting"]
    await drain_outbox(bot)
    await users[1].wait_for(lambda m: "moved from the waitlist to confirmed" in _text(m))
    assert await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'activity.capacity'") == 1


async def test_forged_edit_press_by_a_member_is_refused(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    aid = await _publish(bot, clock)
    announce = await alice.next_message()
    for data in (f"acte:{aid}", f"acte:f:{aid}:ti", f"acte:ok:{aid}:ti", f"acte:no:{aid}", f"actm:rp:{aid}:1"):
        result = await alice.press_data(announce, data)
        answer = await result.answer()
        assert "not allowed" in (answer.text or "").lower() and answer.show_alert
    malformed = await (await alice.press_data(announce, f"acte:ok:{aid}")).answer()  # no field: not a button of ours
    assert "expired" in (malformed.text or "").lower()
    await alice.send("Hacked")
    assert "Hacked" not in _text(await alice.next_message())
    assert (await _activity(bot.db, aid))["title"] == "Reading club"


async def test_forged_edit_press_by_an_out_of_scope_coordinator_is_refused(
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
    answer = await (await other.press_data(menu, f"acte:f:{aid}:ca")).answer()
    assert "not allowed" in (answer.text or "").lower()
    assert await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'activity.edit%'") == 0


async def test_cancel_mid_edit_leaves_the_activity_unchanged(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    aid = await _publish(bot, clock)
    before = await _activity(bot.db, aid)
    owner = _owner(tg)
    await _ask(owner, "Title")
    await owner.send("New title")
    preview = await owner.next_message()
    await owner.send("/cancel")
    assert "Left the current step" in _text(await owner.next_message())
    answer = await (await owner.press(preview, "✅ Save")).answer()
    assert "no change waiting" in (answer.text or "")
    assert await _activity(bot.db, aid) == before


async def test_guided_edit_survives_a_bot_restart(tg: FakeTelegram, start_bot: StartBot, clock: FakeClock) -> None:
    runtime = await start_bot()
    aid = await _publish(runtime, clock)
    owner = _owner(tg)
    await _ask(owner, "Place")
    await runtime.stop()
    runtime = await start_bot()
    await owner.send("Hall C")
    preview = await owner.next_message()
    assert "Room 3 → Hall C" in _text(preview)
    await runtime.stop()
    runtime = await start_bot()
    await _save(owner, preview)
    assert runtime.db is not None
    assert (await _activity(runtime.db, aid))["place"] == "Hall C"


async def test_two_quick_edits_both_reach_signed_up_members(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None and bot.services is not None
    alice = await member_user(tg, bot.db, "Alice")
    aid = await _publish(bot, clock)
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    service = bot.services.activities
    assert (await service.edit(owner_actor(OWNER_ID), aid, {"place": "Hall A"})).ok
    assert (await service.edit(owner_actor(OWNER_ID), aid, {"place": "Hall B"})).ok  # same clock second
    await drain_outbox(bot)
    edits = "SELECT COUNT(*) FROM outbox WHERE kind LIKE 'act_edit_r%' AND status = 'sent'"
    assert await bot.db.fetchval(edits) == 2  # one notice per edit, none merged away
    await alice.wait_for(lambda m: "Activity changed (Place)" in _text(m) and "Where: Hall B" in _text(m))


async def test_roster_of_45_pages_by_20_with_totals(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None and bot.services is not None
    aid = await _publish(bot, clock, capacity=30)
    for n in range(45):
        await add_member(bot.db, 900_000 + n, f"P{n:02d}")
        assert (await bot.services.activities.sign_up(900_000 + n, aid)).ok
    owner = _owner(tg)
    first = await _roster(owner)
    text = _text(first)
    assert "Confirmed (30)" in text and "Waitlist (15)" in text and "Page 1/3" in text
    assert "P19" in text and "P20" not in text
    assert all(len(b["callback_data"].encode()) <= 64 for b in first.inline_buttons if "callback_data" in b)
    await (await owner.press(first, "▶")).answer()
    second = await owner.wait_for(lambda m: m.message_id == first.message_id and "Page 2/3" in _text(m))
    assert "P20" in _text(second) and "P39" in _text(second) and "P19" not in _text(second)
    assert "Confirmed (30)" in _text(second) and "Waitlist (15)" in _text(second)
    await (await owner.press_data(second, f"actm:rp:{aid}:999999")).answer()
    last = await owner.wait_for(lambda m: m.message_id == first.message_id and "Page 3/3" in _text(m))
    assert "P44" in _text(last) and "P39" not in _text(last) and "▶" not in last.buttons
    stale = await (await owner.press_data(last, f"actm:rp:{aid}:-1")).answer()
    assert "expired" in (stale.text or "")


def test_the_fake_clock_starts_where_these_tests_assume() -> None:
    assert FakeClock().now() == datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


async def test_save_pressed_on_an_older_preview_of_another_field_changes_nothing(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    aid = await _publish(bot, clock)
    owner = _owner(tg)
    await _ask(owner, "Title")
    await owner.send("Old preview title")
    old_preview = await owner.next_message()
    await (await owner.press(old_preview, "↩️ Another field")).answer()
    menu = await owner.wait_for(
        lambda m: m.message_id == old_preview.message_id and "What do you want to change" in _text(m)
    )
    await (await owner.press(menu, "Place")).answer()
    await owner.wait_for(lambda m: m.message_id == old_preview.message_id and "Send the new place" in _text(m))
    await owner.send("Hall D")
    await owner.next_message()
    forged = await owner.press_data(old_preview, f"acte:ok:{aid}:ti")
    assert "no change waiting" in ((await forged.answer()).text or "")
    row = await _activity(bot.db, aid)
    assert row["title"] == "Reading club" and row["place"] == "Room 3"


async def test_typing_instead_of_choosing_a_field_gets_a_hint(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    await _publish(bot, clock)
    owner = _owner(tg)
    roster = await _roster(owner)
    await (await owner.press(roster, "✏️ Edit")).answer()
    await owner.wait_for(lambda m: m.message_id == roster.message_id and "What do you want to change" in _text(m))
    await owner.send("title please")
    assert "use the buttons above" in _text(await owner.next_message())


async def test_chinese_coordinator_sees_the_edit_flow_in_chinese(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    aid = await _publish(bot, clock)
    owner = tg.create_user("Owner", language_code="zh-hans", user_id=OWNER_ID)
    roster = await _roster(owner)
    await (await owner.press(roster, "✏️ 修改")).answer()
    menu = await owner.wait_for(lambda m: m.message_id == roster.message_id and "请选择要修改的内容" in _text(m))
    await (await owner.press(menu, "名额")).answer()
    await owner.wait_for(lambda m: m.message_id == roster.message_id and "当前名额：2" in _text(m))
    await owner.send("-")
    preview = await owner.next_message()
    assert "名额：2 → 不限" in _text(preview)
    await (await owner.press(preview, "✅ 保存")).answer()
    await owner.wait_for(lambda m: m.message_id == preview.message_id and "名额已修改" in _text(m))
    assert (await _activity(bot.db, aid))["capacity"] is None


async def test_roster_export_is_audited(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    aid = await _publish(bot, clock)
    owner = _owner(tg)
    roster = await _roster(owner)
    await (await owner.press(roster, "CSV")).answer()
    document = await owner.next_message()
    assert document.raw.get("document") is not None
    row = await bot.db.fetchone(
        "SELECT actor_user_id, target_id, details FROM audit_log WHERE action = 'activity.export'"
    )
    assert row is not None and row["actor_user_id"] == OWNER_ID and row["target_id"] == str(aid)
    assert json.loads(row["details"]) == {"format": "csv", "rows": 0}
