"""Notices end to end: compose with /notice, acknowledge, who has not, nudge, schedule, repeat."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.clock import FakeClock
from bot.notices import Draft, Segment
from bot.runtime import BotRuntime
from sandbox.driver import SandboxMessage, SandboxUser
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID
from tests.notices_helpers import add_coordinator, add_group, confirm_schedule, db_of, members, outbox_rows


async def _world(tg: FakeTelegram, bot: BotRuntime, count: int = 3) -> tuple[SandboxUser, list[SandboxUser], int]:
    # The scripted coordinator clicks faster than any person: let their chat burst a little more.
    tg.set_rate_limits(True, private_burst=10)
    db = db_of(bot)
    head = await add_group(db, "浦东新联会")
    local = await add_group(db, "花木街道新联会", head)
    people = await members(tg, db, count, [local])
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    owner.state.started = True
    return owner, people, local


async def _compose(owner: SandboxUser, text: str, audience: str = "Everyone") -> SandboxMessage:
    """Run /notice up to the preview; return the control message (recipient count and actions)."""
    await owner.send("/notice")
    assert "text of the notice" in (await owner.next_message()).text
    await owner.send(text)
    ask = await owner.next_message()
    await owner.press(ask, audience)
    await owner.next_message()  # the preview itself
    return await owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)


async def _send_notice(owner: SandboxUser, text: str) -> int:
    control = await _compose(owner, text)
    await owner.press(control, "Send now")
    await owner.wait_for(lambda m: m.message_id == control.message_id and "Delivery report" in m.text)
    return int(control.message_id)


def _notice_id(message: SandboxMessage) -> int:
    data = message.inline_buttons[0]["callback_data"] if message.inline_buttons else ""
    return int(str(data).split(":")[1])


async def test_notice_reaches_everyone_in_scope_with_a_got_it_button(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, _ = await _world(tg, bot)
    control = await _compose(owner, "Study day on Friday <3 & bring notes")
    assert "Recipients: 3 members" in control.text
    await owner.press(control, "Send now")
    report = await owner.wait_for(lambda m: m.message_id == control.message_id and "Delivery report" in m.text)
    assert "3 sent" in report.text
    for person in people:
        got = await person.wait_for(lambda m: "Study day" in m.text)
        assert got.text == "Study day on Friday <3 & bring notes"
        assert got.buttons == ["Got it ✅"]
    assert tg.counters.validation_errors == []


async def test_formatting_of_the_notice_survives(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, _ = await _world(tg, bot, 1)
    await owner.send("/notice")
    await owner.next_message()
    await owner._send_fields({"text": "Bold news", "entities": [{"type": "bold", "offset": 0, "length": 4}]})
    ask = await owner.next_message()
    await owner.press(ask, "Everyone")
    preview = await owner.next_message()
    assert "<b>Bold</b>" in preview.html
    control = await owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)
    await owner.press(control, "Send now")
    got = await people[0].wait_for(lambda m: "news" in m.text)
    assert "<b>Bold</b> news" in got.html


async def test_acknowledging_twice_is_idempotent(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, _ = await _world(tg, bot, 1)
    await _send_notice(owner, "Please confirm")
    got = await people[0].wait_for(lambda m: "Please confirm" in m.text)
    first = await people[0].press(got, "Got it ✅")
    assert "acknowledged" in ((await first.answer()).text or "")
    await people[0].wait_for(lambda m: m.message_id == got.message_id and m.buttons != ["Got it ✅"])
    second = await people[0].press(got, lambda b: "Acknowledged" in str(b.get("text")))
    assert "already" in ((await second.answer()).text or "")
    count = await db_of(bot).fetchval("SELECT COUNT(*) FROM notice_acks")
    assert count == 1


async def test_forged_acknowledgement_is_refused(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, _ = await _world(tg, bot, 1)
    await _send_notice(owner, "Real notice")
    got = await people[0].wait_for(lambda m: "Real notice" in m.text)
    stranger = tg.create_user("Mallory", language_code="en")
    await stranger.send("/start")
    welcome = await stranger.next_message()
    forged = await stranger.press_data(welcome, f"ack:{_notice_id(got)}")
    assert "not sent to you" in ((await forged.answer()).text or "")
    other = await people[0].press_data(got, "ack:999999")
    assert "not sent to you" in ((await other.answer()).text or "")
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM notice_acks") == 0


async def test_members_cannot_send_notices(tg: FakeTelegram, bot: BotRuntime) -> None:
    _, people, _ = await _world(tg, bot, 1)
    await people[0].send("/notice")
    assert "not allowed" in (await people[0].next_message()).text


async def test_who_has_not_lists_only_those_who_did_not_acknowledge(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, _ = await _world(tg, bot, 3)
    await _send_notice(owner, "Read me")
    got = await people[0].wait_for(lambda m: "Read me" in m.text)
    await (await people[0].press(got, "Got it ✅")).answer()
    await owner.send("/notices")
    listing = await owner.next_message()
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Acknowledged: 1" in m.text)
    assert "Not yet: 2" in view.text
    await owner.press(view, "Who has not")
    who = await owner.wait_for(lambda m: "Not yet acknowledged (2)" in m.text)
    assert "花木街道新联会" in who.text
    assert "成员1" in who.text and "成员2" in who.text and "成员0" not in who.text


async def test_nudge_reaches_only_those_who_have_not_acknowledged(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, _ = await _world(tg, bot, 3)
    await _send_notice(owner, "Meeting moved")
    got = await people[0].wait_for(lambda m: "Meeting moved" in m.text)
    await (await people[0].press(got, "Got it ✅")).answer()
    await owner.send("/notices")
    listing = await owner.next_message()
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Not yet: 2" in m.text)
    await owner.press(view, "Nudge")
    await owner.wait_for(lambda m: "on its way to 2 members" in m.text)
    for person in people[1:]:
        await person.wait_for(lambda m: m.text.startswith("⏰ Reminder") and "Meeting moved" in m.text)
    assert not any("Reminder" in m.text for m in people[0].inbox)


async def test_scheduled_notice_fires_when_due(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    owner, people, _ = await _world(tg, bot, 2)
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    control = await _compose(owner, "Scheduled hello")
    await owner.press(control, "Send at…")
    await owner.wait_for(lambda m: "Type when" in m.text)
    await owner.send("2026-12-05 14:00")
    confirm = await confirm_schedule(owner)
    assert "Scheduled for 2026-12-05 14:00" in confirm.text
    services = bot.services
    assert services is not None
    assert (await services.notices.run_due()).fired == []
    clock.set(datetime(2026, 12, 5, 6, 0, tzinfo=UTC))
    report = await services.notices.run_due()
    assert len(report.fired) == 1
    assert (await services.notices.run_due()).fired == []  # claimed once
    for person in people:
        await person.wait_for(lambda m: m.text == "Scheduled hello")


async def test_quiet_hours_push_a_scheduled_notice_to_the_morning(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    owner, _, _ = await _world(tg, bot, 1)
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    control = await _compose(owner, "Late news")
    await owner.press(control, "Send at…")
    await owner.wait_for(lambda m: "Type when" in m.text)
    await owner.send("2026-12-05 23:30")
    assert "Scheduled for 2026-12-06 08:00" in (await confirm_schedule(owner)).text


async def test_recurring_notice_fires_each_day_until_its_end(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    owner, people, _ = await _world(tg, bot, 1)
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    control = await _compose(owner, "Daily study")
    await owner.press(control, "Repeat…")
    await owner.wait_for(lambda m: "Type the repetition" in m.text)
    await owner.send("daily 09:00 until 2026-12-03")
    assert "first at 2026-12-02 09:00" in (await confirm_schedule(owner)).text
    services = bot.services
    assert services is not None
    fired = []
    for day in (2, 3, 4):
        clock.set(datetime(2026, 12, day, 1, 0, tzinfo=UTC) + timedelta(minutes=5))
        fired += (await services.notices.run_due()).fired
    assert len(fired) == 2
    await people[0].wait_for(lambda m: sum(x.text == "Daily study" for x in people[0].messages) == 2)


async def test_notice_due_long_ago_is_missed_and_reported(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    owner, people, _ = await _world(tg, bot, 1)
    services = bot.services
    assert services is not None
    who = await services.roles.actor(OWNER_ID)
    at = clock.now() + timedelta(hours=2)
    created = await services.notices.create(who, Draft("Old news", Segment(everyone=True), at=at, urgent=True), "en")
    clock.advance(timedelta(hours=30))
    report = await services.notices.run_due()
    assert report.missed == [created.notice_id] and report.fired == []
    await owner.wait_for(lambda m: "was not sent" in m.text)
    assert not any(m.text == "Old news" for m in people[0].inbox)


async def test_automatic_nudge_after_the_chosen_hours(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    _owner, people, _ = await _world(tg, bot, 2)
    services = bot.services
    assert services is not None
    who = await services.roles.actor(OWNER_ID)
    created = await services.notices.create(who, Draft("Vote", Segment(everyone=True), nudge_after_h=24), "en")
    got = await people[0].wait_for(lambda m: m.text == "Vote")
    await (await people[0].press(got, "Got it ✅")).answer()
    await people[1].wait_for(lambda m: m.text == "Vote")
    clock.advance(timedelta(hours=25))
    assert (await services.notices.run_due()).nudged == [created.notice_id]
    await people[1].wait_for(lambda m: "Reminder" in m.text)
    assert not any("Reminder" in m.text for m in people[0].inbox)


async def test_notice_is_also_posted_to_the_groups_chats(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, _ = await _world(tg, bot, 1)
    chat = tg.create_group("陆家嘴金融城新联会", [people[0]])
    db = db_of(bot)
    for _ in range(100):
        if await db.fetchval("SELECT COUNT(*) FROM group_chats WHERE status = 'member'"):
            break
        await asyncio.sleep(0.05)
    await owner.send("/notice")
    await owner.next_message()
    await owner.send("For the group too")
    ask = await owner.next_message()
    await owner.press(ask, "Everyone")
    await owner.next_message()
    control = await owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)
    await owner.press(control, "Also post to group chats: off")
    control = await owner.wait_for(lambda m: "1 group chats" in m.text)
    await owner.press(control, "Send now")
    posted = await chat.wait_for(lambda m: m.text == "For the group too")
    assert not posted.buttons


async def test_scoped_coordinator_reaches_only_their_groups(tg: FakeTelegram, bot: BotRuntime) -> None:
    _owner, people, local = await _world(tg, bot, 2)
    db = db_of(bot)
    other = await add_group(db, "陆家嘴金融城新联会", 1)
    outsiders = await members(tg, db, 2, [other], prefix="外")
    coordinator = tg.create_user("Coord", language_code="en")
    await add_coordinator(db, coordinator.id, local)
    control = await _compose(coordinator, "Local only")
    assert "Recipients: 2 members" in control.text
    await coordinator.press(control, "Send now")
    for person in people:
        await person.wait_for(lambda m: m.text == "Local only")
    rows = await db.fetchall("SELECT chat_id FROM outbox WHERE kind = 'notice'")
    assert {int(r["chat_id"]) for r in rows} == {p.id for p in people}
    assert all(not o.inbox for o in outsiders)


async def test_cancelled_scheduled_notice_never_fires(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    owner, _people, _ = await _world(tg, bot, 1)
    services = bot.services
    assert services is not None
    who = await services.roles.actor(OWNER_ID)
    at = clock.now() + timedelta(hours=3)
    created = await services.notices.create(who, Draft("Maybe", Segment(everyone=True), at=at, urgent=True), "en")
    await owner.send("/notices")
    listing = await owner.next_message()
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Next sending" in m.text)
    await owner.press(view, "Cancel this notice")
    ask = await owner.wait_for(lambda m: m.message_id == view.message_id and m.text.startswith("Cancel notice"))
    assert ask.text.startswith(f"Cancel notice #{created.notice_id}?\nMaybe\n\nIt was to go out at 2026-11-22 13:00")
    assert ask.buttons == ["Yes, cancel this notice", "Keep it, go back"]
    assert [len(row) for row in (ask.reply_markup or {})["inline_keyboard"]] == [1, 1]  # each on its own row
    assert await db_of(bot).fetchval("SELECT status FROM notices WHERE id = ?", (created.notice_id,)) == "scheduled"
    await owner.press(ask, "Yes, cancel this notice")
    await owner.wait_for(lambda m: "cancelled" in m.text)
    clock.advance(timedelta(hours=4))
    assert (await services.notices.run_due()).fired == []
    assert await outbox_rows(db_of(bot), "notice", created.notice_id) == []


async def test_open_status_view_updates_live_when_members_acknowledge(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, _ = await _world(tg, bot, 2)
    await _send_notice(owner, "Live summary")
    got = [await p.wait_for(lambda m: "Live summary" in m.text) for p in people]
    await owner.send("/notices")
    listing = await owner.next_message()
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Acknowledged: 0" in m.text)
    for person, message in zip(people, got, strict=True):
        await (await person.press(message, "Got it ✅")).answer()
    # No refresh pressed: the open view is edited by the bot as acknowledgements arrive.
    live = await owner.wait_for(lambda m: m.message_id == view.message_id and "Acknowledged: 2" in m.text)
    assert "Not yet: 0" in live.text
