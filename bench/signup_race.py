"""Sign-up race: N members press "Sign up" on an activity with S seats at the same moment.

Runs the bot as a CHILD process (``python -m bot run``, as it is deployed) against the sandbox in
this process over real HTTP (flood limits switched off: presses cause only callback answers and
message edits), so the sandbox and the N simulated users do not take the bot's CPU. Checks that
exactly S are confirmed and N - S waitlisted in order (positions 1..N-S, in sign-up row order),
and reports timings.

Usage::

    python bench/signup_race.py [--quick]      # --quick: 200 members, 10 seats
    python bench/signup_race.py --latency-ms 50   # every Bot API call 50 ms slower (keys get _50ms)

The last line of output is one JSON object: confirmed, waitlisted, all_answered_s, p50_ms, p99_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    OWNER_ID,
    cpu_seconds,
    deliver,
    postgresql_database,
    prepare_db,
    settle_heap,
    spawn,
    stop_async,
    wait_polling,
)

from bot.app import SANDBOX_TOKEN
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from tests import dbsync

POSITION = re.compile(r"number (\d+) on the waitlist")


async def race(members: int, seats: int, latency_ms: float = 0.0,
               database_url: str | None = None) -> dict[str, float | int]:
    async with FakeTelegram(token=SANDBOX_TOKEN, seed=1, callback_ttl_s=120.0) as tg:
        tg.set_rate_limits(False)
        with tempfile.TemporaryDirectory() as directory:
            db_path = Path(directory) / "race.db"
            users = [tg.create_user(f"Member {i}", language_code="en") for i in range(members)]
            await deliver(tg, await prepare_db(db_path, users, capacity=seats, database_url=database_url))
            settle_heap()  # the bench's own full collections must not count as the bot's latency
            env = {
                "BOT_TOKEN": tg.token,
                "TELEGRAM_API_URL": tg.api_url,
                "LIAISON_DB": str(db_path),
                "LIAISON_OWNERS": str(OWNER_ID),
                "LIAISON_FLOOD_PER_MINUTE": "10000",
                "LIAISON_DATABASE_URL": database_url or "",  # "": never the shell's server for SQLite
            }
            proc = spawn(["-m", "bot", "--log-level", "WARNING", "run"], env)
            try:
                await wait_polling(tg, proc)
                return await _run(tg, proc.pid, _Target(database_url, db_path), users, seats, latency_ms)
            finally:
                tg.set_faults()
                await stop_async(proc, tg)


async def _run(
    tg: FakeTelegram, pid: int, db: _Target, users: list[SandboxUser], seats: int, latency_ms: float = 0.0
) -> dict[str, float | int]:
    members = len(users)
    announcements = [u.messages[-1] for u in users]

    latencies: list[float] = []
    answers: dict[int, str] = {}
    tg.set_faults(latency_s=latency_ms / 1000)  # added to every Bot API call from now on

    async def press(index: int) -> None:
        started = time.perf_counter()
        result = await users[index].press(announcements[index], "Sign up")
        answer = await result.answer(timeout=120)
        latencies.append(time.perf_counter() - started)
        answers[users[index].id] = answer.text or ""

    cpu0 = cpu_seconds(pid)
    began = time.perf_counter()
    await asyncio.gather(*(press(i) for i in range(members)))
    all_answered = time.perf_counter() - began
    bot_cpu = cpu_seconds(pid) - cpu0
    # the message edits follow the answers: wait (bounded) until every announcement was edited
    deadline = time.monotonic() + 30
    while sum(1 for u in users if u.messages[-1].edited) < members and time.monotonic() < deadline:
        await asyncio.sleep(0.05)

    with dbsync.connect(db) as conn:  # reading beside the running bot is fine (WAL / MVCC)
        rows = conn.execute(
            "SELECT m.user_id, s.status FROM activity_signups s JOIN members m ON m.id = s.member_id ORDER BY s.id"
        ).fetchall()
    confirmed = [user_id for user_id, status in rows if status == "confirmed"]
    waiting = [user_id for user_id, status in rows if status == "waiting"]
    positions = []
    for user_id in waiting:
        found = POSITION.search(answers.get(user_id, ""))
        positions.append(int(found.group(1)) if found else -1)
    in_order = positions == list(range(1, len(waiting) + 1))
    confirmed_answers = sum(1 for uid in confirmed if "signed up" in answers.get(uid, ""))
    ordered = sorted(latencies)
    figures: dict[str, float | int] = {
        "members": members,
        "seats": seats,
        "confirmed": len(confirmed),
        "waitlisted": len(waiting),
        "waitlist_in_order": int(in_order),
        "confirmed_told": confirmed_answers,
        "all_answered_s": round(all_answered, 3),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "edits": sum(1 for u in users if u.messages[-1].edited),
        "bot_cpu_ms_per_press": round(bot_cpu * 1000 / members, 2),
    }
    ok = len(confirmed) == seats and len(waiting) == members - seats and in_order and confirmed_answers == seats
    print(f"confirmed={len(confirmed)} waitlisted={len(waiting)} in_order={in_order} -> {'OK' if ok else 'FAIL'}")
    return figures


class _Target:
    """Where the bot's data is: PostgreSQL at `database`, else the SQLite file `db_path`."""

    def __init__(self, database: str | None, db_path: Path) -> None:
        self.database = database
        self.db_path = db_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="200 members, 10 seats")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every Bot API call by the sandbox")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite",
                        help="postgresql: $LIAISON_DATABASE_URL's server, else a throwaway cluster")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    members, seats = (200, 10) if args.quick else (1000, 50)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgresql_database()) if args.backend == "postgresql" else None
        figures = asyncio.run(race(members, seats, args.latency_ms, url))
    suffix = f"_{args.latency_ms:g}ms" if args.latency_ms else ""
    suffix += "_pg" if args.backend == "postgresql" else ""
    print(json.dumps({f"{key}{suffix}": value for key, value in figures.items()}))
    ok = figures["confirmed"] == seats and figures["waitlisted"] == members - seats and figures["waitlist_in_order"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
