"""Notice audiences borrowed from activities and questionnaires: participants of an activity
(confirmed / waitlisted / attended) and members who have not answered a questionnaire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.clock import FakeClock
from bot.notices import Segment, activity_segment
from bot.roles import AccessDenied
from bot.runtime import BotRuntime
from sandbox.driver import SandboxMessage, SandboxUser
from sandbox.server import FakeTelegram
from tests.activities_helpers import draft
from tests.conftest import OWNER_ID
from tests.notices_helpers import add_coordinator, add_group, confirm_schedule, db_of, members

ONE_QUESTION = [("single", "Which day suits you?", ["Saturday", "Sunday"])]


@dataclass
class World:
    coord: SandboxUser
    people: list[SandboxUser]  # in the coordinator's group
    outsider: SandboxUser  # in a sibling group
    local: int
    other: int
    activity_id: int


async def _world(tg: FakeTelegram, bot: BotRuntime, capacity: int = 2) -> World:
    """A coordinator of 花木街道新联会 with an activity there: people[0..capacity-1] confirmed, the rest waiting."""
    tg.set_rate_limits(True, private_burst=10)
    db = db_of(bot)
    head = await add_group(db, "浦东新联会")
    local = await add_group(db, "花木街道新联会", head)
    other = await add_group(db, "陆家嘴金融城新联会", head)
    people = await members(tg, db, 3, [local])
    outsider = (await members(tg, db, 1, [other], prefix="外人"))[0]
    coord = tg.create_user("Coordinator", language_code="en")
    coord.state.started = True
    await add_coordinator(db, coord.id, local)
    services = bot.services
    assert services is not None
    who = await services.roles.actor(coord.id)
    created = await services.activities.create(
        who, draft(services.clock.now(), title="Reading club", capacity=capacity, group_ids=(local,))
    )
    assert created.ok and created.activity is not None
    for person in people:
        assert (await services.activities.sign_up(person.id, created.activity.id)).ok
    return World(coord, people, outsider, local, other, created.activity.id)


async def _ask_audience(user: SandboxUser, text: str) -> SandboxMessage:
    await user.send("/notice")
    await user.next_message()
    await user.send(text)
    return await user.next_message()


async def _pick_participants(user: SandboxUser, text: str, status: str, title: str = "Reading club") -> SandboxMessage:
    """Run /notice up to the preview for participants of `title` with `status`; return the control message."""
    ask = await _ask_audience(user, text)
    await user.press(ask, "Activity participants")
    picker = await user.wait_for(lambda m: m.message_id == ask.message_id and "Choose the activity" in m.text)
    await user.press(picker, lambda b: title in str(b.get("text")))
    statuses = await user.wait_for(lambda m: m.message_id == ask.message_id and "Which participants" in m.text)
    await user.press(statuses, lambda b: str(b.get("text")).startswith(status))
    await user.next_message()  # the preview itself
    return await user.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)


async def _send(user: SandboxUser, control: SandboxMessage) -> int:
    await user.press(control, "Send now")
    await user.wait_for(lambda m: m.message_id == control.message_id and "Delivery report" in m.text)
    return int(control.message_id)


async def _notice_chats(bot: BotRuntime, text: str) -> set[int]:
    rows = await db_of(bot).fetchall(
        "SELECT o.chat_id FROM outbox o JOIN notices n ON n.id = o.ref_id WHERE o.kind = 'notice' AND n.text = ?",
        (text,),
    )
    return {int(r["chat_id"]) for r in rows}


async def _member_id(bot: BotRuntime, user: SandboxUser) -> int:
    return int(await db_of(bot).fetchval("SELECT id FROM members WHERE user_id = ?", (user.id,)))


async def test_confirmed_participants_alone_receive_the_notice(tg: FakeTelegram, bot: BotRuntime) -> None:
    w = await _world(tg, bot)
    control = await _pick_participants(w.coord, "Bring your book", "Confirmed")
    assert "Recipients: 2 members" in control.text
    await _send(w.coord, control)
    for person in w.people[:2]:
        await person.wait_for(lambda m: m.text == "Bring your book")
    assert await _notice_chats(bot, "Bring your book") == {w.people[0].id, w.people[1].id}
    assert not any(m.text == "Bring your book" for m in w.people[2].inbox)
    assert tg.counters.validation_errors == []


async def test_waitlisted_participants_alone_receive_the_notice(tg: FakeTelegram, bot: BotRuntime) -> None:
    w = await _world(tg, bot)
    control = await _pick_participants(w.coord, "A seat may free up", "Waitlisted")
    assert "Recipients: 1 members" in control.text
    await _send(w.coord, control)
    await w.people[2].wait_for(lambda m: m.text == "A seat may free up")
    assert await _notice_chats(bot, "A seat may free up") == {w.people[2].id}


async def test_attended_means_checked_in(tg: FakeTelegram, bot: BotRuntime) -> None:
    w = await _world(tg, bot)
    services = bot.services
    assert services is not None
    who = await services.roles.actor(w.coord.id)
    assert (await services.activities.mark_attended(who, w.activity_id, await _member_id(bot, w.people[1]))).ok
    control = await _pick_participants(w.coord, "Thanks for coming", "Attended")
    assert "Recipients: 1 members" in control.text
    await _send(w.coord, control)
    await w.people[1].wait_for(lambda m: m.text == "Thanks for coming")
    assert await _notice_chats(bot, "Thanks for coming") == {w.people[1].id}


async def test_status_buttons_show_how_many_participants_each_has(tg: FakeTelegram, bot: BotRuntime) -> None:
    w = await _world(tg, bot)
    ask = await _ask_audience(w.coord, "Counting")
    await w.coord.press(ask, "Activity participants")
    picker = await w.coord.wait_for(lambda m: m.message_id == ask.message_id and "Choose the activity" in m.text)
    await w.coord.press(picker, lambda b: "Reading club" in str(b.get("text")))
    statuses = await w.coord.wait_for(lambda m: m.message_id == ask.message_id and "Which participants" in m.text)
    assert statuses.buttons[:3] == ["Confirmed (2)", "Waitlisted (1)", "Attended, checked in (0)"]


async def test_questionnaire_non_respondents_receive_it_and_answerers_do_not(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    w = await _world(tg, bot)
    services = bot.services
    assert services is not None
    who = await services.roles.actor(w.coord.id)
    survey_id, invited = await services.surveys.publish(who, "会员需求调研", ONE_QUESTION, w.local, 7)
    assert invited == 3
    answerer = await services.roles.actor(w.people[0].id)
    _, progress = await services.surveys.begin(answerer, survey_id)
    assert progress is not None and progress.question is not None
    await services.surveys.answer(answerer, survey_id, progress.question.id, "1")
    ask = await _ask_audience(w.coord, "Please answer the questionnaire")
    await w.coord.press(ask, "Questionnaire non-respondents")
    picker = await w.coord.wait_for(lambda m: m.message_id == ask.message_id and "Choose the questionnaire" in m.text)
    await w.coord.press(picker, "会员需求调研")
    await w.coord.next_message()
    control = await w.coord.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)
    assert "Recipients: 2 members" in control.text
    await _send(w.coord, control)
    for person in w.people[1:]:
        await person.wait_for(lambda m: m.text == "Please answer the questionnaire")
    assert await _notice_chats(bot, "Please answer the questionnaire") == {w.people[1].id, w.people[2].id}


async def test_coordinator_cannot_target_an_activity_of_another_subtree(tg: FakeTelegram, bot: BotRuntime) -> None:
    w = await _world(tg, bot)
    services = bot.services
    assert services is not None
    rival = tg.create_user("Rival", language_code="en")
    rival.state.started = True
    await add_coordinator(db_of(bot), rival.id, w.other)
    own = await services.activities.create(
        await services.roles.actor(rival.id), draft(services.clock.now(), title="Finance salon", group_ids=(w.other,))
    )
    assert own.ok
    ask = await _ask_audience(rival, "Forged")
    await rival.press(ask, "Activity participants")
    picker = await rival.wait_for(lambda m: m.message_id == ask.message_id and "Choose the activity" in m.text)
    assert not any("Reading club" in b for b in picker.buttons)
    forged = await rival.press_data(picker, f"ntc:ai:{w.activity_id}")
    assert "not available" in ((await forged.answer()).text or "")
    nonsense = await rival.press_data(picker, "ntc:ai:abc")  # malformed: the one parser's polite answer
    assert "button has expired" in ((await nonsense.answer()).text or "")
    # The rival can still pick his own activity: nothing was lost.
    await rival.press(picker, lambda b: "Finance salon" in str(b.get("text")))
    statuses = await rival.wait_for(lambda m: m.message_id == ask.message_id and "Which participants" in m.text)
    forged_status = await rival.press_data(statuses, f"ntc:as:{w.activity_id}:c")
    assert "not available" in ((await forged_status.answer()).text or "")
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM notices") == 0
    with pytest.raises(AccessDenied):  # the service refuses too, whatever the handler does
        await services.notices.count(await services.roles.actor(rival.id), activity_segment(w.activity_id, "confirmed"))


async def test_scheduled_notice_to_participants_resolves_them_when_it_fires(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai; the activity is on 12-04
    w = await _world(tg, bot)
    control = await _pick_participants(w.coord, "See you on Thursday", "Confirmed")
    await w.coord.press(control, "Send at…")
    await w.coord.wait_for(lambda m: "Type when" in m.text)
    await w.coord.send("2026-12-02 14:00")
    confirm = await confirm_schedule(w.coord)
    assert "Scheduled for 2026-12-02 14:00" in confirm.text
    services = bot.services
    assert services is not None
    # After scheduling, the second confirmed member cancels and the waitlisted one moves up.
    assert (await services.activities.cancel_signup(w.people[1].id, w.activity_id)).ok
    clock.set(datetime(2026, 12, 2, 6, 0, tzinfo=UTC))
    assert len((await services.notices.run_due()).fired) == 1
    for person in (w.people[0], w.people[2]):
        await person.wait_for(lambda m: m.text == "See you on Thursday")
    assert await _notice_chats(bot, "See you on Thursday") == {w.people[0].id, w.people[2].id}


async def test_segments_stored_before_statuses_existed_still_load() -> None:
    old = '{"kind": "members", "everyone": false, "group_ids": [3], "categories": ["1"], "ref_id": null}'
    assert Segment.from_json(old) == Segment(group_ids=(3,), categories=("1",))
    new = Segment(kind="activity", ref_id=7, status="waitlisted")
    assert Segment.from_json(new.to_json()) == new


async def test_notify_participants_from_the_activity_view_preselects_the_audience(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    w = await _world(tg, bot)
    await w.coord.send("/manage")
    listing = await w.coord.next_message()
    await w.coord.press(listing, "Reading club")
    roster = await w.coord.wait_for(lambda m: "Notify participants" in str(m.buttons))
    await w.coord.press(roster, "📣 Notify participants")
    ask = await w.coord.wait_for(lambda m: "participants of Reading club" in m.text)
    await w.coord.send("Room changed to 5")
    statuses = await w.coord.wait_for(lambda m: m.message_id > ask.message_id and "Which participants" in m.text)
    await w.coord.press(statuses, "Confirmed (2)")
    await w.coord.next_message()  # the preview itself
    control = await w.coord.wait_for(lambda m: m.message_id == statuses.message_id and "Recipients" in m.text)
    assert "Recipients: 2 members" in control.text
    await _send(w.coord, control)
    assert await _notice_chats(bot, "Room changed to 5") == {w.people[0].id, w.people[1].id}


async def test_forged_notify_participants_button_is_refused(tg: FakeTelegram, bot: BotRuntime) -> None:
    w = await _world(tg, bot)
    rival = tg.create_user("Rival", language_code="en")
    rival.state.started = True
    await add_coordinator(db_of(bot), rival.id, w.other)
    await rival.send("/notices")
    anchor = await rival.next_message()
    forged = await rival.press_data(anchor, f"ntc:pre:{w.activity_id}")
    assert "not available" in ((await forged.answer()).text or "")
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM notices") == 0


async def test_participants_who_left_the_coordinators_subtree_are_not_reached(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    w = await _world(tg, bot)
    db = db_of(bot)
    moved = await _member_id(bot, w.people[0])
    async with db.transaction() as tx:  # people[0] moved to the sibling association after signing up
        await tx.execute("UPDATE member_groups SET group_id = ? WHERE member_id = ?", (w.other, moved))
    control = await _pick_participants(w.coord, "Only my people", "Confirmed")
    assert "Recipients: 1 members" in control.text
    await _send(w.coord, control)
    assert await _notice_chats(bot, "Only my people") == {w.people[1].id}
    services = bot.services
    assert services is not None
    owner_view = await services.notices.count(
        await services.roles.actor(OWNER_ID), activity_segment(w.activity_id, "confirmed")
    )
    assert owner_view == 2  # an owner reaches every participant
