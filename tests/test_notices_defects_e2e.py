"""Defects of issue #15 in notices, end to end: what a picker shows is what is stored (a double
tap included), the summary before sending shows every choice, proactive messages in the
recipient's language, words instead of raw keys, and audiences restricted to the sender's scope."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.clock import FakeClock
from bot.notices import Draft, Segment
from bot.runtime import BotRuntime
from sandbox.driver import SandboxMessage, SandboxUser
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID
from tests.notices_helpers import add_coordinator, add_group, add_member, db_of, members

TICK = "✅ "
ENTERPRISE = "Managers and technical staff of private/foreign firms"


@dataclass
class World:
    owner: SandboxUser
    coord: SandboxUser  # coordinator of "Group A"
    in_a: list[SandboxUser]
    in_b: list[SandboxUser]
    a: int
    b: int


async def _world(tg: FakeTelegram, bot: BotRuntime) -> World:
    tg.set_rate_limits(True, private_burst=10)
    db = db_of(bot)
    head = await add_group(db, "浦东新联会")
    a = await add_group(db, "Group A", head)
    b = await add_group(db, "Group B", head)
    in_a = await members(tg, db, 2, [a], prefix="A", category="enterprise")
    in_b = await members(tg, db, 1, [b], prefix="B", category="new_media")
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    coord = tg.create_user("Coord A", language_code="en")
    for user in (owner, coord):
        user.state.started = True
    await add_coordinator(db, coord.id, a)
    return World(owner, coord, in_a, in_b, a, b)


async def _picker(user: SandboxUser, audience: str) -> SandboxMessage:
    """/notice with a text, then the group or category picker (`audience`: its button)."""
    await user.send("/notice")
    await user.wait_for(lambda m: "text of the notice" in m.text)
    await user.send("Picker test")
    ask = await user.wait_for(lambda m: "Who should receive" in m.text)
    await user.press(ask, audience)
    return await user.wait_for(lambda m: m.message_id == ask.message_id and "then press Done" in m.text)


def _ticked(message: SandboxMessage) -> set[str]:
    return {str(b["text"])[len(TICK):] for b in message.inline_buttons if str(b.get("text", "")).startswith(TICK)}


def _draft(bot: BotRuntime, user: SandboxUser) -> dict[str, Any]:
    assert bot.app is not None
    draft = bot.app.user_data[user.id].get("notice_draft")
    assert isinstance(draft, dict)
    return draft


async def _settled(user: SandboxUser, message_id: int) -> SandboxMessage:
    """The message as it stands once the bot stopped editing it."""
    for _ in range(20):
        await asyncio.sleep(0.05)
    current = user.chat.current(message_id)
    assert current is not None
    return current


# --- #2: the picker's screen is what is stored, the summary shows every choice --------------------------
async def test_double_tapping_a_group_leaves_the_screen_equal_to_what_is_stored(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    w = await _world(tg, bot)
    picker = await _picker(w.owner, "By group")
    first = await w.owner.press(picker, "Group A")
    second = await w.owner.press(picker, "Group A")
    await first.answer()
    await second.answer()
    screen = await _settled(w.owner, picker.message_id)
    stored = {int(g) for g in _draft(bot, w.owner).get("groups", [])}
    names = {w.a: "Group A", w.b: "Group B"}
    assert _ticked(screen) == {names[g] for g in stored}
    assert _ticked(screen) == set()  # two taps: on, then off


async def test_double_tapping_a_category_leaves_the_screen_equal_to_what_is_stored(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    w = await _world(tg, bot)
    picker = await _picker(w.owner, "By category")
    await (await w.owner.press(picker, ENTERPRISE)).answer()  # one tap: on
    picker = await _settled(w.owner, picker.message_id)
    first = await w.owner.press(picker, TICK + ENTERPRISE)
    second = await w.owner.press(picker, TICK + ENTERPRISE)
    await first.answer()
    await second.answer()
    screen = await _settled(w.owner, picker.message_id)
    stored = set(_draft(bot, w.owner).get("cats", []))
    assert stored == {"enterprise"}  # three taps: on, off, on
    assert _ticked(screen) == {ENTERPRISE}


async def test_summary_before_sending_names_the_chosen_groups_and_categories(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    w = await _world(tg, bot)
    picker = await _picker(w.owner, "By group")
    await (await w.owner.press(picker, "Group B")).answer()
    picker = await _settled(w.owner, picker.message_id)
    await w.owner.press(picker, "Done")
    await w.owner.next_message()  # the preview itself
    control = await w.owner.wait_for(lambda m: m.message_id == picker.message_id and "Recipients" in m.text)
    assert "Group B" in control.text
    assert "Group A" not in control.text

    picker = await _picker(w.owner, "By category")
    await (await w.owner.press(picker, "New-media practitioners")).answer()
    picker = await _settled(w.owner, picker.message_id)
    await w.owner.press(picker, "Done")
    await w.owner.next_message()
    control = await w.owner.wait_for(lambda m: m.message_id == picker.message_id and "Recipients" in m.text)
    assert "New-media practitioners" in control.text
    assert "Recipients: 1 members" in control.text


async def test_summary_before_scheduling_shows_the_time_and_the_options(tg: FakeTelegram, bot: BotRuntime) -> None:
    w = await _world(tg, bot)
    await w.owner.send("/notice")
    await w.owner.next_message()
    await w.owner.send("Later")
    ask = await w.owner.next_message()
    await w.owner.press(ask, "Everyone")
    await w.owner.next_message()
    control = await w.owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)
    await w.owner.press(control, lambda b: str(b.get("text", "")).startswith("Urgent"))
    await w.owner.wait_for(lambda m: m.message_id == ask.message_id and "Urgent: on" in m.text)
    await w.owner.press(control, "Send at…")
    await w.owner.wait_for(lambda m: "Type when" in m.text)
    await w.owner.send("2030-12-05 14:00")
    summary = await w.owner.next_message()
    assert "2030-12-05 14:00" in summary.text
    assert "Everyone" in summary.text and "Urgent: on" in summary.text
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM notices") == 0  # nothing until confirmed
    await w.owner.press(summary, "Schedule")
    confirm = await w.owner.wait_for(lambda m: "Scheduled for 2030-12-05 14:00" in m.text)
    assert confirm.text
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM notices WHERE status = 'scheduled'") == 1


# --- #5: proactive messages in the recipient's Telegram language ------------------------------------
async def test_member_with_an_english_telegram_gets_notice_button_and_nudge_in_english(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    tg.set_rate_limits(True, private_burst=10)
    db = db_of(bot)
    head = await add_group(db, "浦东新联会")
    local = await add_group(db, "花木街道新联会", head)
    member = tg.create_user("Alice", language_code="en")
    await add_member(db, member, [local], lang=None)  # never used /language
    await member.send("/help")  # Telegram tells the bot the member's language
    await member.next_message()
    author = tg.create_user("作者", language_code="zh-hans", user_id=OWNER_ID)
    author.state.started = True
    await author.send("/notice")
    await author.next_message()
    await author.send("Meeting at nine")
    ask = await author.next_message()
    await author.press(ask, "全部会员")
    await author.next_message()
    control = await author.wait_for(lambda m: m.message_id == ask.message_id and "接收人" in m.text)
    await author.press(control, "立即发送")
    got = await member.wait_for(lambda m: m.text == "Meeting at nine")
    assert got.buttons == ["Got it ✅"]
    services = bot.services
    assert services is not None
    notice_id = int(await db.fetchval("SELECT id FROM notices"))
    await services.notices.nudge(await services.roles.actor(OWNER_ID), notice_id)
    nudge = await member.wait_for(lambda m: "Meeting at nine" in m.text and m.message_id != got.message_id)
    assert nudge.text.startswith("⏰ Reminder")
    assert nudge.buttons == ["Got it ✅"]


# --- #4: words, not raw keys ------------------------------------------------------------------------------
async def test_category_picker_shows_words_not_keys(tg: FakeTelegram, bot: BotRuntime) -> None:
    w = await _world(tg, bot)
    picker = await _picker(w.owner, "By category")
    shown = {str(b["text"]) for b in picker.inline_buttons}
    assert {ENTERPRISE, "New-media practitioners"} <= shown
    assert not shown & {"enterprise", "new_media"}


# --- #3: audiences within the sender's scope ------------------------------------------------------------------
async def test_scoped_coordinator_is_offered_only_categories_of_members_in_scope(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    w = await _world(tg, bot)
    picker = await _picker(w.coord, "By category")
    offered = [str(b["text"]) for b in picker.inline_buttons if b.get("text") not in ("Done", "Cancel")]
    assert len(offered) == 1  # "new media": only a member of Group B, outside the scope, has it
    assert offered[0] == ENTERPRISE


async def test_delivery_report_of_a_scheduled_notice_follows_the_authors_language_when_it_fires(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    """Composed while the author's language was Chinese; by the time it fires they chose English."""
    tg.set_rate_limits(True, private_burst=10)
    db = db_of(bot)
    head = await add_group(db, "浦东新联会")
    local = await add_group(db, "花木街道新联会", head)
    await members(tg, db, 2, [local])
    author = tg.create_user("作者", language_code="zh-hans", user_id=OWNER_ID)
    author.state.started = True
    services = bot.services
    assert services is not None
    who = await services.roles.actor(OWNER_ID)
    draft = Draft(text="Due later", segment=Segment(everyone=True), at=clock.now() + timedelta(hours=1))
    created = await services.notices.create(who, draft, "zh-Hans")
    await author.send("/language")
    choose = await author.next_message()
    await (await author.press(choose, lambda b: b.get("callback_data") == "lang:en")).answer()
    clock.advance(timedelta(hours=2))
    await services.notices.run_due()
    report = await author.wait_for(lambda m: (f"#{created.notice_id}" in m.text and "report" in m.text.lower())
                                   or "发送报告" in m.text)
    assert "delivery report" in report.text
