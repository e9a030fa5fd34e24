"""Faults from Telegram: the sandbox answers ~10 % of calls with 5xx, 429, a dropped connection or
a slow answer while every user presses a button; count lost updates and unexpected errors.

    python bench/faults.py [--users N] [--seed S] [--quick]

Last output line: one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import SANDBOX_TOKEN
from bot.config import load_settings
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.reliability_helpers import TELEGRAM_FAULTS, run_faults

OWNER = 9000001


async def main(users: int, seed: int) -> dict[str, object]:
    logging.getLogger().setLevel(logging.WARNING)  # the run counts ERROR records itself
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram(token=SANDBOX_TOKEN, seed=seed) as tg:
            settings = load_settings(
                None, LIAISON_DB=str(Path(tmp) / "faults.db"), TELEGRAM_API_URL=tg.api_url,
                LIAISON_OWNERS=str(OWNER), LIAISON_FLOOD_PER_MINUTE="10000",
            )
            runtime = BotRuntime(settings, token=SANDBOX_TOKEN)
            await runtime.start()
            try:
                report = await run_faults(tg, runtime, users=users, seed=seed, owner_id=OWNER, timeout=300)
            finally:
                await runtime.stop()
    for line in report.unexpected_errors[:5]:
        print("UNEXPECTED:", line)
    return {**report.figures(), "fault_rates": TELEGRAM_FAULTS}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--quick", action="store_true", help="60 users (CI smoke run)")
    args = parser.parse_args()
    figures = asyncio.run(main(60 if args.quick else args.users, args.seed))
    print(json.dumps(figures))
    sys.exit(1 if figures["lost_updates"] or figures["unexpected_errors"] else 0)
