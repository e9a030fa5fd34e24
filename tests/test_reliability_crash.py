"""Crash safety: the bot process is killed with SIGKILL at random moments and restarted; what
it acknowledged to users is in the database, and the database is sound. On SQLite one process;
on PostgreSQL two processes behind a webhook proxy, either of them killed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.server import FakeTelegram
from tests.multiproc_helpers import GroupTarget
from tests.reliability_helpers import CrashReport, run_crash

KILLS = int(os.environ.get("LIAISON_CRASH_KILLS", "3"))


@pytest.mark.sqlite_only
@pytest.mark.stress
async def test_sigkill_at_random_moments_loses_nothing_acknowledged(tg: FakeTelegram, tmp_path: Path) -> None:
    report = await run_crash(tg, tmp_path, kills=KILLS, seed=9, min_gap=0.3, max_gap=0.8, notice_recipients=90,
                             scheduled=4)
    print("crash:", report.figures())
    _check(report)


@pytest.mark.stress
async def test_pg_two_processes_sigkill_either_loses_nothing_acknowledged(
    tg: FakeTelegram, tmp_path: Path, database_url: str | None
) -> None:
    if database_url is None:
        pytest.skip("PostgreSQL only: two processes share one server database")
    target = GroupTarget(tg, tmp_path, database_url, processes=2)
    report = await run_crash(tg, tmp_path, kills=KILLS, seed=11, min_gap=0.3, max_gap=0.8, notice_recipients=90,
                             scheduled=4, target=target)
    print("crash:", report.figures())
    _check(report)
    assert report.handled_twice == 0, "no update was handled twice"
    assert report.updates_out_of_order == 0, "every chat's updates were handled in order"
    assert report.updates_recorded > 0


def _check(report: CrashReport) -> None:
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
