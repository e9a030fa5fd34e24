"""Direct sends (documents, albums, replies) wait out a short 429 and answer politely on a long one."""

from __future__ import annotations

import json

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.ledger_helpers import HEAD_COORDINATOR, seed
from tests.members_helpers import seed_member
from tests.reliability_helpers import ErrorLog

TRY_LATER = "Telegram is asking me to slow down"


async def test_mydata_file_arrives_after_a_short_429(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    user = tg.create_user("Sun", language_code="en")
    await seed_member(bot.db, user.id, "孙丽")
    tg.inject_429("sendDocument", retry_after=1)
    with ErrorLog() as errors:
        await user.send("/mydata")
        doc = await user.wait_for(lambda m: m.document is not None, timeout=10)
    data = json.loads(await user.download(doc))
    assert data["members"]["profile"]["name"] == "孙丽"
    assert tg.counters.http_429 == 1
    assert [m for m in user.messages if m.document] == [doc], "the retry must not send the file twice"
    assert not any(TRY_LATER in (m.text or "") for m in user.messages)
    assert errors.records == [], errors.summary()


async def test_ledger_export_arrives_after_short_429s(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    coordinator = tg.create_user("Coordinator", user_id=HEAD_COORDINATOR, language_code="en")
    tg.inject_429("sendDocument", retry_after=1, times=2)  # the workbook waits twice
    await coordinator.send("/export")
    await coordinator.wait_for(lambda m: "Export finished" in (m.text or ""), timeout=20)
    names = [str(m.document["file_name"]) for m in coordinator.messages if m.document]
    assert len(names) == 2 and names[0].endswith(".xlsx") and names[1].endswith("-csv.zip")
    assert tg.counters.http_429 == 2
    docs = [m for m in coordinator.messages if m.document]
    assert (await coordinator.download(docs[0]))[:2] == b"PK"  # the whole workbook was uploaded again


async def test_a_long_retry_after_gets_a_polite_try_later(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    user = tg.create_user("Sun", language_code="en")
    await seed_member(bot.db, user.id, "孙丽")
    tg.inject_429("sendDocument", retry_after=120)
    with ErrorLog() as errors:
        await user.send("/mydata")
        polite = await user.wait_for(lambda m: TRY_LATER in (m.text or ""), timeout=10)
    assert "try again" in (polite.text or "")
    assert any("Everything stored about you" in (m.text or "") for m in user.messages)
    assert not any(m.document for m in user.messages)
    assert errors.records == [], "a flood limit is not an error: " + errors.summary()
    # Nothing is stuck: the next request is served normally.
    await user.send("/mydata")
    doc = await user.wait_for(lambda m: m.document is not None, timeout=10)
    assert json.loads(await user.download(doc))["members"]["profile"]["name"] == "孙丽"


async def test_a_summary_pressed_under_a_long_429_is_answered_not_lost(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    coordinator = tg.create_user("Coordinator", user_id=HEAD_COORDINATOR, language_code="en")
    await coordinator.send("/summary")
    menu = await coordinator.next_message()
    tg.inject_429("sendDocument", retry_after=90)
    pressed = await coordinator.press(menu, "This month")
    await pressed.answer()
    polite = await coordinator.wait_for(lambda m: TRY_LATER in (m.text or ""), timeout=15)
    assert polite is not None
    assert not any(m.document for m in coordinator.messages)


async def test_a_reply_under_a_long_429_is_replaced_by_the_try_later_message(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    user = tg.create_user("Alice", language_code="en")
    tg.inject_429("sendMessage", retry_after=60)
    with ErrorLog() as errors:
        await user.send("/help")
        polite = await user.wait_for(lambda m: TRY_LATER in (m.text or ""), timeout=10)
    assert polite is not None
    assert errors.records == [], "no error (and no owner alert) for a flood limit: " + errors.summary()


async def test_stats_charts_album_arrives_after_a_short_429(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await head.send("/stats")
    tg.inject_429("sendMediaGroup", retry_after=1)
    await head.press(await head.next_message(), "📊 Charts")
    await head.wait_for(lambda m: len([x for x in head.messages if x.photo]) >= 5, timeout=20)
    photos = [m for m in head.messages if m.photo]
    assert len(photos) == 5, "the album is sent once, with every photo re-uploaded"
    for photo in photos:
        assert (await head.download(photo))[:8] == b"\x89PNG\r\n\x1a\n"
    assert tg.counters.http_429 == 1
