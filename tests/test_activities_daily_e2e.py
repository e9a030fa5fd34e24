"""Issue #17 in activities, end to end through the sandbox: cancelling asks first, manual check-in
in the window with ✅ and undo, dates typed as people write them, the card's one-line time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.activities import callbacks as acb
from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from tests.activities_helpers import (
    add_coordinator,
    add_group,
    drain_outbox,
    member_user,
    more_option,
    owner_actor,
    publish,
    tap,
    who_everyone,
)
from tests.conftest import OWNER_ID


@pytest.fixture(autouse=True)
def no_flood_limits(tg: FakeTelegram) -> None:
    tg.set_rate_limits(False)


def _text(m: object) -> str:
    return getattr(m, "text", None) or ""


async def test_cancel_asks_with_the_number_told_and_sends_the_reason(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    alice, bob = await member_user(tg, bot.db, "Alice"), await member_user(tg, bot.db, "Bob")
    aid = await publish(bot, clock.now(), capacity=1)
    for user in (alice, bob):  # Alice holds the seat, Bob waits: both are told
        await (await user.press(await user.next_message(), "Sign up")).answer()
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    roster = await owner.next_message()
    assert roster.buttons[-1] == "Cancel activity"  # the irreversible action on its own, last row
    await (await owner.press(roster, "Cancel activity")).answer()
    ask = await owner.next_message()
    assert "2 members" in _text(ask) and "cannot be undone" in _text(ask)
    assert await bot.db.fetchval("SELECT status FROM activities WHERE id = ?", (aid,)) == "published"
    await owner.send("The venue is flooded")
    again = await owner.next_message()
    assert "Reason: The venue is flooded" in _text(again)
    await (await owner.press(again, "⚠️ Cancel and tell 2 people")).answer()
    await owner.wait_for(lambda m: "cancelled" in _text(m) and "2" in _text(m))
    assert await bot.db.fetchval("SELECT status FROM activities WHERE id = ?", (aid,)) == "cancelled"
    await drain_outbox(bot)
    for user in (alice, bob):
        told = await user.wait_for(lambda m: "Activity cancelled" in _text(m))
        assert "Reason: The venue is flooded" in _text(told)
        assert _text(told).count("Reading club") == 1  # the title once
    audit = await bot.db.fetchone("SELECT details FROM audit_log WHERE action = 'activity.cancel'")
    assert audit is not None and "flooded" in audit["details"]


async def test_cancel_can_be_turned_back(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    aid = await publish(bot, clock.now())
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    await (await owner.press(await owner.next_message(), "Cancel activity")).answer()
    ask = await owner.next_message()
    assert "0 members" in _text(ask)
    await (await owner.press(ask, "Back, don't cancel")).answer()
    await owner.wait_for(lambda m: "not cancelled" in _text(m))
    assert await bot.db.fetchval("SELECT status FROM activities WHERE id = ?", (aid,)) == "published"


async def test_manual_check_in_in_the_window_shows_a_tick_and_a_second_tap_undoes(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    came = await member_user(tg, bot.db, "Came")
    aid = await publish(bot, clock.now(), capacity=5)
    await (await came.press(await came.next_message(), "Sign up")).answer()
    clock.advance(timedelta(days=3) - timedelta(minutes=10))  # 10 minutes before the start
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    await (await owner.press(await owner.next_message(), "Mark attendance")).answer()
    names = await owner.next_message()
    assert "Checked in: 0/1" in _text(names)
    assert "marked" in (_text(await (await owner.press(names, "Came")).answer())).lower()
    ticked = await owner.wait_for(lambda m: m.message_id == names.message_id and "✅ Came" in m.buttons)
    assert "Checked in: 1/1" in _text(ticked)
    assert "undone" in (_text(await (await owner.press(ticked, "✅ Came")).answer())).lower()
    await owner.wait_for(lambda m: m.message_id == names.message_id and "Came" in m.buttons)
    row = await bot.db.fetchone("SELECT checked_in_at FROM activity_signups WHERE activity_id = ?", (aid,))
    assert row is not None and row["checked_in_at"] is None
    actions = await bot.db.fetchall("SELECT action FROM audit_log WHERE action LIKE '%attended' ORDER BY id")
    assert [r["action"] for r in actions] == ["activity.mark_attended", "activity.unmark_attended"]


async def test_manual_check_in_days_before_asks_first(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    came = await member_user(tg, bot.db, "Came")
    aid = await publish(bot, clock.now(), capacity=5)
    await (await came.press(await came.next_message(), "Sign up")).answer()
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    await (await owner.press(await owner.next_message(), "Mark attendance")).answer()
    await (await owner.press(await owner.next_message(), "Came")).answer()
    ask = await owner.next_message()
    assert "not open" in _text(ask)
    row = await bot.db.fetchone("SELECT checked_in_at FROM activity_signups WHERE activity_id = ?", (aid,))
    assert row is not None and row["checked_in_at"] is None  # nothing counted yet


async def test_new_activity_reads_dates_as_people_write_them(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    clock.set(datetime(2026, 12, 3, 11, 20, tzinfo=UTC))  # Thursday 19:20 Beijing time
    pudong = await add_group(bot.db, "Pudong")
    coord = tg.create_user("协调员", language_code="zh-hans")
    await add_coordinator(bot.db, coord.id, pudong)
    await coord.send("/newactivity")
    await coord.next_message()
    await coord.send("茶话会")
    prompt = _text(await coord.next_message())
    assert "北京时间" in prompt and "Asia/Shanghai" not in prompt and "下周三下午2点" in prompt
    await coord.send("下个礼拜")
    refused = _text(await coord.next_message())
    assert refused.startswith("没看懂这个时间") and "12月4日 下午2点" in refused
    await coord.send("12月20日 下午2点")
    assert "开始时间：12月20日（周日）14:00（北京时间）" in _text(await coord.next_message())
    for text in ("礼堂", "20"):
        await coord.send(text)
        await coord.next_message()
    summary = await who_everyone(coord, coord.messages[-1])
    end = await more_option(coord, summary, "end")
    assert "北京时间" in _text(end)
    await coord.send("16:30")  # a bare end time: on the start's day
    assert "结束时间：12月20日（周日）16:30（北京时间）" in _text(await coord.next_message())


async def test_card_ics_and_waitlist(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    clock.set(datetime(2026, 12, 3, 11, 20, tzinfo=UTC))
    alice, bob = await member_user(tg, bot.db, "Alice"), await member_user(tg, bot.db, "Bob")
    start = datetime(2026, 12, 17, 1, 0, tzinfo=UTC)  # Thursday 09:00 Beijing time
    await publish(bot, clock.now(), capacity=1, starts_at=start, ends_at=start + timedelta(hours=4))
    announce = await alice.next_message()
    assert "When: Thu 17 Dec 09:00–13:00" in _text(announce) and _text(announce).count("Reading club") == 1
    await (await alice.press(announce, "Sign up")).answer()
    held = await alice.wait_for(lambda m: m.message_id == announce.message_id and m.edited)
    await (await alice.press(held, "Add to calendar (.ics)")).answer()
    ics = await alice.wait_for(lambda m: m.document is not None)
    assert ics.document is not None and ics.document.get("file_name") == "Reading_club.ics"
    data = await alice.download(ics)
    assert b"BEGIN:VALARM" in data and b"TRIGGER:-PT60M" in data
    waiting = await bob.next_message()
    await (await bob.press(waiting, "Sign up")).answer()
    listed = await bob.wait_for(lambda m: m.message_id == waiting.message_id and m.edited)
    assert "Add to calendar (.ics)" not in listed.buttons  # waitlisted: no calendar entry yet


async def test_checkin_outside_the_window_says_when_it_opens(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None and bot.services is not None
    clock.set(datetime(2026, 12, 3, 11, 20, tzinfo=UTC))
    alice = await member_user(tg, bot.db, "Alice")
    start = datetime(2026, 12, 17, 1, 0, tzinfo=UTC)  # 09:00 Beijing time
    aid = await publish(bot, clock.now(), starts_at=start, ends_at=start + timedelta(hours=4))
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    code = await bot.services.activities.checkin_code(owner_actor(OWNER_ID), aid)
    await alice.send(f"/checkin {code}")
    told = _text(await alice.next_message())
    assert "not open yet" in told and "2026-12-17 08:30" in told


async def test_an_unregistered_persons_member_command_points_to_start(tg: FakeTelegram, bot: BotRuntime) -> None:
    stranger = tg.create_user("Newcomer", language_code="en")
    for command in ("/activities", "/checkin"):
        await stranger.send(command)
        assert "/start" in _text(await stranger.next_message()), command


async def test_new_activity_every_choice_is_a_button(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    clock.set(datetime(2026, 12, 3, 11, 20, tzinfo=UTC))
    pudong = await add_group(bot.db, "Pudong")
    coord = tg.create_user("协调员", language_code="zh-hans")
    await add_coordinator(bot.db, coord.id, pudong)
    await coord.send("/newactivity")
    await coord.next_message()
    await coord.send("茶话会")
    await coord.next_message()  # the start time
    await coord.send("12月20日 下午2点")

    async def press(label: str) -> SandboxMessage:
        asked = await coord.next_message()
        assert label in asked.buttons, (label, asked.buttons)
        await (await coord.press(asked, label)).answer()
        return asked

    await press("跳过")  # no place
    picker = await press("20")  # seats
    picker = await coord.next_message()
    await (await coord.press(picker, "Pudong")).answer()
    picker = await coord.wait_for(lambda m: m.message_id == picker.message_id and "✅ Pudong" in str(m.buttons))
    summary = await tap(coord, picker, acb.ELIGIBILITY_DONE.data())

    async def option(opt: str, *labels: str) -> SandboxMessage:
        screen = await tap(coord, summary, acb.MORE.data())
        screen = await tap(coord, screen, acb.MORE_OPEN.data(opt=opt))
        for label in labels:  # the current choice is ticked (✅)
            shown = [str(b["text"]).removeprefix("✅ ") for b in screen.inline_buttons]
            assert label in shown, (label, screen.buttons)
            button = screen.inline_buttons[shown.index(label)]
            screen = await tap(coord, screen, str(button["callback_data"]))
        return screen

    summary = await option("end", "3小时")
    summary = await option("dl", "开始前均可报名")
    assert "报名截止：开始前均可报名" in _text(summary)
    summary = await option("rem", "提前2小时")
    summary = await option("sv", "否")  # the survey
    summary = await option("off", "自动递补")
    summary = await option("rep", "每周", "4 次")
    assert "每周，共 4 次" in _text(summary) and "名额：20" in _text(summary) and "提醒：提前2小时" in _text(summary)
    assert "12月20日（周日）14:00–17:00" in _text(summary)
    await (await coord.press(summary, "发布")).answer()
    await coord.wait_for(lambda m: "已发布" in _text(m))
    assert await bot.db.fetchval("SELECT COUNT(*) FROM activities") == 4
    assert await bot.db.fetchval("SELECT place FROM activities ORDER BY id LIMIT 1") == ""


async def test_two_members_of_the_same_name_are_told_apart_in_the_roster(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    from tests.factories import add_member as seed_member

    assert bot.db is not None and bot.services is not None
    aid = await publish(bot, clock.now(), capacity=5)
    await seed_member(bot.db, 700_001, "王芳", organisation="华东医院", language="zh-hans")
    await seed_member(bot.db, 700_002, "王芳", phone="+86 138 0013 4567", language="zh-hans")
    await seed_member(bot.db, 700_003, "李雷", language="zh-hans")
    for uid in (700_001, 700_002, 700_003):
        assert (await bot.services.activities.sign_up(uid, aid)).ok
    owner = tg.create_user("Owner", language_code="zh-hans", user_id=OWNER_ID)
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    roster = _text(await owner.next_message())
    assert "王芳（华东医院）" in roster and "王芳（尾号4567）" in roster and "李雷（" not in roster


async def test_new_activity_time_in_one_step_or_a_quick_button(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    clock.set(datetime(2026, 12, 3, 11, 20, tzinfo=UTC))  # Thursday 19:20 Beijing time
    pudong = await add_group(bot.db, "Pudong")
    coord = tg.create_user("协调员", language_code="zh-hans")
    await add_coordinator(bot.db, coord.id, pudong)
    for text in ("/newactivity", "茶话会"):
        await coord.send(text)
        await coord.next_message()
    await coord.send("12月20日 14:00-16:30")  # start and end in one answer
    both = _text(await coord.next_message())
    assert "开始时间：12月20日（周日）14:00" in both and "结束时间：12月20日（周日）16:30" in both and "地点" in both
    other = tg.create_user("另一位协调员", language_code="zh-hans")
    await add_coordinator(bot.db, other.id, pudong)
    for text in ("/newactivity", "读书会"):
        await other.send(text)
        await other.next_message()
    start = other.messages[-1]
    assert "本周六 14:00" in start.buttons and "明天 09:00" in start.buttons
    await (await other.press(start, "明天 09:00")).answer()
    assert "12月4日（周五）09:00" in _text(await other.next_message())
