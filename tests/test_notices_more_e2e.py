"""Notices end to end, continued: editing a scheduled notice, attachments, scheduled-send reports,
quiet hours from configuration, and sends whose answer is lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from telegram import Bot

from bot.app import SANDBOX_TOKEN
from bot.clock import FakeClock
from bot.config import ConfigError, load_settings
from bot.notices import Created, Draft, Segment
from bot.runtime import BotRuntime
from bot.services import Services
from bot.transport import build_request
from handlers.notices.delivery import TelegramTransport
from sandbox.server import FakeTelegram
from storage.outbox import OutboxItem
from tests.conftest import OWNER_ID, StartBot
from tests.notices_helpers import confirm_schedule, db_of, outbox_rows
from tests.test_notices_e2e import _compose, _world


async def _settled(bot: BotRuntime, kind: str, ref_id: int, timeout: float = 20.0) -> list[tuple[int, str, int]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await outbox_rows(db_of(bot), kind, ref_id)
        if rows and all(status not in ("pending", "sending") for _, status, _ in rows):
            return rows
        assert loop.time() < deadline, f"deliveries not settled: {rows}"
        await asyncio.sleep(0.05)


def _services(bot: BotRuntime) -> Services:
    assert bot.services is not None
    return bot.services


async def _owners_notice(bot: BotRuntime, text: str, at: datetime | None = None) -> Created:
    """The owner's notice to everyone: sent now, or scheduled (urgent, so quiet hours do not move it) at `at`."""
    services = bot.services
    assert services is not None
    who = await services.roles.actor(OWNER_ID)
    everyone = Segment(everyone=True)
    draft = Draft(text, everyone) if at is None else Draft(text, everyone, at=at, urgent=True)
    return await services.notices.create(who, draft, "en")


