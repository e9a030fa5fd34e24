"""Coordinator lists that page instead of stopping at 30: /manage, Mark attendance, survey answers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from tests.activities_helpers import add_coordinator, add_member, owner_actor, publish, two_districts
from tests.conftest import OWNER_ID


@pytest.fixture(autouse=True)
def no_flood_limits(tg: FakeTelegram) -> None:
    tg.set_rate_limits(False)


def _text(message: SandboxMessage) -> str:
    return message.text or ""


def _owner(tg: FakeTelegram) -> SandboxUser:
    return tg.create_user("Owner", language_code="en", user_id=OWNER_ID)


def _short_data(message: SandboxMessage) -> bool:
    return all(len(b["callback_data"].encode()) <= 64 for b in message.inline_buttons if "callback_data" in b)


async def _with_confirmed(bot: BotRuntime, clock: FakeClock, people: int) -> int:
    """An activity with `people` confirmed members P00, P01, ... (signed up in that order)."""
    assert bot.db is not None and bot.services is not None
    aid = await publish(bot, clock.now(), capacity=people + 5)
    for n in range(people):
        await add_member(bot.db, 900_000 + n, f"P{n:02d}")
        assert (await bot.services.activities.sign_up(900_000 + n, aid)).ok
    return aid


async def _open(owner: SandboxUser, button: str) -> SandboxMessage:
    """/manage, the activity, then `button` on its roster: the list it opens."""
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    roster = await owner.next_message()
    await (await owner.press(roster, button)).answer()
    return await owner.next_message()


async def test_manage_lists_45_activities_on_three_pages(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    start = clock.now() + timedelta(days=3)
    for n in range(45):
        moment = start + timedelta(minutes=n)
        await publish(bot, clock.now(), title=f"A{n:02d}", starts_at=moment, ends_at=moment + timedelta(hours=2))
    owner = _owner(tg)
    await owner.send("/manage")
    first = await owner.next_message()
    assert "Page 1/3" in _text(first) and "A00" in first.buttons and "A14" in first.buttons
    assert "A15" not in first.buttons and _short_data(first)
    await (await owner.press(first, "▶")).answer()
    second = await owner.wait_for(lambda m: m.message_id == first.message_id and "Page 2/3" in _text(m))
    assert "A15" in second.buttons and "A29" in second.buttons and "A14" not in second.buttons
    await (await owner.press_data(second, "actml:999999")).answer()
    last = await owner.wait_for(lambda m: m.message_id == first.message_id and "Page 3/3" in _text(m))
    assert "A44" in last.buttons and "A29" not in last.buttons and "▶" not in last.buttons
    await owner.press(last, "A44")
    roster = await owner.wait_for(lambda m: "A44" in _text(m) and m.message_id != first.message_id)
    assert "Mark attendance" in roster.buttons


async def test_manage_page_that_is_not_a_number_is_a_stale_button(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    await publish(bot, clock.now())
    owner = _owner(tg)
    await owner.send("/manage")
    listing = await owner.next_message()
    stale = await (await owner.press_data(listing, "actml:x")).answer()
    assert "expired" in (stale.text or "")


async def test_manage_shows_a_scoped_coordinator_only_the_activities_they_may_manage(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    pudong, huamu = await two_districts(bot.db)
    await publish(bot, clock.now(), title="In Pudong", group_ids=(pudong,))
    await publish(bot, clock.now(), title="Both", group_ids=(pudong, huamu))
    await publish(bot, clock.now(), title="In Huamu", group_ids=(huamu,))
    coordinator = tg.create_user("Pudong coordinator", language_code="en")
    await add_coordinator(bot.db, coordinator.id, pudong)
    await coordinator.send("/manage")
    listing = await coordinator.next_message()
    assert "In Pudong" in listing.buttons
    assert "Both" not in listing.buttons and "In Huamu" not in listing.buttons


async def test_attendance_list_of_45_pages_and_marks_a_name_from_page_two(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    aid = await _with_confirmed(bot, clock, 45)
    owner = _owner(tg)
    names = await _open(owner, "Mark attendance")
    assert "Tap a name" in _text(names) and "Page 1/3" in _text(names) and _short_data(names)
    assert "P00" in names.buttons and "P19" in names.buttons and "P20" not in names.buttons
    await (await owner.press(names, "▶")).answer()
    second = await owner.wait_for(lambda m: m.message_id == names.message_id and "Page 2/3" in _text(m))
    assert "P20" in second.buttons and "P39" in second.buttons and "P19" not in second.buttons
    await (await owner.press(second, "P25")).answer()  # days before: check-in is not open, it asks (#17)
    ask = await owner.next_message()
    assert "not open" in _text(ask)
    assert "marked" in ((await (await owner.press(ask, "Mark attended anyway")).answer()).text or "").lower()
    await owner.wait_for(lambda m: m.message_id == ask.message_id and "marked" in _text(m).lower())
    row = await bot.db.fetchone(
        "SELECT s.checked_in_at FROM activity_signups s JOIN members m ON m.id = s.member_id"
        " WHERE s.activity_id = ? AND m.name = 'P25'",
        (aid,),
    )
    assert row is not None and row["checked_in_at"] is not None
    again = await _open(owner, "Mark attendance")
    await (await owner.press_data(again, f"actm:ap:{aid}:1")).answer()
    page_two = await owner.wait_for(lambda m: m.message_id == again.message_id and "Page 2/3" in _text(m))
    # Checked-in names stay in the list with ✅ (a second tap undoes it, #17): the pages do not shift.
    assert "P25" not in page_two.buttons and "✅ P25" in page_two.buttons and "P39" in page_two.buttons
    assert "Checked in: 1/45" in _text(page_two)


async def test_survey_answers_of_40_page_by_ten(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None and bot.services is not None
    service = bot.services.activities
    aid = await publish(bot, clock.now(), capacity=50, survey=True)
    for n in range(40):
        mid = await add_member(bot.db, 910_000 + n, f"S{n:02d}")
        assert (await service.sign_up(910_000 + n, aid)).ok
        assert (await service.mark_attended(owner_actor(OWNER_ID), aid, mid)).ok
        assert (await service.rate(910_000 + n, mid, aid, n % 5 + 1)).ok
        clock.advance(timedelta(seconds=1))
        assert await service.comment(mid, aid, f"C{n:02d} <b>&")
    owner = _owner(tg)
    first = await _open(owner, "Survey results")
    text = _text(first)
    assert "40 answers" in text and "Page 1/4" in text
    assert "C00 <b>&" in text and "C09" in text and "C10" not in text
    await (await owner.press(first, "▶")).answer()
    second = await owner.wait_for(lambda m: m.message_id == first.message_id and "Page 2/4" in _text(m))
    assert "C10" in _text(second) and "C19" in _text(second) and "C09" not in _text(second)
    await (await owner.press_data(second, f"actm:sp:{aid}:77")).answer()
    last = await owner.wait_for(lambda m: m.message_id == first.message_id and "Page 4/4" in _text(m))
    assert "C39" in _text(last) and "▶" not in last.buttons
    stale = await (await owner.press_data(last, f"actm:sp:{aid}:two")).answer()
    assert "expired" in (stale.text or "")


async def test_member_forging_the_list_buttons_is_refused(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    aid = await _with_confirmed(bot, clock, 3)
    member = tg.create_user("Forger", language_code="en")
    member.state.started = True
    await add_member(bot.db, member.id, "Forger", language="en")
    await member.send("/activities")
    anchor = await member.next_message()
    forged = ["actml:0", "actml:1", f"actm:ro:{aid}", f"actm:rp:{aid}:1", f"actm:att:{aid}", f"actm:ap:{aid}:1"]
    forged += [f"actm:sv:{aid}", f"actm:sp:{aid}:0", f"actm:mk:{aid}:1"]
    for data in forged:
        result = await (await member.press_data(anchor, data)).answer()
        assert "not allowed" in (result.text or "").lower(), data
    checked = await bot.db.fetchval(
        "SELECT COUNT(*) FROM activity_signups WHERE activity_id = ? AND checked_in_at IS NOT NULL", (aid,)
    )
    assert checked == 0
    assert all("P0" not in _text(m) for m in member.messages)


async def test_coordinator_outside_the_scope_cannot_page_another_activitys_lists(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    pudong, huamu = await two_districts(bot.db)
    aid = await publish(bot, clock.now(), group_ids=(pudong,))
    other = tg.create_user("Huamu coordinator", language_code="en")
    await add_coordinator(bot.db, other.id, huamu)
    await other.send("/manage")
    menu = await other.next_message()
    for data in (f"actm:ap:{aid}:0", f"actm:sp:{aid}:0", f"actm:rp:{aid}:0"):
        result = await (await other.press_data(menu, data)).answer()
        assert "not allowed" in (result.text or "").lower(), data
