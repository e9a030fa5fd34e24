"""#17: /newactivity in at most six steps (title, time, place, seats, who, publish); the rest under 更多选项."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.activities import callbacks as acb
from bot.config import Settings
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from storage.timefmt import from_db
from tests.activities_helpers import (
    add_coordinator,
    add_group,
    choose,
    has_button,
    member_user,
    more_option,
    new_activity_to_who,
    owner_actor,
    publish,
    publish_summary,
    tap,
    typed_option,
    who_everyone,
)
from tests.conftest import OWNER_ID, FakeClock, StartBot

NOW = datetime(2026, 12, 3, 11, 20, tzinfo=UTC)  # Thursday 19:20 Beijing time


@pytest.fixture(autouse=True)
def no_flood_limits(tg: FakeTelegram) -> None:
    tg.set_rate_limits(False)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every option of 更多选项 in one test is more than 30 presses a minute (the flood guard's limit)."""
    return settings.model_copy(update={"flood_per_minute": 120})


class Counted:
    """A coordinator whose every message and button press is counted (the steps of the wizard)."""

    def __init__(self, user: SandboxUser) -> None:
        self.user, self.steps = user, 0

    async def send(self, text: str) -> SandboxMessage:
        self.steps += 1
        await self.user.send(text)
        return await self.user.next_message()

    async def tap(self, message: SandboxMessage, data: str) -> SandboxMessage:
        """A press that changes the pressed message (the screen after)."""
        self.steps += 1
        return await tap(self.user, message, data)

    async def quick(self, message: SandboxMessage, data: str) -> SandboxMessage:
        """A quick answer's press: the next question comes as a new message."""
        self.steps += 1
        await (await self.user.press(message, lambda b: b.get("callback_data") == data)).answer()
        return await self.user.next_message()


def _text(message: SandboxMessage) -> str:
    return message.text or ""


