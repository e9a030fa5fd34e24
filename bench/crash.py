"""Crash safety: run the bot as a child process against the sandbox with a mixed workload
(language choices, activity sign-ups, a notice broadcast to every member), SIGKILL it at random
moments, restart it, and check that the database is sound, nothing acknowledged to a user was lost,
every broadcast recipient got the notice, duplicates stay within the sends in flight at the kills
(requests out, answers not yet recorded: these are sent again after the restart, counted in
`notice_resent_after_kills`), and scheduled notices falling due among the kills fired exactly once.
With `--backend postgresql` (a throwaway cluster, tests/pg_cluster.py, or `--pg-url`) it runs
`--processes` bot processes (default 2) on one database behind a webhook proxy and kills either:
the figures add the pacer's takeover time, updates abandoned at the kills (being handled by the
killed process: never handled twice), updates answered twice, and chats handled out of order.

    python bench/crash.py [--kills N] [--seed S] [--quick] [--backend postgresql [--processes 2]]

Last output line: one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import SANDBOX_TOKEN
from sandbox.server import FakeTelegram
from tests.reliability_helpers import run_crash


async def main(kills: int, recipients: int, seed: int, pg_url: str | None = None,
               processes: int = 2) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram(token=SANDBOX_TOKEN, seed=seed) as tg:
            target = None
            if pg_url is not None:
                from tests.multiproc_helpers import GroupTarget

                target = GroupTarget(tg, Path(tmp), pg_url, processes)
            report = await run_crash(tg, Path(tmp), kills=kills, seed=seed, users=40,
                                     notice_recipients=recipients, scheduled=max(2, kills // 3), target=target)
    for line in report.lost[:10]:
        print("LOST:", line)
    problems = report.seat_problems + report.notice_missing[:10] + report.scheduled_missing[:10]
    for line in problems + report.scheduled_fired_twice + report.unfinished + report.bot_errors[:10]:
        print("PROBLEM:", line)
    return report.figures()


def _with_dbname(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path="/" + name))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--recipients", type=int, default=600, help="members who receive the broadcast")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--quick", action="store_true", help="3 kills (CI smoke run)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--processes", type=int, default=2, help="PostgreSQL: bot processes on the database")
    parser.add_argument("--pg-url", default=os.environ.get("LIAISON_TEST_PG_URL"),
                        help="a running server (default: a throwaway cluster)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = None
        if args.backend == "postgresql":
            import psycopg

            from tests.pg_cluster import throwaway_cluster

            server = args.pg_url or stack.enter_context(throwaway_cluster())
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute("DROP DATABASE IF EXISTS liaison_crash WITH (FORCE)")
                admin.execute("CREATE DATABASE liaison_crash")
            url = _with_dbname(server, "liaison_crash")
        figures = asyncio.run(main(*((3, 90) if args.quick else (args.kills, args.recipients)), args.seed,
                                   url, args.processes))
    print(json.dumps(figures, ensure_ascii=False))
    failed = figures["integrity_check"] != "ok" or figures["acknowledged_but_lost"] or figures["seat_count_problems"]
    failed = failed or figures["duplicate_signups"] or figures["notice_missing"] or figures["notice_unattempted"]
    failed = failed or figures["scheduled_fired_twice"] or figures["scheduled_missing"]
    if figures["backend"] == "postgresql":
        failed = failed or figures["updates_handled_twice"] or figures["chats_out_of_order"]
    done, started = str(figures["conversations_finished"]).split("/")
    failed = failed or done != started
    duplicates = figures["notice_duplicates"] + figures["scheduled_duplicates"]
    sys.exit(1 if failed or duplicates > figures["notice_sends_in_flight_at_kills"] else 0)
