"""Crash safety: the bot process is killed with SIGKILL at random moments and restarted; what
it acknowledged to users is in the database, and the database is sound."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.server import FakeTelegram
from tests.reliability_helpers import run_crash

KILLS = int(os.environ.get("LIAISON_CRASH_KILLS", "3"))
# The child bot processes run on an SQLite file (the harness reads it directly); the PostgreSQL
# crash run with 2 processes is issue 19's next step.
pytestmark = pytest.mark.sqlite_only


@pytest.mark.stress
async def test_sigkill_at_random_moments_loses_nothing_acknowledged(tg: FakeTelegram, tmp_path: Path) -> None:
    report = await run_crash(tg, tmp_path, kills=KILLS, seed=9, min_gap=0.3, max_gap=0.8, notice_recipients=90,
                             scheduled=4)
    print("crash:", report.figures())
    assert report.kills == KILLS
    assert report.integrity == "ok"
    assert report.language_acks > 0, "the workload got answers between the kills"
    assert report.lost == [], "\n".join(report.lost)
    # registrations and feedback interrupted by the kills were finished after the restarts
    assert report.registrations_acked + report.feedback_acked == report.flows > 0, "\n".join(report.unfinished)
    assert report.seat_problems == [], report.seat_problems
    assert report.duplicate_signups == 0
    # every broadcast recipient got the notice; a second copy only where a send was in flight at a kill
    assert report.notice_unattempted == 0, report.notice_statuses
    assert report.notice_missing == [], report.notice_missing
    assert report.notice_unknown_never_sent == 0, report.notice_statuses
    assert report.notice_received == report.notice_recipients
    assert report.notice_duplicates + report.scheduled_duplicates <= report.in_flight_at_kills
    # scheduled items that fell due among the kills fired exactly once each
    assert report.scheduled_fired == report.scheduled_items
    assert report.scheduled_fired_twice == [], report.scheduled_fired_twice
    assert report.scheduled_missing == [], report.scheduled_missing[:5]
