"""Issue #17, notices: what a member and a coordinator see after each step, end to end."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.delivery import DeliveryService
from bot.i18n import Catalog
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from storage.outbox import Counts
from tests import factories
from tests.conftest import OWNER_ID
from tests.notices_helpers import STAMP, add_coordinator, add_group, add_member, compose, db_of, send_notice, world


async def test_the_got_it_button_turns_into_the_acknowledgement_with_its_time(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    owner, people, _ = await world(tg, bot, 1)
    await send_notice(owner, "Please confirm")
    got = await people[0].wait_for(lambda m: "Please confirm" in m.text)
    await (await people[0].press(got, "Got it ✅")).answer()
    # 02:00 UTC is 10:00 in the configured zone (Asia/Shanghai)
    done = await people[0].wait_for(lambda m: m.message_id == got.message_id and m.buttons != ["Got it ✅"])
    assert done.buttons == ["✅ Acknowledged 11-22 10:00"]
    clock.advance(timedelta(minutes=7))
    await (await people[0].press(done, "✅ Acknowledged 11-22 10:00")).answer()  # a second tap
    assert people[0].messages[-1].buttons == ["✅ Acknowledged 11-22 10:00"]  # the stored moment, not 10:07
    assert await bot.db.fetchval("SELECT COUNT(*) FROM notice_acks") == 1  # type: ignore[union-attr]


async def test_a_stale_got_it_button_shows_the_stored_acknowledgement(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    owner, people, _ = await world(tg, bot, 1)
    await send_notice(owner, "Two copies")
    got = await people[0].wait_for(lambda m: "Two copies" in m.text)
    services = bot.services
    assert services is not None
    who = await services.roles.actor(owner.id)
    notice_id = int(str(got.inline_buttons[0]["callback_data"]).split(":")[1])
    await services.notices.nudge(who, notice_id)  # a reminder with its own "Got it"
    nudge = await people[0].wait_for(lambda m: m.text.startswith("⏰"))
    await (await people[0].press(nudge, "Got it ✅")).answer()
    done = ["✅ Acknowledged 11-22 10:00"]
    await people[0].wait_for(lambda m: m.message_id == nudge.message_id and m.buttons == done)
    clock.advance(timedelta(hours=1))
    await (await people[0].press(got, "Got it ✅")).answer()  # the original notice's old button
    stale = await people[0].wait_for(lambda m: m.message_id == got.message_id and m.buttons != ["Got it ✅"])
    assert stale.buttons == ["✅ Acknowledged 11-22 10:00"]


async def test_the_notices_list_shows_plain_labels_for_html_and_ampersands(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, _, _ = await world(tg, bot, 1)
    await send_notice(owner, "R&D <b>budget</b> due")  # typed as text: stored escaped
    await owner.send("/notice")
    await owner.wait_for(lambda m: "text of the notice" in m.text)
    await owner._send_fields({"text": "Bold R&D", "entities": [{"type": "bold", "offset": 0, "length": 4}]})
    ask = await owner.wait_for(lambda m: "Everyone" in m.buttons)
    await owner.press(ask, "Everyone")
    control = await owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)
    await owner.press(control, "Send now")
    await owner.wait_for(lambda m: m.message_id == control.message_id and "Delivery report" in m.text)
    await owner.send("/notices")
    listing = await owner.wait_for(lambda m: m.text.startswith("Notices"))
    assert listing.buttons[0].endswith("Bold R&D"), listing.buttons
    assert listing.buttons[1].endswith("R&D <b>budget</b> due"), listing.buttons
    assert not any("&amp;" in b or "&lt;" in b for b in listing.buttons)
    await owner.press(listing, listing.buttons[1])
    view = await owner.wait_for(lambda m: "Recipients" in m.text and "budget" in m.text)
    assert "R&D <b>budget</b> due" in view.text  # shown as typed, escaped once in the message


async def test_the_panel_points_down_to_the_preview_whose_button_says_so(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, _, _ = await world(tg, bot, 2)
    control = await compose(owner, "Panel and preview")
    preview = next(m for m in owner.messages if m.text == "Panel and preview")
    assert control.message_id < preview.message_id  # the panel is the message above the preview
    assert control.text.startswith("⬇️ Below is the notice as members will get it")
    assert preview.buttons == ["Got it ✅ (preview, does nothing)"]
    await owner.press(control, lambda b: str(b.get("text", "")).startswith("Urgent"))
    toggled = await owner.wait_for(lambda m: m.message_id == control.message_id
                                   and "Urgent (ignore quiet hours): on" in m.buttons)
    assert toggled.text.startswith("⬇️ Below")  # still right above the preview


async def test_the_sender_is_not_a_recipient_of_their_own_notice(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, local = await world(tg, bot, 2)
    await add_member(db_of(bot), owner, [local])  # the owner is a member of the group too
    control = await compose(owner, "Not to myself")
    assert "Recipients: 2 members" in control.text
    await owner.press(control, "Send now")
    report = await owner.wait_for(lambda m: m.message_id == control.message_id and "Delivery report" in m.text)
    assert "2 sent" in report.text
    for person in people:
        await person.wait_for(lambda m: m.text == "Not to myself")
    assert sum(m.text == "Not to myself" for m in owner.messages) == 1  # the preview only
    await owner.send("/notices")
    listing = await owner.wait_for(lambda m: m.text.startswith("Notices"))
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Recipients: 2" in m.text)
    assert "Not yet: 2" in view.text
    await owner.press(view, "Who has not")
    who = await owner.wait_for(lambda m: "Not yet acknowledged (2)" in m.text)
    assert "Owner" not in who.text


async def test_the_delivery_report_names_who_was_not_reached(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, _, local = await world(tg, bot, 2)
    db = db_of(bot)
    other = await add_group(db, "陆家嘴新联会", await db.fetchval("SELECT MIN(id) FROM groups"))
    for group, phone in ((local, "138 0000 1234"), (other, "139-0000-5678")):  # two 王芳, never started the bot
        user = tg.create_user("王芳", language_code="zh-hans")
        await factories.add_member(db, user.id, "王芳", [group], "freelance", at=STAMP, phone=phone)
    report = await send_notice(owner, "Who got it?")
    assert report.text == "Delivery report: 2 sent; 2 have not started the bot."  # no zero counters
    assert report.buttons == ["Who was not reached"]
    await owner.press(report, "Who was not reached")
    listing = await owner.wait_for(lambda m: m.text.startswith("Notice #"))
    assert listing.text.splitlines()[1:] == [
        "• 王芳 (花木街道新联会, phone …1234): has not started the bot",
        "• 王芳 (陆家嘴新联会, phone …5678): has not started the bot",
    ]
    assert "not reached (2)" in listing.text
    assert any(m.message_id == report.message_id and m.text.startswith("Delivery report") for m in owner.messages)


async def test_a_fully_delivered_report_has_no_list_button(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, _, _ = await world(tg, bot, 2)
    report = await send_notice(owner, "Everyone got it")
    assert report.text == "Delivery report: 2 sent."
    assert report.buttons == []


def test_the_report_in_chinese_hides_zero_counters() -> None:
    service = DeliveryService(None, None, Catalog.load())  # type: ignore[arg-type]  # texts only
    text = service._report_text("zh-Hans", 7, Counts(sent=29, blocked=1, not_started=1), scheduled=False)
    assert text == "发送报告：已送达 29 人；1 人尚未开通机器人。"
    text = service._report_text("zh-Hans", 7, Counts(sent=3, blocked=2, not_started=1, failed=1), scheduled=True)
    assert text == "定时通知 #7 发送报告：已送达 3 人；1 人尚未开通机器人；1 人已屏蔽机器人；1 人发送失败。"


async def test_a_second_nudge_within_the_interval_is_refused_and_the_view_says_when(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    owner, people, _ = await world(tg, bot, 2)
    await send_notice(owner, "Remind me")
    for person in people:
        await person.wait_for(lambda m: m.text == "Remind me")
    await owner.send("/notices")
    listing = await owner.wait_for(lambda m: m.text.startswith("Notices"))
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Not yet: 2" in m.text)
    first, second = await owner.press(view, "Nudge"), await owner.press(view, "Nudge")  # a double tap
    answers = [(await first.answer()).text or "", (await second.answer()).text or ""]
    assert sum(a.startswith("A reminder went out at 10:00; the next one is possible after 12:00") for a in answers) == 1
    await owner.wait_for(lambda m: "on its way to 2 members" in m.text)
    for person in people:
        await person.wait_for(lambda m: m.text.startswith("⏰"))
    first_round = max(m.message_id for p in people for m in p.messages)
    clock.advance(timedelta(minutes=30))
    await owner.send("/notices")
    listing = await owner.wait_for(lambda m: m.text.startswith("Notices") and m.message_id > view.message_id)
    await owner.press(listing, listing.buttons[0])
    again = await owner.wait_for(lambda m: "Reminded at" in m.text)
    assert "⏰ Reminded at 10:00; another reminder is possible after 12:00" in again.text
    assert "Nudge" not in again.buttons
    notice_id = str(listing.inline_buttons[0]["callback_data"]).split(":")[-1]
    stale = await owner.press_data(again, f"ntl:n:{notice_id}")  # an old view's button
    assert "after 12:00" in ((await stale.answer()).text or "")
    assert all(sum(m.text.startswith("⏰") for m in p.messages) == 1 for p in people)
    clock.advance(timedelta(minutes=90))  # the interval (LIAISON_NUDGE_INTERVAL_MINUTES=120) is over
    await owner.press(again, "Refresh")
    ready = await owner.wait_for(lambda m: m.message_id == again.message_id and "Nudge" in m.buttons)
    assert "⏰ Reminded at 10:00" in ready.text and "possible after" not in ready.text
    await owner.press(ready, "Nudge")
    for person in people:
        second_round = await person.wait_for(lambda m: m.text.startswith("⏰") and m.message_id > first_round)
        assert second_round.text.startswith("⏰ Reminder")


async def test_two_members_of_the_same_name_are_told_apart_in_who_has_not(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, _, local = await world(tg, bot, 0)
    db = db_of(bot)
    for phone in ("13800001234", "13900005678"):
        user = tg.create_user("王芳", language_code="zh-hans")
        await factories.add_member(db, user.id, "王芳", [local], "freelance", at=STAMP, phone=phone)
        user.state.started = True
    await send_notice(owner, "Same names")
    await owner.send("/notices")
    listing = await owner.wait_for(lambda m: m.text.startswith("Notices"))
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Not yet: 2" in m.text)
    await owner.press(view, "Who has not")
    who = await owner.wait_for(lambda m: "Not yet acknowledged (2)" in m.text)
    assert "• 王芳 (phone …1234)\n• 王芳 (phone …5678)" in who.text


async def test_the_not_reached_list_is_paged(
    tg: FakeTelegram, bot: BotRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handlers.notices.reach.PER_PAGE", 1)
    owner, _, local = await world(tg, bot, 1)
    db = db_of(bot)
    for name in ("李雷", "韩梅梅"):  # never opened the bot
        user = tg.create_user(name, language_code="zh-hans")
        await factories.add_member(db, user.id, name, [local], "freelance", at=STAMP)
    report = await send_notice(owner, "Paged")
    await owner.press(report, "Who was not reached")
    first = await owner.wait_for(lambda m: m.text.startswith("Notice #") and "not reached (2)" in m.text)
    assert first.buttons == ["Next", "Back"] and "李雷" in first.text and "韩梅梅" not in first.text
    await owner.press(first, "Next")
    second = await owner.wait_for(lambda m: m.message_id == first.message_id and "韩梅梅" in m.text)
    assert second.buttons == ["Previous", "Back"] and "李雷" not in second.text
    assert owner.messages[-1].message_id == first.message_id  # paging edits the list; the report stays


async def test_a_notice_is_scheduled_with_the_time_people_type(tg: FakeTelegram, bot: BotRuntime) -> None:
    await world(tg, bot, 1)
    coordinator = tg.create_user("王主任", language_code="zh-hans", user_id=OWNER_ID + 1)
    await add_coordinator(db_of(bot), coordinator.id, await db_of(bot).fetchval("SELECT MIN(id) FROM groups"))
    await coordinator.send("/notice")
    await coordinator.wait_for(lambda m: "通知内容" in m.text)
    await coordinator.send("周六活动照常")
    ask = await coordinator.wait_for(lambda m: "全部会员" in m.buttons)
    await coordinator.press(ask, "全部会员")
    control = await coordinator.wait_for(lambda m: m.message_id == ask.message_id and "接收人" in m.text)
    await coordinator.press(control, "定时发送")
    prompt = await coordinator.wait_for(lambda m: "请输入发送时间" in m.text)
    assert "（北京时间）" in prompt.text and "Asia/Shanghai" not in prompt.text
    # quick buttons (FakeClock: Sunday 2026-11-22 10:00 in Beijing)
    assert prompt.buttons == ["11月23日（周一）09:00", "11月23日（周一）14:00", "11月28日（周六）10:00"]
    await coordinator.send("下周三")  # no time of day
    assert "请加上几点" in (await coordinator.wait_for(lambda m: "请加上几点" in m.text)).text
    await coordinator.send("随便什么时候")
    unreadable = await coordinator.wait_for(lambda m: m.text.startswith("没看懂这个时间"))
    assert "明天 09:00" in unreadable.text  # one wording, with an example
    await coordinator.send("明天 下午2点")  # FakeClock: 2026-11-22 10:00 in Beijing
    summary = await coordinator.wait_for(lambda m: "确认定时" in m.buttons)
    assert "2026-11-23 14:00" in summary.text



async def test_a_quick_time_button_schedules_without_typing(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, _, _ = await world(tg, bot, 1)
    control = await compose(owner, "Quick")
    await owner.press(control, "Send at…")
    prompt = await owner.wait_for(lambda m: "Type when" in m.text)
    assert "(Beijing time)" in prompt.text
    await owner.press(prompt, prompt.buttons[2])  # the coming Saturday 10:00
    summary = await owner.wait_for(lambda m: "Schedule" in m.buttons)
    assert "2026-11-28 10:00" in summary.text
    await owner.press(summary, "Schedule")
    assert "Scheduled for 2026-11-28 10:00" in (await owner.wait_for(lambda m: "Scheduled for" in m.text)).text


async def test_a_repeating_notice_is_set_up_in_chinese_words(tg: FakeTelegram, bot: BotRuntime) -> None:
    await world(tg, bot, 1)
    coordinator = tg.create_user("王主任", language_code="zh-hans", user_id=OWNER_ID + 1)
    await add_coordinator(db_of(bot), coordinator.id, await db_of(bot).fetchval("SELECT MIN(id) FROM groups"))
    await coordinator.send("/notice")
    await coordinator.wait_for(lambda m: "通知内容" in m.text)
    await coordinator.send("每周例会")
    ask = await coordinator.wait_for(lambda m: "全部会员" in m.buttons)
    await coordinator.press(ask, "全部会员")
    control = await coordinator.wait_for(lambda m: m.message_id == ask.message_id and "接收人" in m.text)
    await coordinator.press(control, "重复发送")
    prompt = await coordinator.wait_for(lambda m: "请输入重复规则" in m.text)
    assert "每周一、周四 19:00 到 12月31日" in prompt.text and "weekly" not in prompt.text
    await coordinator.send("每周一、周四 晚上7点")  # no end day
    await coordinator.wait_for(lambda m: m.text.startswith("没看懂这个规则"))
    await coordinator.send("每周一、周四 晚上7点 到 12月31日")  # FakeClock: Sunday 2026-11-22 in Beijing
    summary = await coordinator.wait_for(lambda m: "确认定时" in m.buttons)
    assert "首次 2026-11-23 19:00，截至 2026-12-31 23:59" in summary.text


async def test_a_refresh_by_hand_beside_the_live_refresh_edits_the_view_once(
    tg: FakeTelegram, bot: BotRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both re-render the status view at once (an acknowledgement arrived while the coordinator
    presses Refresh): one edit, and no 'message is not modified' sent to Telegram."""
    import handlers.base
    from handlers.notices.status import _refresh_views

    owner, people, _ = await world(tg, bot, 1)
    await send_notice(owner, "Race me")
    got = await people[0].wait_for(lambda m: m.text == "Race me")
    notice_id = int(str(got.inline_buttons[0]["callback_data"]).split(":")[1])
    await owner.send("/notices")
    listing = await owner.wait_for(lambda m: m.text.startswith("Notices"))
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Not yet: 1" in m.text)
    services, queue = bot.services, bot.app.job_queue
    assert services is not None and queue is not None
    assert (await services.notices.ack(people[0].id, notice_id))[0] == "ok"  # stored; no refresh queued
    edit_text = handlers.base._edit_text

    async def live_refresh_meanwhile(*args: Any) -> None:
        # the press computed the new view and is about to edit: the live refresh runs right now
        queue.run_once(_refresh_views, 0, data=notice_id)  # type: ignore[arg-type]
        await asyncio.sleep(0.5)
        await edit_text(*args)

    monkeypatch.setattr(handlers.base, "_edit_text", live_refresh_meanwhile)
    edits = tg.counters.calls["editMessageText"]
    await owner.press(view, "Refresh")
    await owner.wait_for(lambda m: m.message_id == view.message_id and "Not yet: 0" in m.text)
    await asyncio.sleep(1.0)  # time for a second edit, were there one (the other waits its turn, then skips)
    assert tg.counters.validation_errors == []
    assert tg.counters.calls["editMessageText"] == edits + 1
