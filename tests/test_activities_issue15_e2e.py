"""Defects of issue #15 in activities, end to end (each failed on 2d5a490's behaviour)."""

from __future__ import annotations

import json
import logging

import pytest

from bot.activities import callbacks as acb
from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.driver import SandboxMessage, SandboxUser
from sandbox.server import FakeTelegram
from tests.activities_helpers import (
    add_coordinator,
    add_group,
    add_member,
    choose,
    drain_outbox,
    member_user,
    new_activity_to_who,
    owner_actor,
    publish,
    tap,
)
from tests.conftest import OWNER_ID


@pytest.fixture(autouse=True)
def no_flood_limits(tg: FakeTelegram) -> None:
    tg.set_rate_limits(False)


def _current(user: SandboxUser, message: SandboxMessage) -> SandboxMessage:
    """The message as the chat shows it now (edits applied)."""
    return next(m for m in user.messages if m.message_id == message.message_id)


async def _to_eligibility(owner: SandboxUser) -> SandboxMessage:
    """/newactivity up to the eligibility picker (typed answers as a coordinator would)."""
    return await new_activity_to_who(owner, "Tea salon", "2026-12-05 14:00-16:00", "Room 1", "20")


# --- #2: the picker shows what is stored; the summary shows every choice ----------------------------
async def test_double_tapped_group_shows_what_is_stored_and_the_summary_names_every_choice(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    assert bot.db is not None
    head = await add_group(bot.db, "Head")
    pudong = await add_group(bot.db, "Pudong", head)
    huamu = await add_group(bot.db, "Huamu", head)
    people = [await member_user(tg, bot.db, f"P{i}", (pudong,)) for i in range(2)]
    await member_user(tg, bot.db, "H0", (huamu,))
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    picker = await _to_eligibility(owner)
    await (await owner.press(picker, "Pudong")).answer()
    picker = await owner.wait_for(lambda m: m.message_id == picker.message_id and "✅ Pudong" in str(m.buttons))
    a = await owner.press(picker, "Huamu")  # the double tap: both presses sent before either is answered
    b = await owner.press(picker, "Huamu")
    await a.answer()
    await b.answer()
    assert bot.services is not None
    enterprise = str(bot.services.catalog.text("en", "label.category.enterprise"))  # the members' categories
    await (await owner.press(picker, "Done")).answer()  # handled after both taps (one user's updates in order)
    summary_message = await owner.wait_for(lambda m: m.message_id == picker.message_id and "Publish?" in (m.text or ""))
    stored = await bot.db.fetchval("SELECT data FROM ptb_user_data WHERE user_id = ?", (OWNER_ID,))
    draft = json.loads(str(stored))["act_draft"]
    draft_groups = draft["groups"]
    assert draft_groups == [pudong]  # what the picker showed ticked when Done was pressed
    assert f"Who may sign up: Pudong; {bot.services.catalog.text('en', 'act.summary.all_categories')}" in (
        summary_message.text or ""
    )  # the summary is rendered from the stored draft
    summary_message = await choose(owner, summary_message, "cat")  # the categories' picker
    await (await owner.press(summary_message, lambda b: b.get("callback_data") == "actc:enterprise")).answer()
    cats = await owner.wait_for(
        lambda m: m.message_id == summary_message.message_id and f"✅ {enterprise}" in str(m.buttons)
    )
    screen = [str(button["text"]) for button in _current(owner, cats).inline_buttons]
    assert sorted(text.removeprefix("✅ ") for text in screen if text.startswith("✅ ")) == [enterprise]
    summary_message = await tap(owner, cats, acb.MORE_BACK.data())
    stored = await bot.db.fetchval("SELECT data FROM ptb_user_data WHERE user_id = ?", (OWNER_ID,))
    assert json.loads(str(stored))["act_draft"]["cats"] == ["enterprise"]
    summary_message = await choose(owner, summary_message, "rem", "1d")
    summary_message = await choose(owner, summary_message, "rep", "weekly", "weekly.2")
    summary = summary_message.text or ""
    choices = (
        f"Who may sign up: Pudong; {enterprise}",
        "Members told now: 2",
        "Reminders: 1 d before",  # in words, not the typed syntax (#17)
        "Repeat: weekly, 2 times",
    )
    for shown_choice in choices:
        assert shown_choice in summary, summary
    assert "Seats: 20" in summary
    await (await owner.press(await owner.wait_for(lambda m: "Publish?" in (m.text or "")), "Publish")).answer()
    published = await owner.wait_for(lambda m: "Published" in (m.text or ""))
    assert "2 members will be told" in (published.text or "")
    await drain_outbox(bot)
    for person in people:
        await person.wait_for(lambda m: "Tea salon" in (m.text or ""))
    assert await bot.db.fetchval("SELECT COUNT(*) FROM outbox WHERE kind = 'activity'") == 2


# --- #7: forged data with a non-ASCII digit ---------------------------------------------------------
async def test_forged_non_ascii_digit_gets_the_stale_answer_and_no_error(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    owner.state.started = True
    await publish(bot, clock.now())
    announce = await alice.next_message()
    caplog.set_level(logging.WARNING)
    for data in ("act:su:²", "act:rt:1:５", "actm:csv:١", "acte:f:²:ti", "actml:²", "actg:²"):
        answer = await (await alice.press_data(announce, data)).answer()
        assert "expired" in (answer.text or "").lower(), data
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert owner.messages == []  # no alert to the owner
    assert await bot.db.fetchval("SELECT COUNT(*) FROM activity_signups") == 0


# --- #6: group chats --------------------------------------------------------------------------------
async def test_activity_commands_in_a_group_get_one_line_and_nothing_is_posted_there(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    head = await add_group(bot.db, "Head")
    coordinator = tg.create_user("Coord", language_code="en")
    coordinator.state.started = True
    await add_coordinator(bot.db, coordinator.id, head)
    member = await member_user(tg, bot.db, "Member", (head,))
    aid = await publish(bot, clock.now(), group_ids=(head,))
    await (await member.press(await member.next_message(), "Sign up")).answer()
    group = tg.create_group("Members' group", [coordinator, member])
    commands = [
        "/manage",
        "/newactivity",
        f"/capacity {aid} 5",
        f"/editactivity {aid} place Hall",
        "/activities",
        "/checkin",
    ]
    for command in commands:
        await group.send(coordinator, command)
        line = await group.next_message()
        assert "private chat" in (line.text or ""), command
    # A press on the bot's message in the group (forged roster/export data) posts nothing there.
    line = group.messages[-1]
    for data in (
        f"actm:ro:{aid}",
        f"actm:csv:{aid}",
        f"actm:xlsx:{aid}",
        f"actm:rp:{aid}:0",
        f"act:ics:{aid}",
        f"act:ci:{aid}",
        f"act:op:{aid}",
        f"act:cx:{aid}",
        "actl:0",
    ):
        pressing = member if data.startswith("act") else coordinator
        answer = await (await pressing.press_data(line, data)).answer()
        assert "private chat" in (answer.text or ""), data
    await drain_outbox(bot)
    posted = group.messages
    assert len(posted) == len(commands)  # only the one-line answers
    assert all(m.document is None for m in posted)
    assert not any("Member" in (m.text or "") or m.edited for m in posted)  # no roster, nothing rewritten
    assert await bot.db.fetchval("SELECT status FROM activity_signups") == "confirmed"
    assert await bot.db.fetchval("SELECT capacity FROM activities WHERE id = ?", (aid,)) == 2
    assert await bot.db.fetchval("SELECT COUNT(*) FROM ptb_conversations WHERE name = 'activity_new'") == 0


# --- #5: the member's resolved language in what the bot sends on its own ------------------------------
async def test_promotion_and_cancellation_come_in_the_members_telegram_language(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None and bot.services is not None
    first = await member_user(tg, bot.db, "First")
    # Never used /language: their Telegram app speaks English (the bot's default is Chinese).
    second = tg.create_user("Second", language_code="en")
    second.state.started = True
    await add_member(bot.db, second.id, "Second")
    await second.send("/start")  # the bot sees (and stores) the Telegram language here
    await second.next_message()
    aid = await publish(bot, clock.now(), capacity=1)
    await (await first.press(await first.next_message(), "Sign up")).answer()
    announce = await second.wait_for(lambda m: "Reading club" in (m.text or ""))
    assert "New activity" in (announce.text or "")
    await (await second.press(announce, "Sign up")).answer()  # waitlisted
    await (await first.press(first.messages[-1], "Cancel sign-up")).answer()
    await drain_outbox(bot)
    promoted = await second.wait_for(lambda m: "Reading club" in (m.text or "") and m.message_id != announce.message_id)
    assert "seat" in (promoted.text or "").lower() and "名额" not in (promoted.text or "")
    await bot.services.activities.cancel_activity(owner_actor(OWNER_ID), aid)
    await drain_outbox(bot)
    cancelled = await second.wait_for(lambda m: "cancelled" in (m.text or "").lower())
    assert "取消" not in (cancelled.text or "")


# --- #3: rosters and exports only for a coordinator whose scope covers the activity -------------------
async def test_a_coordinator_moved_to_another_branch_gets_no_roster_of_the_activity_they_created(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    head = await add_group(bot.db, "Head")
    pudong = await add_group(bot.db, "Pudong", head)
    huamu = await add_group(bot.db, "Huamu", head)
    alice = await member_user(tg, bot.db, "Alice", (pudong,))
    coordinator = tg.create_user("Coord", language_code="en")
    coordinator.state.started = True
    await add_coordinator(bot.db, coordinator.id, huamu)  # now covers Huamu only
    aid = await publish(bot, clock.now(), group_ids=(pudong,))
    async with bot.db.transaction() as tx:  # they created it while they covered Pudong
        await tx.execute("UPDATE activities SET created_by = ? WHERE id = ?", (coordinator.id, aid))
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    await coordinator.send("/manage")
    listing = await coordinator.next_message()
    assert "Reading club" not in str(listing.buttons)
    for data in (f"actm:ro:{aid}", f"actm:csv:{aid}", f"actm:xlsx:{aid}", f"actm:rp:{aid}:0", f"actm:att:{aid}"):
        answer = await (await coordinator.press_data(listing, data)).answer()
        assert "not allowed" in (answer.text or "").lower(), data
    await coordinator.send(f"/capacity {aid} 5")
    assert "not allowed" in ((await coordinator.next_message()).text or "").lower()
    assert all(m.document is None and "Alice" not in (m.text or "") for m in coordinator.messages)
    assert await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'activity.export'") == 0


# --- #4: statuses in words (the roster export is checked in test_activities_e2e.py) -------------------
async def test_activity_and_sign_up_statuses_are_shown_in_words(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None and bot.services is not None
    alice = await member_user(tg, bot.db, "Alice")
    aid = await publish(bot, clock.now())
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    await bot.services.activities.close_signup(owner_actor(OWNER_ID), aid)
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/manage")
    listing = await owner.next_message()
    assert "Reading club · Sign-up closed" in str(listing.buttons)
    await alice.send("/activities")
    mine = await alice.wait_for(lambda m: "Upcoming activities" in (m.text or ""))
    assert "Signed up" in (mine.text or "") and "confirmed" not in (mine.text or "")


async def test_mydata_lists_the_members_sign_ups_with_statuses_in_words(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    await publish(bot, clock.now())
    await (await alice.press(await alice.next_message(), "Sign up")).answer()
    await alice.send("/mydata")
    doc = await alice.wait_for(lambda m: m.document is not None)
    data = json.loads((await alice.download(doc)).decode("utf-8"))
    (signup,) = data["activities"]["sign_ups"]
    assert (signup["activity"], signup["status"], signup["checked_in_at"]) == ("Reading club", "Signed up", None)


async def test_a_command_closes_an_unfinished_new_activity_and_its_text_is_not_taken(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    assert bot.db is not None
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/newactivity")
    await owner.next_message()
    await owner.send("Tea salon")
    assert "start time" in ((await owner.next_message()).text or "").lower()
    await owner.send("/manage")  # another command: the unfinished /newactivity is closed first
    closed = await owner.next_message()
    assert "new activity" in (closed.text or "") and "closed" in (closed.text or "")
    await owner.next_message()  # /manage's own answer
    await owner.send("Tomorrow 9am")  # not taken as the start time
    await owner.next_message()
    assert await bot.db.fetchval("SELECT COUNT(*) FROM ptb_conversations WHERE name = 'activity_new'") == 0
    assert await bot.db.fetchval("SELECT COUNT(*) FROM activities") == 0
