"""Changing the audience of a scheduled or recurring notice from its status view ("👥 Change
audience"): the compose conversation's audience screens, then the notice goes to the new audience."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.clock import FakeClock
from bot.errors import Refusal
from bot.notices import Draft, Recurrence, Segment
from bot.roles import AccessDenied
from bot.runtime import BotRuntime
from sandbox.driver import SandboxMessage, SandboxUser
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID, StartBot
from tests.notices_helpers import add_coordinator, add_group, db_of, members

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@dataclass
class World:
    owner: SandboxUser
    coord: SandboxUser  # coordinator of group A
    other_coord: SandboxUser  # coordinator of group B
    in_a: list[SandboxUser]
    in_b: list[SandboxUser]
    a: int
    b: int


async def _world(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> World:
    tg.set_rate_limits(True, private_burst=10)
    clock.set(START)
    db = db_of(bot)
    head = await add_group(db, "浦东新联会")
    a = await add_group(db, "Group A", head)
    b = await add_group(db, "Group B", head)
    in_a = await members(tg, db, 2, [a], prefix="A")
    in_b = await members(tg, db, 2, [b], prefix="B")
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    coord = tg.create_user("Coord A", language_code="en")
    other_coord = tg.create_user("Coord B", language_code="en")
    for user in (owner, coord, other_coord):
        user.state.started = True
    await add_coordinator(db, coord.id, a)
    await add_coordinator(db, other_coord.id, b)
    return World(owner, coord, other_coord, in_a, in_b, a, b)


async def _schedule(bot: BotRuntime, user_id: int, segment: Segment, text: str, *,
                    recurrence: Recurrence | None = None) -> int:
    services = bot.services
    assert services is not None
    who = await services.roles.actor(user_id)
    now = services.clock.now()
    if recurrence is None:
        draft = Draft(text, segment, at=now + timedelta(hours=3), urgent=True)
    else:
        draft = Draft(text, segment, recurrence=recurrence, until=now + timedelta(days=10), urgent=True)
    return (await services.notices.create(who, draft, "en")).notice_id


async def _open_view(user: SandboxUser, notice_id: int) -> SandboxMessage:
    await user.send("/notices")
    listing = await user.next_message()
    await user.press(listing, lambda b: str(b.get("text", "")).startswith(f"#{notice_id} "))
    return await user.wait_for(lambda m: m.message_id == listing.message_id and "Next sending" in m.text)


async def _owners_notice_to_a(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock, text: str
) -> tuple[World, int, SandboxMessage]:
    """The world, a notice the owner scheduled for group A, and its view in the owner's chat."""
    w = await _world(tg, bot, clock)
    notice_id = await _schedule(bot, OWNER_ID, Segment(group_ids=(w.a,)), text)
    return w, notice_id, await _open_view(w.owner, notice_id)


async def _ask_audience(user: SandboxUser, view: SandboxMessage) -> SandboxMessage:
    """From the notice's view: 👥 Change audience; the audience question (the view edited)."""
    await user.press(view, "👥 Change audience")
    return await user.wait_for(lambda m: m.message_id == view.message_id and "Who should" in m.text)


async def _change_to_group(user: SandboxUser, view: SandboxMessage, group: str) -> SandboxMessage:
    """From the notice's view: 👥 Change audience → By group → `group` → Done; the answer."""
    await user.press(view, "👥 Change audience")
    ask = await user.wait_for(lambda m: m.message_id == view.message_id and "Who should receive it?" in m.text)
    await user.press(ask, "By group")
    picker = await user.wait_for(lambda m: m.message_id == view.message_id and "Choose one or more groups" in m.text)
    await user.press(picker, group)
    picked = await user.wait_for(lambda m: m.message_id == view.message_id and f"✅ {group}" in m.buttons)
    await user.press(picked, "Done")
    return await user.wait_for(lambda m: m.message_id == view.message_id and "Audience of notice" in m.text)


async def _segment(bot: BotRuntime, notice_id: int) -> Segment:
    return Segment.from_json(str(await db_of(bot).fetchval("SELECT segment FROM notices WHERE id = ?", (notice_id,))))


async def _chats(bot: BotRuntime, notice_id: int) -> set[int]:
    rows = await db_of(bot).fetchall("SELECT chat_id FROM outbox WHERE kind = 'notice' AND ref_id = ?", (notice_id,))
    return {int(r["chat_id"]) for r in rows}


