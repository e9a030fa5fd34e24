"""Start-up time: from process start (``python -m bot run``) to its first getUpdates call.

The database is migrated with ``python -m bot migrate`` and then filled directly with sqlite3
(executemany): ``--members`` active members with bot_users rows and group memberships, and
``--scheduled`` pending future rows in ``activity_due`` (the activities' scheduled reminders;
other features' job tables are checked the same way by their ticks). Each configuration is
started ``--repeats`` times; the median is reported. The sandbox (rate limits off) runs in this
process; the bot is a child process.

    python bench/startup.py [--quick] [--members N] [--scheduled N]

Keys: startup_s (the full database), startup_empty_s (a freshly migrated database),
startup_scheduled_s (the full database plus the scheduled rows), members, scheduled; the
*_cpu_s keys are the bot process's CPU seconds until then (less sensitive to machine load).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, cpu_seconds, median, spawn, stop_async, wait_polling

from sandbox.server import FakeTelegram

OWNER_ID = 9000001
EPOCH = "2026-01-01T00:00:00.000000Z"
FUTURE = "2036-01-01T00:00:00.000000Z"
FUTURE_END = "2036-01-01T02:00:00.000000Z"


def migrate(db_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "bot", "--log-level", "WARNING", "migrate"],
        cwd=ROOT, env=_env(db_path, "http://127.0.0.1:9/bot"), check=True, capture_output=True,
    )


def _env(db_path: Path, api_url: str) -> dict[str, str]:
    import os

    return {
        **os.environ, "PYTHONPATH": str(ROOT), "BOT_TOKEN": "7000000:sandbox", "TELEGRAM_API_URL": api_url,
        "LIAISON_DB": str(db_path), "LIAISON_OWNERS": str(OWNER_ID),
    }


def fill(db_path: Path, members: int, scheduled: int) -> None:
    """Members (with groups and bot_users rows) and pending scheduled rows, straight into SQLite."""
    conn = sqlite3.connect(db_path)
    try:
        with conn:
            conn.execute(
                "INSERT INTO groups (id, parent_id, name, kind, path, created_at)"
                " VALUES (1, NULL, 'Head', 'head', '/1/', ?)",
                (EPOCH,),
            )
            conn.executemany(
                "INSERT INTO groups (id, parent_id, name, kind, path, created_at) VALUES (?, 1, ?, 'local', ?, ?)",
                [(g, f"Group {g}", f"/1/{g}/", EPOCH) for g in range(2, 32)],
            )
            conn.executemany(
                "INSERT INTO members (id, user_id, status, name, category, registered_at, updated_at)"
                " VALUES (?, ?, 'active', ?, ?, ?, ?)",
                ((i, 200_000_000 + i, f"Member {i}", str(i % 5 + 1), EPOCH, EPOCH) for i in range(1, members + 1)),
            )
            conn.executemany(
                "INSERT INTO member_groups (member_id, group_id, status, requested_at) VALUES (?, ?, 'active', ?)",
                ((i, 2 + i % 30, EPOCH) for i in range(1, members + 1)),
            )
            conn.executemany(
                "INSERT INTO bot_users (user_id, language, started_at, last_seen_at) VALUES (?, 'en', ?, ?)",
                ((200_000_000 + i, EPOCH, EPOCH) for i in range(1, members + 1)),
            )
            if scheduled:
                conn.execute(
                    "INSERT INTO activities (id, title, starts_at, ends_at, signup_deadline, status, created_by,"
                    " created_at, updated_at) VALUES (1, 'Bench', ?, ?, ?, 'published', ?, ?, ?)",
                    (FUTURE, FUTURE_END, FUTURE, OWNER_ID, EPOCH, EPOCH),
                )
                conn.executemany(
                    "INSERT INTO activity_due (activity_id, kind, member_id, tag, due_at)"
                    " VALUES (1, 'reminder', ?, ?, ?)",
                    ((i, i, FUTURE) for i in range(1, scheduled + 1)),
                )
    finally:
        conn.close()


async def start_once(db_path: Path) -> tuple[float, float]:
    """Seconds from spawning `python -m bot run` to its first getUpdates call, and its CPU seconds."""
    async with FakeTelegram(rate_limits=False) as tg:
        started = time.monotonic()
        proc = spawn(["-m", "bot", "--log-level", "WARNING", "run"], _env(db_path, tg.api_url))
        try:
            await wait_polling(tg, proc, timeout=120)
            return time.monotonic() - started, cpu_seconds(proc.pid)
        finally:
            await stop_async(proc, tg)


async def measure(tmp: Path, name: str, members: int, scheduled: int, repeats: int) -> tuple[float, float]:
    db_path = tmp / f"{name}.db"
    migrate(db_path)
    fill(db_path, members, scheduled)
    runs = [await start_once(db_path) for _ in range(repeats)]
    wall, cpu = median([r[0] for r in runs]), median([r[1] for r in runs])
    print(f"{name}: {members} members, {scheduled} scheduled rows: start-up {wall:.2f} s, {cpu:.2f} CPU s "
          f"(runs: {', '.join(f'{w:.2f}' for w, _ in runs)})", flush=True)
    return wall, cpu


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        empty = await measure(tmp, "empty", 0, 0, args.repeats)
        full = await measure(tmp, "members", args.members, 0, args.repeats)
        sched = await measure(tmp, "scheduled", args.members, args.scheduled, args.repeats)
    return {
        "startup_s": round(full[0], 2), "startup_cpu_s": round(full[1], 2), "startup_empty_s": round(empty[0], 2),
        "startup_scheduled_s": round(sched[0], 2), "startup_scheduled_cpu_s": round(sched[1], 2),
        "members": args.members, "scheduled": args.scheduled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 members, 1,000 scheduled rows, one run each")
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--scheduled", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    args.members = args.members if args.members is not None else (10_000 if args.quick else 100_000)
    args.scheduled = args.scheduled if args.scheduled is not None else (1_000 if args.quick else 10_000)
    args.repeats = args.repeats or (1 if args.quick else 3)
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
