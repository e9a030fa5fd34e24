"""Activities end to end: real Application, sandbox Telegram, real SQLite, FakeClock."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from bot.activities import callbacks as acb
from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.activities_helpers import (
    add_coordinator,
    add_group,
    choose,
    draft,
    drain_outbox,
    member_user,
    more_option,
    owner_actor,
    tap,
    who_done,
)
from tests.conftest import OWNER_ID, StartBot


@pytest.fixture(autouse=True)
def no_flood_limits(tg: FakeTelegram) -> None:
    """These tests are about activities, not pacing: one chat gets several replies per second."""
    tg.set_rate_limits(False)


def services(bot: BotRuntime):  # type: ignore[no-untyped-def]
    assert bot.services is not None
    return bot.services


async def publish(bot: BotRuntime, clock: FakeClock, **overrides: object) -> int:
    result = await services(bot).activities.create(owner_actor(OWNER_ID), draft(clock.now(), **overrides))
    assert result.ok and result.activity is not None
    await drain_outbox(bot)
    return result.activity.id


async def test_announcement_reaches_members_and_sign_up_confirms(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    await publish(bot, clock)
    announce = await alice.next_message()
    assert "New activity: Reading club" in (announce.text or "")
    assert "Chapter 1 <b>&" in (announce.text or "")  # user text escaped, shown literally
    result = await alice.press(announce, "Sign up")
    assert "signed up" in ((await result.answer()).text or "")
    edited = await alice.wait_for(lambda m: m.message_id == announce.message_id and m.edited)
    assert "Seats: 1/2" in (edited.text or "")


async def test_full_activity_waitlists_with_position_and_double_tap_is_harmless(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    users = [await member_user(tg, bot.db, f"M{i}") for i in range(4)]
    await publish(bot, clock, capacity=2)
    answers = []
    for user in users:
        message = await user.next_message()
        answers.append((await (await user.press(message, "Sign up")).answer()).text or "")
    assert "signed up" in answers[0] and "signed up" in answers[1]
    assert "number 1 on the waitlist" in answers[2] and "number 2 on the waitlist" in answers[3]
    again = await users[3].press_data(users[3].messages[-1], f"act:su:{1}")
    assert "already on the waitlist, position 2" in ((await again.answer()).text or "")
    count = await bot.db.fetchval("SELECT COUNT(*) FROM activity_signups")
    assert count == 4


async def test_cancel_promotes_the_first_waiting_member_who_is_told(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    first, second, third = [await member_user(tg, bot.db, n) for n in ("A", "B", "C")]
    aid = await publish(bot, clock, capacity=1)
    for user in (first, second, third):
        await (await user.press(await user.next_message(), "Sign up")).answer()
    result = await first.press(first.messages[-1], "Cancel sign-up")
    assert "cancelled" in ((await result.answer()).text or "")
    await drain_outbox(bot)
    told = await second.wait_for(lambda m: "moved from the waitlist" in (m.text or ""))
    assert told.text
    statuses = await bot.db.fetchall("SELECT status FROM activity_signups WHERE activity_id = ? ORDER BY id", (aid,))
    assert sorted(r["status"] for r in statuses) == ["cancelled", "confirmed", "waiting"]


async def test_offer_expires_and_passes_to_the_next_person(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    a, b, c = [await member_user(tg, bot.db, n) for n in ("A", "B", "C")]
    aid = await publish(bot, clock, capacity=1, offer_hours=2)
    for user in (a, b, c):
        await (await user.press(await user.next_message(), "Sign up")).answer()
    await (await a.press(a.messages[-1], "Cancel sign-up")).answer()
    await drain_outbox(bot)
    offer = await b.wait_for(lambda m: "Accept before" in (m.text or ""))
    assert offer
    clock.advance(timedelta(hours=3))
    await services(bot).activities.run_due()
    await drain_outbox(bot)
    await b.wait_for(lambda m: "expired" in (m.text or ""))
    offer_c = await c.wait_for(lambda m: "Accept before" in (m.text or ""))
    result = await c.press(offer_c, "Accept the seat")
    assert "signed up" in ((await result.answer()).text or "")
    late = await b.press(offer, "Accept the seat")
    assert "no seat offer" in ((await late.answer()).text or "")
    rows = await bot.db.fetchall("SELECT status FROM activity_signups WHERE activity_id = ? ORDER BY id", (aid,))
    assert [r["status"] for r in rows] == ["cancelled", "cancelled", "confirmed"]


async def test_bad_presses_get_clear_answers_and_change_nothing(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    group = await add_group(bot.db, "Head")
    pudong = await add_group(bot.db, "Pudong", group)
    inside = await member_user(tg, bot.db, "In", (pudong,))
    outside = await member_user(tg, bot.db, "Out")
    aid = await publish(bot, clock, group_ids=(pudong,))
    message = await inside.next_message()
    forged = await outside.press_data(message, f"act:su:{aid}")  # not eligible, data forged
    assert "not open to your groups" in ((await forged.answer()).text or "")
    peek = await outside.press_data(message, f"act:op:{aid}")
    assert "does not exist" in ((await peek.answer()).text or "")
    nonsense = await inside.press_data(message, "act:su:99999")
    assert "does not exist" in ((await nonsense.answer()).text or "")
    garbage = await inside.press_data(message, "act:zz:1")
    assert (await garbage.answer()).text
    clock.advance(timedelta(days=2, minutes=1))  # past the deadline
    late = await inside.press(message, "Sign up")
    assert "closed" in ((await late.answer()).text or "")
    assert await bot.db.fetchval("SELECT COUNT(*) FROM activity_signups") == 0


async def test_cancelled_activity_tells_people_and_refuses_presses(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    aid = await publish(bot, clock)
    announce = await alice.next_message()
    await (await alice.press(announce, "Sign up")).answer()
    result = await services(bot).activities.cancel_activity(owner_actor(OWNER_ID), aid)
    assert result.extra["told"] == 1
    await drain_outbox(bot)
    await alice.wait_for(lambda m: "Activity cancelled" in (m.text or ""))
    press = await alice.press_data(announce, f"act:su:{aid}")
    assert "cancelled" in ((await press.answer()).text or "")
    audit = await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'activity.cancel'")
    assert audit == 1


async def test_reminder_is_sent_once_and_cant_come_frees_the_seat(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    bob = await member_user(tg, bot.db, "Bob")
    await publish(bot, clock, capacity=1)
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    await (await bob.press(await bob.next_message(), "Sign up")).answer()
    clock.advance(timedelta(days=2, hours=1))  # one day before the start
    assert await services(bot).activities.run_due() == 1
    assert await services(bot).activities.run_due() == 0  # claimed: never twice
    await drain_outbox(bot)
    reminder = await alice.wait_for(lambda m: "Reminder" in (m.text or ""))
    await (await alice.press(reminder, "Can't come")).answer()
    await drain_outbox(bot)
    await bob.wait_for(lambda m: "moved from the waitlist" in (m.text or ""))


async def test_reminders_due_while_down_are_skipped_after_the_start(
    tg: FakeTelegram, start_bot: StartBot, clock: FakeClock
) -> None:
    runtime = await start_bot()
    assert runtime.db is not None
    alice = await member_user(tg, runtime.db, "Alice")
    aid = await publish(runtime, clock)
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    await runtime.stop()
    clock.advance(timedelta(days=3, minutes=30))  # the bot was down over both reminders and the start
    runtime = await start_bot()
    assert runtime.services is not None
    due = await runtime.services.activities.repo.due_items(aid)
    assert [(k, s) for k, _, s, _ in due] == [("reminder", "skipped"), ("reminder", "skipped")]
    assert await runtime.db.fetchval("SELECT COUNT(*) FROM outbox WHERE kind = 'act_rem'") == 0  # type: ignore[union-attr]


async def test_check_in_with_code_then_survey_rating(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    aid = await publish(bot, clock, survey=True)
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    code = await services(bot).activities.checkin_code(owner_actor(OWNER_ID), aid)
    await alice.send(f"/checkin {code}")
    assert "not open yet; it opens at" in ((await alice.next_message()).text or "")
    clock.advance(timedelta(days=3, minutes=10))
    await alice.send("/checkin 000000")
    assert "not valid" in ((await alice.next_message()).text or "")
    await alice.send("/checkin")
    await alice.next_message()
    await alice.send(code)
    assert "Checked in: Reading club" in ((await alice.next_message()).text or "")
    clock.advance(timedelta(hours=2))
    await services(bot).activities.run_due()
    await drain_outbox(bot)
    survey = await alice.wait_for(lambda m: "Please rate" in (m.text or ""))
    await (await alice.press(survey, "4★")).answer()
    await alice.wait_for(lambda m: "4-star" in (m.text or ""))
    await alice.send("Great <talk>")
    await alice.wait_for(lambda m: "Comment saved" in (m.text or ""))
    assert await services(bot).activities.signups.survey_results(aid) == [(4, "Great <talk>")]
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    await (await owner.press(await owner.next_message(), "Survey results")).answer()
    results = await owner.wait_for(lambda m: "Survey:" in (m.text or ""))
    assert "1 answers, average 4.0" in (results.text or "") and "Great <talk>" in (results.text or "")


async def test_roster_exports_csv_and_xlsx_and_ics_for_members(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "=Alice")
    await publish(bot, clock)
    announce = await alice.next_message()
    await (await alice.press(announce, "Sign up")).answer()
    edited = await alice.wait_for(lambda m: m.message_id == announce.message_id and m.edited)
    await (await alice.press(edited, "Add to calendar (.ics)")).answer()
    ics = await alice.wait_for(lambda m: m.document is not None)
    assert b"SUMMARY:Reading club" in await alice.download(ics)
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    roster = await owner.next_message()
    assert "Confirmed (1): =Alice" in (roster.text or "")
    await (await owner.press(roster, "CSV")).answer()
    doc = await owner.wait_for(lambda m: m.document is not None and m.document.get("file_name", "").endswith("csv"))
    rows = list(csv.reader(io.StringIO((await owner.download(doc)).decode("utf-8-sig"))))
    assert rows[1][1] == "'=Alice" and rows[1][4] == "Signed up"  # the status in words (bot/labels), not the key
    await (await owner.press(roster, "XLSX")).answer()
    doc = await owner.wait_for(lambda m: m.document is not None and m.document.get("file_name", "").endswith("xlsx"))
    sheet = load_workbook(io.BytesIO(await owner.download(doc))).active
    assert sheet is not None and sheet.cell(2, 5).value == "Signed up"


async def test_new_activity_conversation_validates_and_publishes(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    head = await add_group(bot.db, "Head")
    pudong = await add_group(bot.db, "Pudong", head)
    member = await member_user(tg, bot.db, "Member", (pudong,))
    coord = tg.create_user("Coord", language_code="en")
    await add_coordinator(bot.db, coord.id, pudong)
    stranger = tg.create_user("Nobody", language_code="en")
    await stranger.send("/newactivity")
    assert (await stranger.next_message()).text
    assert await bot.db.fetchval("SELECT COUNT(*) FROM ptb_conversations WHERE name = 'activity_new'") == 0
    steps = [
        ("/newactivity", "title"),
        ("", "empty or too long"),
        ("Tea <salon>", "start time"),
        ("2020-01-01 10:00", "past"),
        ("next week", "can't read"),
        ("2026-12-05 14:00", "Start: Sat 5 Dec 14:00"),
        ("Room 1", "seats"),
        ("0", "positive whole number"),
        ("abc", "positive whole number"),
        ("20", "Who may sign up"),
    ]
    for text, expected in steps:
        await coord.send(text or "\u200b")
        got = (await coord.next_message()).text or ""
        assert expected.lower() in got.lower(), (text, got)
    picker = coord.messages[-1]
    await (await coord.press(picker, "Done")).answer()  # none picked: refused for a scoped coordinator
    await (await coord.press(picker, "Pudong")).answer()
    picker = await coord.wait_for(lambda m: m.message_id == picker.message_id and "✅ Pudong" in str(m.buttons))
    summary = await who_done(coord, picker)
    await more_option(coord, summary, "end")
    for text, expected in [("2026-12-05 13:00", "after the start"), ("2026-12-05 16:00", "End: Sat 5 Dec 16:00")]:
        await coord.send(text)
        got = (await coord.next_message()).text or ""
        assert expected.lower() in got.lower(), (text, got)
    summary = coord.messages[-1]
    await more_option(coord, summary, "dl")
    for text, expected in [("2026-12-06 10:00", "cannot be after"), ("12-04 20:00", "Sign-up closes: Fri 4 Dec 20:00")]:
        await coord.send(text)
        got = (await coord.next_message()).text or ""
        assert expected.lower() in got.lower(), (text, got)
    summary = coord.messages[-1]
    assert "Reminders: 1 d, 2 h before" in (summary.text or "")  # the default
    survey = await more_option(coord, summary, "sv")
    summary = await tap(coord, survey, acb.MORE_SET.data(opt="sv", val="1"))
    summary = await choose(coord, summary, "rep", "weekly", "weekly.3")
    assert "Repeat: weekly, 3 times" in (summary.text or "")
    await (await coord.press(summary, "Publish")).answer()
    await coord.wait_for(lambda m: "Published" in (m.text or ""))
    assert await bot.db.fetchval("SELECT COUNT(*) FROM activities") == 3
    await drain_outbox(bot)
    announce = await member.wait_for(lambda m: "New activity: Tea" in (m.text or ""))
    result = await member.press(announce, "Sign up for the whole series")
    assert "3 activities" in ((await result.answer()).text or "")
    await member.send("/activities")
    listing = await member.wait_for(lambda m: "Upcoming activities" in (m.text or ""))
    assert (listing.text or "").count("Signed up") == 3


async def test_edit_tells_signed_up_members(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    aid = await publish(bot, clock)
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send(f"/editactivity {aid} place Hall B")
    assert "1 signed-up" in ((await owner.next_message()).text or "")
    await owner.send(f"/capacity {aid} 0")
    assert "positive whole number" in ((await owner.next_message()).text or "")
    await drain_outbox(bot)
    changed = await alice.wait_for(lambda m: "Activity changed" in (m.text or ""))
    assert "Where: Hall B" in (changed.text or "")
