"""Faults from Telegram: 5xx, 429, dropped connections and slow answers on ~10 % of calls."""

from __future__ import annotations

import pytest

from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID, StartBot
from tests.reliability_helpers import run_faults


@pytest.mark.stress
async def test_telegram_faults_lose_no_update_and_do_not_break_the_bot(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot(flood_per_minute=10_000)
    report = await run_faults(tg, runtime, users=40, seed=5, owner_id=OWNER_ID)
    print("faults:", report.figures())
    assert report.faults_injected > 0
    assert report.lost_updates == 0
    assert report.unexpected_errors == [], "\n".join(report.unexpected_errors[:3])
    assert report.answered_after == report.users
    assert report.owner_alerts <= 1, "owners are told about failures at most once a minute"
