"""Flood control: a member flooding the bot slows only their own handling, politely."""

from __future__ import annotations

import asyncio
import time

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import StartBot
from tests.reliability_helpers import ErrorLog, inject_message, percentile, wait_idle

FLOOD = 100


async def _round_trip(user: object, text: str) -> float:
    started = time.monotonic()
    await user.send(text)  # type: ignore[attr-defined]
    await user.next_message()  # type: ignore[attr-defined]
    return time.monotonic() - started


async def test_flooding_member_gets_one_polite_warning_then_silence(tg: FakeTelegram, start_bot: StartBot) -> None:
    tg.set_rate_limits(True, private_burst=1000)
    runtime = await start_bot(flood_per_minute=10)
    flooder = tg.create_user("Flood Fu", language_code="en")
    with ErrorLog() as errors:
        for i in range(FLOOD):
            await flooder.send(f"spam {i}")
        assert runtime.app is not None
        await wait_idle(tg, runtime.app)
    texts = [m.text or "" for m in flooder.inbox]
    assert sum("didn't understand" in t for t in texts) == 10
    assert sum("too fast" in t for t in texts) == 1
    assert len(texts) == 11
    assert errors.records == [], errors.summary()
    assert tg.counters.validation_errors == []


async def test_other_members_are_answered_promptly_during_a_flood(tg: FakeTelegram, start_bot: StartBot) -> None:
    tg.set_rate_limits(True, private_burst=1000)
    runtime = await start_bot(flood_per_minute=20)
    flooder = tg.create_user("Flood Fu", language_code="en")
    others = [tg.create_user(f"Calm Cao {i}", language_code="en") for i in range(20)]
    baseline = [await _round_trip(other, "/help") for other in others[:5]]

    async def flood() -> float:
        started = time.monotonic()
        for i in range(FLOOD):
            await flooder.send(f"/help {i}")
            await asyncio.sleep(0.02)  # 100 messages in ~2-3 s
        return time.monotonic() - started

    with ErrorLog() as errors:
        flooding = asyncio.create_task(flood())
        during: list[float] = []
        while not flooding.done():
            during.append(await _round_trip(others[len(during) % len(others)], "/help"))
            await asyncio.sleep(0.15)  # the others together stay well inside the bot's 30 messages/s
        flood_seconds = await flooding
        assert runtime.app is not None
        await wait_idle(tg, runtime.app)
    print(
        f"flood: {FLOOD} msgs in {flood_seconds:.1f}s; other user p50 {percentile(baseline, 50) * 1000:.0f} ms"
        f" before, p50 {percentile(during, 50) * 1000:.0f} ms / max {max(during) * 1000:.0f} ms during"
        f" ({len(during)} round trips)"
    )
    assert len(during) >= 8
    assert max(during) < 1.0, f"another user waited {max(during):.2f}s during the flood"
    assert percentile(during, 50) < max(0.25, 5 * percentile(baseline, 50))
    flooder_texts = [m.text or "" for m in flooder.inbox]
    assert sum("Commands" in t for t in flooder_texts) == 20
    assert sum("too fast" in t for t in flooder_texts) == 1
    assert errors.records == [], errors.summary()


async def test_a_burst_of_commands_is_answered_in_full_despite_telegram_limits(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    """Telegram allows a private chat only short bursts; the bot waits out the 429s and loses no reply."""
    user = tg.create_user("Quick Qian", language_code="en")
    with ErrorLog() as errors:
        for _ in range(5):
            await user.send("/help")
        assert bot.app is not None
        await wait_idle(tg, bot.app)
    assert sum("Commands" in (m.text or "") for m in user.inbox) == 5
    assert tg.counters.http_429 >= 1, "the sandbox did enforce its per-chat limit"
    assert errors.records == [], errors.summary()


async def test_a_flood_larger_than_the_update_concurrency_does_not_stall_others(
    tg: FakeTelegram, start_bot: StartBot
) -> None:
    """One user's queued updates must not take every concurrent-update slot (256) from everyone."""
    tg.set_rate_limits(True, private_burst=1000)
    runtime = await start_bot(flood_per_minute=12)
    flooder = tg.create_user("Flood Fu", language_code="en")
    other = tg.create_user("Calm Cao", language_code="en")
    baseline = await _round_trip(other, "/help")
    for i in range(400):
        inject_message(tg, flooder.id, flooder.to_user(), {"text": f"spam {i}"})
    await asyncio.sleep(0.3)  # the bot has fetched the flood
    during = await _round_trip(other, "/help")
    print(f"other user: {baseline * 1000:.0f} ms before, {during * 1000:.0f} ms right after a 400-message flood")
    assert during < 1.0
    assert runtime.app is not None
    await wait_idle(tg, runtime.app)