async def test_edited_text_of_a_scheduled_notice_is_what_members_receive(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    owner, people, _ = await _world(tg, bot, 2)
    created = await _owners_notice(bot, "Old <b>text</b>", clock.now() + timedelta(hours=3))
    await owner.send("/notices")
    listing = await owner.next_message()
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Next sending" in m.text)
    await owner.press(view, "Edit text")
    await owner.wait_for(lambda m: "Send the new text" in m.text)
    await owner.send("New text for Friday")
    await owner.wait_for(lambda m: m.text == "The text is updated.")
    clock.advance(timedelta(hours=4))
    assert (await _services(bot).notices.run_due()).fired == [created.notice_id]
    for person in people:
        await person.wait_for(lambda m: m.text == "New text for Friday")
        assert not any("Old" in m.text for m in person.inbox)


async def test_photo_notice_reaches_members_with_its_caption(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, _ = await _world(tg, bot, 2)
    await owner.send("/notice")
    await owner.next_message()
    await owner.send_photo(b"\x89PNG poster", caption="Poster for the gala")
    ask = await owner.next_message()
    await owner.press(ask, "Everyone")
    control = await owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)
    await owner.press(control, "Send now")
    await owner.wait_for(lambda m: m.message_id == control.message_id and "Delivery report" in m.text)
    for person in people:
        got = await person.wait_for(lambda m: m.photo is not None)
        assert got.caption == "Poster for the gala"
        assert got.buttons == ["Got it ✅"]
    assert tg.counters.validation_errors == []


async def test_document_notice_reaches_members_with_its_caption(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, people, _ = await _world(tg, bot, 2)
    await owner.send("/notice")
    await owner.next_message()
    await owner.send_document("agenda.pdf", b"%PDF-1.4 agenda", "application/pdf", caption="Agenda attached")
    ask = await owner.next_message()
    await owner.press(ask, "Everyone")
    control = await owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)
    await owner.press(control, "Send now")
    await owner.wait_for(lambda m: m.message_id == control.message_id and "Delivery report" in m.text)
    for person in people:
        got = await person.wait_for(lambda m: m.document is not None)
        assert got.caption == "Agenda attached"
        assert got.document is not None and got.document.get("file_name") == "agenda.pdf"
    assert tg.counters.validation_errors == []


async def _fire_scheduled(bot: BotRuntime, clock: FakeClock, text: str) -> Created:
    """The owner schedules `text` to everyone an hour ahead; two hours pass and it fires."""
    services = bot.services
    assert services is not None
    created = await _owners_notice(bot, text, clock.now() + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    await services.notices.run_due()
    return created


async def test_scheduled_notice_sends_its_author_a_delivery_report(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    owner, people, _ = await _world(tg, bot, 2)
    people[1].block_bot()
    created = await _fire_scheduled(bot, clock, "Due later")
    report = await owner.wait_for(lambda m: "delivery report" in m.text)
    assert f"#{created.notice_id}" in report.text
    assert "delivery report: 1 sent; 1 blocked the bot." in report.text
    assert report.buttons == ["Who was not reached"]
    await asyncio.sleep(0.3)
    assert sum("delivery report" in m.text for m in owner.inbox) == 1


async def test_a_large_scheduled_send_shows_progress_then_its_report_in_one_message(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.delivery.PROGRESS_MIN_RECIPIENTS", 5)  # "large" for the test: 24 recipients
    owner, _people, _ = await _world(tg, bot, 24)
    created = await _fire_scheduled(bot, clock, "Big scheduled")
    progress = await owner.wait_for(lambda m: f"Scheduled notice #{created.notice_id}" in m.text
                                    and "sending" in m.text)
    assert "/ 24 sent" in progress.text
    final = await owner.wait_for(lambda m: m.message_id == progress.message_id and "delivery report" in m.text)
    assert "delivery report: 24 sent." in final.text
    await asyncio.sleep(0.3)
    assert sum(f"#{created.notice_id}" in m.text for m in owner.inbox) == 1  # edited, not a second message


async def test_each_firing_of_a_recurring_notice_reports_to_its_author(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    owner, _people, _ = await _world(tg, bot, 1)
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    control = await _compose(owner, "Daily study")
    await owner.press(control, "Repeat…")
    await owner.wait_for(lambda m: "Type the repetition" in m.text)
    await owner.send("daily 09:00 until 2026-12-03")
    await confirm_schedule(owner)
    services = bot.services
    assert services is not None
    for day, reports in ((2, 1), (3, 2)):
        clock.set(datetime(2026, 12, day, 1, 5, tzinfo=UTC))
        await services.notices.run_due()
        await owner.wait_for(lambda _m, n=reports: sum("delivery report" in x.text for x in owner.inbox) == n)


async def test_quiet_hours_come_from_configuration(tg: FakeTelegram, start_bot: StartBot) -> None:
    bot = await start_bot(quiet_hours="21:00-07:30")
    owner, _, _ = await _world(tg, bot, 1)
    control = await _compose(owner, "Late news")
    await owner.press(control, "Send at…")
    await owner.wait_for(lambda m: "Type when" in m.text)
    await owner.send("2026-12-05 21:30")
    assert "Scheduled for 2026-12-06 07:30" in (await confirm_schedule(owner)).text


async def test_empty_quiet_hours_keep_a_late_time(tg: FakeTelegram, start_bot: StartBot) -> None:
    bot = await start_bot(quiet_hours="")
    owner, _, _ = await _world(tg, bot, 1)
    control = await _compose(owner, "Late news")
    await owner.press(control, "Send at…")
    await owner.wait_for(lambda m: "Type when" in m.text)
    await owner.send("2026-12-05 23:30")
    assert "Scheduled for 2026-12-05 23:30" in (await confirm_schedule(owner)).text


@pytest.mark.parametrize("value", ["22:00", "25:00-08:00", "08:00-08:00", "10pm-8am"])
def test_malformed_quiet_hours_are_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigError, match="LIAISON_QUIET_HOURS"):
        load_settings(None, LIAISON_QUIET_HOURS=value)


async def test_send_whose_answer_is_lost_is_unknown_and_not_retried(tg: FakeTelegram, bot: BotRuntime) -> None:
    _owner, people, _ = await _world(tg, bot, 1)
    tg.set_faults(drop_rate=1.0, drop_after_processing=True)
    created = await _owners_notice(bot, "Lost answer")
    rows = await _settled(bot, "notice", created.notice_id)
    tg.set_faults()
    assert rows == [(people[0].id, "unknown", 1)]
    await asyncio.sleep(0.3)
    assert sum(m.text == "Lost answer" for m in people[0].inbox) == 1  # it did arrive, once


async def test_send_timing_out_is_classified_unknown(tg: FakeTelegram) -> None:
    user = tg.create_user("Slow")
    user.state.started = True
    bot = Bot(SANDBOX_TOKEN, base_url=tg.api_url, request=build_request("aiohttp", read_timeout=0.3))
    async with bot:
        tg.set_faults(delay_rate=1.0, delay_s=1.0)
        item = OutboxItem(1, "notice", 1, user.id, None, "Slow one", None, None, False, 1)
        outcome = await TelegramTransport(bot).send(item)
    assert outcome.status == "unknown"


async def test_a_scheduled_notice_can_be_moved_to_another_time(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    owner, people, _ = await _world(tg, bot, 2)
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    created = await _owners_notice(bot, "Moved meeting", clock.now() + timedelta(hours=2))
    await owner.send("/notices")
    listing = await owner.next_message()
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Next sending: 2026-12-01 12:00" in m.text)
    await owner.press(view, "Change time")
    await owner.wait_for(lambda m: "Type when to send it" in m.text)
    await owner.send("tomorrow-ish")
    await owner.wait_for(lambda m: "can't read that time" in m.text)
    await owner.send("2026-12-01 09:00")  # already past
    await owner.wait_for(lambda m: "That time has passed" in m.text)
    await owner.send("2026-12-02 15:30")
    done = await owner.wait_for(lambda m: f"Notice #{created.notice_id} will now be sent at" in m.text)
    assert "2026-12-02 15:30" in done.text
    clock.set(datetime(2026, 12, 1, 5, 0, tzinfo=UTC))  # the old time has passed: nothing fires
    assert (await _services(bot).notices.run_due()).fired == []
    clock.set(datetime(2026, 12, 2, 7, 31, tzinfo=UTC))
    assert (await _services(bot).notices.run_due()).fired == [created.notice_id]
    for person in people:
        await person.wait_for(lambda m: m.text == "Moved meeting")


async def test_a_recurring_notice_can_get_a_new_rule(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    owner, _people, _ = await _world(tg, bot, 1)
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # a Tuesday
    control = await _compose(owner, "Weekly study")
    await owner.press(control, "Repeat…")
    await owner.wait_for(lambda m: "Type the repetition" in m.text)
    await owner.send("daily 09:00 until 2026-12-31")
    await confirm_schedule(owner)
    await owner.send("/notices")
    listing = await owner.next_message()
    await owner.press(listing, listing.buttons[0])
    view = await owner.wait_for(lambda m: "Next sending: 2026-12-02 09:00" in m.text)
    await owner.press(view, "Change repetition")
    await owner.wait_for(lambda m: "Type the repetition" in m.text)
    await owner.send("weekly fri 19:00 until 2026-12-31")
    done = await owner.wait_for(lambda m: "now repeats; next sending 2026-12-04 19:00" in m.text)
    assert "until 2026-12-31" in done.text
    services = bot.services
    assert services is not None
    assert await services.notices.next_due() == datetime(2026, 12, 4, 11, 0, tzinfo=UTC)


async def test_a_member_cannot_move_a_notice_with_a_forged_button(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    _owner, people, _ = await _world(tg, bot, 1)
    created = await _owners_notice(bot, "Not yours", clock.now() + timedelta(hours=2))
    member = people[0]
    await member.send("/help")
    menu = await member.next_message()
    answer = await (await member.press_data(menu, f"ntt:{created.notice_id}")).answer()
    assert answer.text
    row = await _services(bot).notices.repo.get(created.notice_id)
    assert row is not None and row.next_due_at == created.due_at
