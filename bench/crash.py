"""Crash safety: run the bot as a child process against the sandbox with a mixed workload
(language choices, activity sign-ups, ...), SIGKILL it at random moments, restart it, and check
that the database is sound and nothing acknowledged to a user was lost.

    python bench/crash.py [--kills N] [--seed S] [--quick]

Last output line: one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import SANDBOX_TOKEN
from sandbox.server import FakeTelegram
from tests.reliability_helpers import run_crash


async def main(kills: int, seed: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram(token=SANDBOX_TOKEN, seed=seed) as tg:
            report = await run_crash(tg, Path(tmp), kills=kills, seed=seed, users=40)
    for line in report.lost[:10]:
        print("LOST:", line)
    for line in report.seat_problems + report.bot_errors[:10]:
        print("PROBLEM:", line)
    return report.figures()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--quick", action="store_true", help="3 kills (CI smoke run)")
    args = parser.parse_args()
    figures = asyncio.run(main(3 if args.quick else args.kills, args.seed))
    print(json.dumps(figures, ensure_ascii=False))
    failed = figures["integrity_check"] != "ok" or figures["acknowledged_but_lost"] or figures["seat_count_problems"]
    sys.exit(1 if failed or figures["duplicate_signups"] else 0)
