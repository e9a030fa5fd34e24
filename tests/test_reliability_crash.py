"""Crash safety: the bot process is killed with SIGKILL at random moments and restarted; what
it acknowledged to users is in the database, and the database is sound."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.server import FakeTelegram
from tests.reliability_helpers import run_crash

KILLS = int(os.environ.get("LIAISON_CRASH_KILLS", "3"))


@pytest.mark.stress
async def test_sigkill_at_random_moments_loses_nothing_acknowledged(tg: FakeTelegram, tmp_path: Path) -> None:
    report = await run_crash(tg, tmp_path, kills=KILLS, seed=9, min_gap=0.4, max_gap=1.2)
    print("crash:", report.figures())
    assert report.kills == KILLS
    assert report.integrity == "ok"
    assert report.language_acks > 0, "the workload got answers between the kills"
    assert report.lost == [], "\n".join(report.lost)
    assert report.seat_problems == [], report.seat_problems
    assert report.duplicate_signups == 0
