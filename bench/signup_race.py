"""Sign-up race: N members press "Sign up" on an activity with S seats at the same moment.

Runs the real Application against the sandbox over real HTTP (flood limits switched off:
presses cause only callback answers and message edits). Checks that exactly S are confirmed
and N - S waitlisted in order (positions 1..N-S, in sign-up row order), and reports timings.

Usage::

    python bench/signup_race.py [--quick]      # --quick: 200 members, 10 seats
    python bench/signup_race.py --latency-ms 50   # every Bot API call 50 ms slower (keys get _50ms)

The last line of output is one JSON object: confirmed, waitlisted, all_answered_s, p50_ms, p99_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import SANDBOX_TOKEN
from bot.config import load_settings
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.activities_helpers import draft, drain_outbox, owner_actor

OWNER = 9000001
EPOCH = "2026-01-01T00:00:00.000000Z"
POSITION = re.compile(r"number (\d+) on the waitlist")


async def race(members: int, seats: int, latency_ms: float = 0.0) -> dict[str, float | int]:
    async with FakeTelegram(token=SANDBOX_TOKEN, seed=1, callback_ttl_s=120.0) as tg:
        tg.set_rate_limits(False)
        with tempfile.TemporaryDirectory() as directory:
            settings = load_settings(
                None,
                LIAISON_DB=str(Path(directory) / "race.db"),
                TELEGRAM_API_URL=tg.api_url,
                LIAISON_OWNERS=str(OWNER),
                LIAISON_FLOOD_PER_MINUTE="10000",
            )
            runtime = BotRuntime(settings, token=SANDBOX_TOKEN)
            await runtime.start()
            try:
                return await _run(tg, runtime, members, seats, latency_ms)
            finally:
                await runtime.stop()


async def _run(
    tg: FakeTelegram, runtime: BotRuntime, members: int, seats: int, latency_ms: float = 0.0
) -> dict[str, float | int]:
    assert runtime.db is not None and runtime.services is not None
    users = [tg.create_user(f"Member {i}", language_code="en") for i in range(members)]
    async with runtime.db.transaction() as tx:
        for user in users:
            user.state.started = True
            await tx.execute(
                "INSERT INTO members (user_id, status, name, category, registered_at, updated_at)"
                " VALUES (?, 'active', ?, '1', ?, ?)",
                (user.id, user.state.first_name, EPOCH, EPOCH),
            )
            await tx.execute(
                "INSERT INTO bot_users (user_id, language, started_at, last_seen_at) VALUES (?, 'en', ?, ?)",
                (user.id, EPOCH, EPOCH),
            )
    created = await runtime.services.activities.create(
        owner_actor(OWNER), draft(runtime.services.clock.now(), capacity=seats)
    )
    assert created.activity is not None
    await drain_outbox(runtime)  # the announcements (test-only drain; the real worker is bot/delivery.py)
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

    began = time.perf_counter()
    await asyncio.gather(*(press(i) for i in range(members)))
    all_answered = time.perf_counter() - began

    rows = await runtime.db.fetchall(
        "SELECT m.user_id, s.status FROM activity_signups s JOIN members m ON m.id = s.member_id"
        " WHERE s.activity_id = ? ORDER BY s.id",
        (created.activity.id,),
    )
    confirmed = [r["user_id"] for r in rows if r["status"] == "confirmed"]
    waiting = [r["user_id"] for r in rows if r["status"] == "waiting"]
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
    }
    ok = len(confirmed) == seats and len(waiting) == members - seats and in_order and confirmed_answers == seats
    print(f"confirmed={len(confirmed)} waitlisted={len(waiting)} in_order={in_order} -> {'OK' if ok else 'FAIL'}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="200 members, 10 seats")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every Bot API call by the sandbox")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    members, seats = (200, 10) if args.quick else (1000, 50)
    figures = asyncio.run(race(members, seats, args.latency_ms))
    suffix = f"_{args.latency_ms:g}ms" if args.latency_ms else ""
    print(json.dumps({f"{key}{suffix}": value for key, value in figures.items()}))
    ok = figures["confirmed"] == seats and figures["waitlisted"] == members - seats and figures["waitlist_in_order"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