async def test_scheduled_notice_goes_to_the_audience_it_was_changed_to(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    w, notice_id, view = await _owners_notice_to_a(tg, bot, clock, "For whoever it is now")
    done = await _change_to_group(w.owner, view, "Group B")
    assert done.text == f"Audience of notice #{notice_id} changed: 2 recipients at present."
    assert await _segment(bot, notice_id) == Segment(group_ids=(w.b,))
    services = bot.services
    assert services is not None
    clock.advance(timedelta(hours=4))
    assert (await services.notices.run_due()).fired == [notice_id]
    for person in w.in_b:
        await person.wait_for(lambda m: m.text == "For whoever it is now")
    assert await _chats(bot, notice_id) == {p.id for p in w.in_b}
    assert not any(m.text == "For whoever it is now" for p in w.in_a for m in p.inbox)
    assert tg.counters.validation_errors == []


async def test_recurring_notice_changes_audience_from_its_next_occurrence(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    w = await _world(tg, bot, clock)
    notice_id = await _schedule(bot, OWNER_ID, Segment(group_ids=(w.a,)), "Daily word",
                                recurrence=Recurrence("daily", time(12, 0)))
    services = bot.services
    assert services is not None
    clock.set(datetime(2026, 12, 1, 4, 5, tzinfo=UTC))  # 12:05 in Shanghai: the first occurrence
    first = (await services.notices.run_due()).fired
    assert len(first) == 1 and await _chats(bot, first[0]) == {p.id for p in w.in_a}
    view = await _open_view(w.owner, notice_id)
    await _change_to_group(w.owner, view, "Group B")
    clock.set(datetime(2026, 12, 2, 4, 5, tzinfo=UTC))
    second = (await services.notices.run_due()).fired
    assert len(second) == 1
    assert await _chats(bot, second[0]) == {p.id for p in w.in_b}
    assert await _chats(bot, first[0]) == {p.id for p in w.in_a}  # the earlier firing is untouched
    row = await db_of(bot).fetchone("SELECT status FROM notices WHERE id = ?", (notice_id,))
    assert row is not None and row["status"] == "recurring"


async def test_scoped_coordinator_is_offered_only_groups_in_scope(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    w = await _world(tg, bot, clock)
    notice_id = await _schedule(bot, w.coord.id, Segment(group_ids=(w.a,)), "Local")
    view = await _open_view(w.coord, notice_id)
    await w.coord.press(view, "👥 Change audience")
    ask = await w.coord.wait_for(lambda m: m.message_id == view.message_id and "Who should" in m.text)
    await w.coord.press(ask, "By group")
    picker = await w.coord.wait_for(lambda m: m.message_id == view.message_id and "Choose one" in m.text)
    assert "Group B" not in picker.buttons
    forged = await w.coord.press_data(picker, f"ntc:g:{w.b}")
    await forged.answer()
    nothing = await w.coord.press(picker, "Done")  # nothing chosen
    assert (await nothing.answer()).text == "Please choose at least one."
    assert await _segment(bot, notice_id) == Segment(group_ids=(w.a,))
    # Everyone, for a coordinator, means everyone in their scope.
    await w.coord.press(picker, "Cancel")
    view = await _open_view(w.coord, notice_id)
    await w.coord.press(view, "👥 Change audience")
    ask = await w.coord.wait_for(lambda m: m.message_id == view.message_id and "Who should" in m.text)
    await w.coord.press(ask, "Everyone")
    done = await w.coord.wait_for(lambda m: "Audience of notice" in m.text)
    assert "2 recipients" in done.text
    services = bot.services
    assert services is not None
    clock.advance(timedelta(hours=4))
    assert (await services.notices.run_due()).fired == [notice_id]
    assert await _chats(bot, notice_id) == {p.id for p in w.in_a}


async def test_forged_change_audience_press_is_refused_and_changes_nothing(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    w = await _world(tg, bot, clock)
    notice_id = await _schedule(bot, w.coord.id, Segment(group_ids=(w.a,)), "Mine")
    member = w.in_b[0]
    await member.send("/notices")
    refused = await member.next_message()
    forged = await member.press_data(refused, f"nta:{notice_id}")
    assert (await forged.answer()).text == "Sorry, you are not allowed to do that."
    await w.other_coord.send("/notices")
    own_list = await w.other_coord.next_message()
    forged = await w.other_coord.press_data(own_list, f"nta:{notice_id}")
    assert (await forged.answer()).text == "Sorry, you are not allowed to do that."
    # Nor can they push a choice into a conversation they never started.
    stray = await w.other_coord.press_data(own_list, f"ntc:g:{w.b}")
    await stray.answer()
    assert await _segment(bot, notice_id) == Segment(group_ids=(w.a,))
    audit = await db_of(bot).fetchall("SELECT * FROM audit_log WHERE action = 'notice.audience'")
    assert audit == []


async def test_sent_notice_cannot_be_retargeted(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    w, notice_id, view = await _owners_notice_to_a(tg, bot, clock, "Soon gone")
    services = bot.services
    assert services is not None
    clock.advance(timedelta(hours=4))
    assert (await services.notices.run_due()).fired == [notice_id]
    await w.owner.press(view, "👥 Change audience")
    await w.owner.wait_for(lambda m: m.message_id == view.message_id and m.text ==
                           "This notice has already been sent or cancelled; its audience can no longer be changed.")
    assert await _segment(bot, notice_id) == Segment(group_ids=(w.a,))


async def test_notice_sent_while_choosing_keeps_its_audience(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    w, notice_id, view = await _owners_notice_to_a(tg, bot, clock, "Racing")
    ask = await _ask_audience(w.owner, view)
    services = bot.services
    assert services is not None
    clock.advance(timedelta(hours=4))
    assert (await services.notices.run_due()).fired == [notice_id]
    await w.owner.press(ask, "Everyone")
    await w.owner.wait_for(lambda m: "can no longer be changed" in m.text)
    assert await _segment(bot, notice_id) == Segment(group_ids=(w.a,))
    assert await _chats(bot, notice_id) == {p.id for p in w.in_a}
    # The conversation is over: /notice starts afresh.
    await w.owner.send("/notice")
    assert "text of the notice" in (await w.owner.next_message()).text


async def test_audience_change_is_audited(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    w, notice_id, view = await _owners_notice_to_a(tg, bot, clock, "Audited")
    ask = await _ask_audience(w.owner, view)
    await w.owner.press(ask, "Everyone")
    done = await w.owner.wait_for(lambda m: "Audience of notice" in m.text)
    assert "4 recipients" in done.text
    rows = await db_of(bot).fetchall(
        "SELECT actor_user_id, target_type, target_id, details FROM audit_log WHERE action = 'notice.audience'")
    assert len(rows) == 1
    assert (rows[0]["actor_user_id"], rows[0]["target_type"], str(rows[0]["target_id"])) == (
        OWNER_ID, "notice", str(notice_id))
    details = json.loads(str(rows[0]["details"]))
    assert Segment.from_json(details["from"]) == Segment(group_ids=(w.a,))
    assert Segment.from_json(details["to"]) == Segment(everyone=True)


async def test_service_refuses_an_audience_outside_the_callers_scope(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    w = await _world(tg, bot, clock)
    notice_id = await _schedule(bot, w.coord.id, Segment(group_ids=(w.a,)), "Scoped")
    services = bot.services
    assert services is not None
    coord = await services.roles.actor(w.coord.id)
    with pytest.raises(AccessDenied):
        await services.notices.change_audience(coord, notice_id, Segment(group_ids=(w.b,)))
    owner = await services.roles.actor(OWNER_ID)
    with pytest.raises(Refusal) as raised:  # the notice is sent with its author's scope
        await services.notices.change_audience(owner, notice_id, Segment(group_ids=(w.b,)))
    assert raised.value.key == "notice.audience.outside_author"
    assert await _segment(bot, notice_id) == Segment(group_ids=(w.a,))


async def test_change_audience_while_writing_a_notice_keeps_the_draft(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    w, notice_id, view = await _owners_notice_to_a(tg, bot, clock, "Later")
    await w.owner.send("/notice")
    await w.owner.next_message()
    await w.owner.send("A draft in progress")
    ask = await w.owner.next_message()
    busy = await w.owner.press(view, "👥 Change audience")
    assert (await busy.answer()).text == "You are writing a notice: send or /cancel it first."
    await w.owner.press(ask, "Everyone")
    control = await w.owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)
    assert "Recipients: 4 members" in control.text
    assert await _segment(bot, notice_id) == Segment(group_ids=(w.a,))


async def test_a_re_targeting_interrupted_by_a_restart_still_changes_the_same_notice(
    tg: FakeTelegram, start_bot: StartBot, clock: FakeClock
) -> None:
    runtime = await start_bot()
    w, notice_id, view = await _owners_notice_to_a(tg, runtime, clock, "Survives a restart")
    ask = await _ask_audience(w.owner, view)
    assert ask.text.startswith(f"Notice #{notice_id}. Who should receive it?")  # which notice is re-targeted
    await runtime.stop()
    runtime = await start_bot()  # the conversation and its draft (which notice) come back from the database
    await w.owner.press(ask, "By group")
    picker = await w.owner.wait_for(lambda m: m.message_id == view.message_id and "Choose one or more groups" in m.text)
    await w.owner.press(picker, "Group B")
    picked = await w.owner.wait_for(lambda m: m.message_id == view.message_id and "✅ Group B" in m.buttons)
    await w.owner.press(picked, "Done")
    await w.owner.wait_for(lambda m: m.message_id == view.message_id and "Audience of notice" in m.text)
    assert await _segment(runtime, notice_id) == Segment(group_ids=(w.b,))
    assert await db_of(runtime).fetchval("SELECT COUNT(*) FROM notices") == 1  # no new notice was made