async def test_a_typical_activity_takes_six_steps_and_keeps_the_defaults(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    clock.set(NOW)
    pudong = await add_group(bot.db, "Pudong", await add_group(bot.db, "Head"))
    coord = tg.create_user("协调员", language_code="zh-hans")
    await add_coordinator(bot.db, coord.id, pudong)  # a district's coordinator (not the whole association)
    me = Counted(coord)
    assert "活动标题" in _text(await me.send("/newactivity"))
    start = await me.send("茶话会")
    assert "北京时间" in _text(start) and "Asia/Shanghai" not in _text(start)
    assert "明天 09:00" in start.buttons and "本周六 14:00" in start.buttons
    assert "今天 09:00" not in start.buttons  # today's 09:00 is past (it is 19:20): not offered
    place = await me.quick(start, acb.QUICK.data(step="start", pick=4))  # 明天 14:00
    assert "开始时间：12月4日（周五）14:00（北京时间）" in _text(place)
    seats = await me.send("三楼会议室")
    assert {"不限", "10", "20", "30", "50"} <= set(seats.buttons)
    picker = await me.quick(seats, acb.QUICK.data(step="cap", pick=2))  # 20
    assert has_button(acb.WHO_ALL.data())(picker)
    assert "我负责的全部组织" in picker.buttons
    summary = await me.tap(picker, acb.WHO_ALL.data())
    assert me.steps <= 6, me.steps
    text = _text(summary)
    assert "发布" in summary.buttons and "更多选项" in summary.buttons
    assert "时间：12月4日（周五）14:00–16:00（北京时间）" in text and text.count("茶话会") == 1
    assert "名额：20" in text and "报名范围：Pudong" in text and "报名截止：开始前均可报名" in text
    assert summary.buttons.index("放弃") > summary.buttons.index("更多选项")  # discard on its own row
    assert summary.reply_markup is not None
    assert [b["text"] for b in summary.reply_markup["inline_keyboard"][-1]] == ["放弃"]
    await publish_summary(coord, summary)
    row = await bot.db.fetchone(
        "SELECT title, place, capacity, starts_at, ends_at, signup_deadline, reminder_offsets, survey,"
        " offer_hours, categories FROM activities"
    )
    assert row is not None
    assert (row["title"], row["place"], row["capacity"]) == ("茶话会", "三楼会议室", 20)
    assert from_db(row["starts_at"]) == datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
    assert from_db(row["ends_at"]) == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # two hours by default
    assert row["signup_deadline"] == row["starts_at"]
    assert (row["reminder_offsets"], row["survey"], row["offer_hours"], row["categories"]) == ("1440,120", 0, None, "")
    assert await bot.db.fetchval("SELECT group_id FROM activity_groups") == pudong


async def test_more_options_are_buttons_and_typed_only_for_text_and_times(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None and bot.services is not None
    clock.set(NOW)
    owner = tg.create_user("Owner", language_code="zh-hans", user_id=OWNER_ID)
    picker = await new_activity_to_who(owner, "读书会", "12月20日 下午2点", "图书馆", "-")
    summary = await who_everyone(owner, picker)
    assert "名额：不限" in _text(summary) and "报名范围：全部组织" in _text(summary)
    menu = await tap(owner, summary, acb.MORE.data())
    for label in ("简介", "结束时间", "报名截止", "提醒", "重复", "活动评价", "候补递补", "人员类别", "« 返回摘要"):
        assert label in menu.buttons, (label, menu.buttons)
    summary = await tap(owner, menu, acb.MORE_BACK.data())
    end = await more_option(owner, summary, "end")
    assert "北京时间" in _text(end) and "16:30" in _text(end) and "3小时" in end.buttons
    await owner.send("16:30")  # a bare end time: on the start's day
    summary = await owner.next_message()
    assert "结束时间：12月20日（周日）16:30" in _text(summary) and "12月20日（周日）14:00–16:30" in _text(summary)
    summary = await typed_option(owner, summary, "desc", "第一章 <b>&")
    assert "简介：第一章 <b>&" in _text(summary)  # shown as typed (escaped, not markup)
    dl = await more_option(owner, summary, "dl")
    assert "开始前均可报名" in dl.buttons and "提前1天截止" in dl.buttons
    summary = await tap(owner, dl, acb.MORE_SET.data(opt="dl", val="1440"))
    assert "报名截止：12月19日（周六）14:00" in _text(summary)
    rem = await more_option(owner, summary, "rem")
    assert "✅ 提前1天和2小时" in rem.buttons and "不提醒" in rem.buttons
    summary = await tap(owner, rem, acb.MORE_SET.data(opt="rem", val="2h"))
    assert "提醒：提前2小时" in _text(summary)
    repeat = await more_option(owner, summary, "rep")
    assert repeat.buttons[:3] == ["✅ 不重复", "每周", "每月"]
    counts = await tap(owner, repeat, acb.MORE_SET.data(opt="rep", val="weekly"))
    assert "4 次" in counts.buttons
    summary = await tap(owner, counts, acb.MORE_SET.data(opt="rep", val="weekly.4"))
    assert "重复：每周，共 4 次" in _text(summary)
    checkin = await more_option(owner, summary, "chk")
    assert "✅ 提前30分钟" in checkin.buttons and "提前1小时" in checkin.buttons
    summary = await tap(owner, checkin, acb.MORE_SET.data(opt="chk", val="60"))
    assert "签到：开始前1小时开放" in _text(summary)
    survey = await more_option(owner, summary, "sv")
    assert survey.buttons[:2] == ["是", "✅ 否"]
    summary = await tap(owner, survey, acb.MORE_SET.data(opt="sv", val="1"))
    summary = await choose(owner, summary, "off", "12")
    assert "活动评价：是" in _text(summary) and "候补递补：保留 12 小时待确认" in _text(summary)
    cats = await more_option(owner, summary, "cat")
    cats = await tap(owner, cats, acb.PICK_CATEGORY.data(cat="enterprise"))
    enterprise = str(bot.services.catalog.text("zh-Hans", "label.category.enterprise"))
    assert f"✅ {enterprise}" in cats.buttons
    summary = await tap(owner, cats, acb.MORE_BACK.data())
    assert f"报名范围：全部组织；{enterprise}" in _text(summary)
    await publish_summary(owner, summary)
    rows = await bot.db.fetchall(
        "SELECT description, ends_at, signup_deadline, reminder_offsets, survey, offer_hours, categories, checkin_opens"
        " FROM activities ORDER BY starts_at"
    )
    assert len(rows) == 4
    first = rows[0]
    assert first["description"] == "第一章 <b>&"
    assert from_db(first["ends_at"]) == datetime(2026, 12, 20, 8, 30, tzinfo=UTC)
    assert from_db(first["signup_deadline"]) == datetime(2026, 12, 19, 6, 0, tzinfo=UTC)
    assert (first["reminder_offsets"], first["survey"], first["offer_hours"]) == ("120", 1, 12)
    assert first["categories"] == "enterprise"
    assert {r["checkin_opens"] for r in rows} == {60}  # every one of the series


async def test_a_forged_preset_changes_nothing_and_a_double_tap_is_one_choice(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    clock.set(NOW)
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    summary = await who_everyone(owner, await new_activity_to_who(owner, "Forum", "Dec 20 2pm"))
    rem = await more_option(owner, summary, "rem")
    for forged in ("actx:s:rem:99", "actx:s:rem:1d,2h", "actx:s:rep:weekly.99", "actx:s:rem:１d"):
        answer = await (await owner.press_data(rem, forged)).answer()
        assert answer.text, forged  # told the button is not one of this question's
    a = await owner.press(rem, lambda b: b.get("callback_data") == acb.MORE_SET.data(opt="rem", val="1d"))
    b = await owner.press(rem, lambda b: b.get("callback_data") == acb.MORE_SET.data(opt="rem", val="1d"))
    await a.answer()
    await b.answer()
    summary = await owner.wait_for(lambda m: m.message_id == rem.message_id and "Reminders: 1 d before" in _text(m))
    stored = await bot.db.fetchval("SELECT data FROM ptb_user_data WHERE user_id = ?", (OWNER_ID,))
    assert '"reminders": [1440]' in str(stored)
    await publish_summary(owner, summary)
    assert await bot.db.fetchval("SELECT reminder_offsets FROM activities") == "1440"
    assert await bot.db.fetchval("SELECT COUNT(*) FROM activities") == 1


async def test_a_typed_option_survives_a_restart(
    tg: FakeTelegram, start_bot: StartBot, settings: Settings, clock: FakeClock
) -> None:
    runtime = await start_bot()
    clock.set(NOW)
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    summary = await who_everyone(owner, await new_activity_to_who(owner, "Forum", "Dec 20 2pm", "Hall"))
    await more_option(owner, summary, "end")
    await runtime.stop()
    runtime = await start_bot()
    await owner.send("16:30")
    summary = await owner.wait_for(has_button(acb.MORE.data()))
    assert "End: Sun 20 Dec 16:30" in _text(summary)
    await publish_summary(owner, summary)
    assert runtime.db is not None
    ends = await runtime.db.fetchval("SELECT ends_at FROM activities")
    assert from_db(ends) == datetime(2026, 12, 20, 8, 30, tzinfo=UTC)


async def test_on_a_sunday_the_quick_times_offer_next_saturday(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 22, 2, 0, tzinfo=UTC))  # Sunday 10:00 Beijing time: this week's Saturday is past
    owner = tg.create_user("Owner", language_code="zh-hans", user_id=OWNER_ID)
    await owner.send("/newactivity")
    await owner.next_message()
    await owner.send("茶话会")
    start = await owner.next_message()
    assert start.buttons == [
        "今天 14:00",
        "今天 19:00",
        "明天 09:00",
        "明天 14:00",
        "明天 19:00",
        "下周六 09:00",
        "下周六 14:00",
        "下周六 19:00",
    ]
    await (await owner.press(start, "下周六 09:00")).answer()
    assert "11月28日（周六）09:00" in _text(await owner.next_message())


async def test_check_in_opens_as_early_as_the_activity_chose(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None and bot.services is not None
    clock.set(NOW)
    alice = await member_user(tg, bot.db, "Alice")
    start = datetime(2026, 12, 17, 1, 0, tzinfo=UTC)  # 09:00 Beijing time
    early = await publish(
        bot, clock.now(), title="Early", starts_at=start, ends_at=start + timedelta(hours=2), checkin_opens=60
    )
    usual = await publish(
        bot, clock.now(), title="Usual", starts_at=start + timedelta(days=1), ends_at=start + timedelta(days=1, hours=2)
    )
    for _ in range(2):
        await (await alice.press(await alice.next_message(), "Sign up")).answer()
    clock.set(start - timedelta(minutes=50))
    code = await bot.services.activities.checkin_code(owner_actor(OWNER_ID), early)
    await alice.send(f"/checkin {code}")
    assert "Early" in _text(await alice.next_message())
    assert await bot.db.fetchval("SELECT checked_in_at FROM activity_signups WHERE activity_id = ?", (early,))
    clock.set(start + timedelta(days=1) - timedelta(minutes=50))
    code = await bot.services.activities.checkin_code(owner_actor(OWNER_ID), usual)
    await alice.send(f"/checkin {code}")
    told = _text(await alice.next_message())
    assert "not open yet" in told and "2026-12-18 08:30" in told  # the usual 30 minutes


async def test_the_card_in_chinese_shows_the_day_once_and_the_ics_is_named_after_the_activity(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    from tests.factories import add_member

    assert bot.db is not None
    clock.set(NOW)
    wang = tg.create_user("王芳", language_code="zh-hans")
    wang.state.started = True
    await add_member(bot.db, wang.id, "王芳", (), "enterprise", language="zh-hans")
    start = datetime(2026, 12, 17, 1, 0, tzinfo=UTC)  # Thursday 09:00 Beijing time
    await publish(bot, clock.now(), title="金融城读书会", starts_at=start, ends_at=start + timedelta(hours=4))
    card = await wang.next_message()
    assert "12月17日（周四）09:00–13:00" in _text(card) and _text(card).count("金融城读书会") == 1
    await (await wang.press(card, "报名")).answer()
    held = await wang.wait_for(lambda m: m.message_id == card.message_id and m.edited)
    ics_button = next(b for b in held.inline_buttons if str(b.get("callback_data", "")).startswith("act:ics:"))
    await (await wang.press(held, str(ics_button["text"]))).answer()
    ics = await wang.wait_for(lambda m: m.document is not None)
    assert ics.document is not None and ics.document.get("file_name") == "金融城读书会.ics"
    assert b"BEGIN:VALARM" in await wang.download(ics)


async def test_double_taps_on_the_steps_ask_each_next_question_once(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    assert bot.db is not None
    clock.set(NOW)
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    for text in ("/newactivity", "Forum", "Dec 20 2pm", "Hall"):
        await owner.send(text)
        await owner.next_message()
    seats = owner.messages[-1]
    twenty = acb.QUICK.data(step="cap", pick=2)
    taps = [await owner.press(seats, lambda b: b.get("callback_data") == twenty) for _ in range(2)]
    for pressed in taps:  # both sent before either is answered
        await pressed.answer()
    picker = await owner.wait_for(has_button(acb.WHO_ALL.data()))
    presses = [await owner.press(picker, lambda b: b.get("callback_data") == acb.WHO_ALL.data()) for _ in range(2)]
    for pressed in presses:
        await pressed.answer()
    summary = await owner.wait_for(lambda m: m.message_id == picker.message_id and "Publish?" in _text(m))
    await publish_summary(owner, summary)
    pickers = [m for m in owner.messages if "Who may sign up?" in _text(m)]
    assert len(pickers) == 0  # the one picker became the summary, then the published line
    assert len([m for m in owner.messages if m.message_id > seats.message_id]) == 1
    assert await bot.db.fetchval("SELECT COUNT(*) FROM activities") == 1
    assert await bot.db.fetchval("SELECT capacity FROM activities") == 20


async def test_a_conversation_left_in_a_retired_step_goes_on_from_its_draft(
    tg: FakeTelegram, start_bot: StartBot, settings: Settings, clock: FakeClock
) -> None:
    """A chat the old 13-step wizard left at "reminders?" (state 8) before an upgrade."""
    from handlers.activities.create import REMIND
    from tests.dbsync import execute
    from tests.steps_helpers import set_state, user_data

    runtime = await start_bot()
    clock.set(NOW)
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await new_activity_to_who(owner, "Forum", "Dec 20 2pm", "Hall")
    await runtime.stop()
    data = user_data(settings, OWNER_ID)
    old = {k: v for k, v in data["act_draft"].items() if k not in ("who_done", "reminders", "survey", "offer")}
    old |= {"end": "2026-12-20T09:00:00+00:00", "deadline": "2026-12-19T06:00:00+00:00"}
    data |= {"act_draft": old, "steps": {"activity_new": REMIND}}
    execute(settings, "UPDATE ptb_user_data SET data = ? WHERE user_id = ?", (json.dumps(data), OWNER_ID))
    set_state(settings, "activity_new", OWNER_ID, REMIND)

    runtime = await start_bot()
    await owner.send("1d,2h")  # what the old step asked for
    picker = await owner.wait_for(has_button(acb.WHO_ALL.data()))  # on to the first step the draft lacks
    summary = await who_everyone(owner, picker)
    assert "Sun 20 Dec 14:00–17:00" in _text(summary) and "Sign-up closes: Sat 19 Dec 14:00" in _text(summary)
    await publish_summary(owner, summary)
    assert runtime.db is not None
    assert await runtime.db.fetchval("SELECT reminder_offsets FROM activities") == "1440,120"
