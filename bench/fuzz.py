"""Fuzz the running bot with hostile updates (random and hostile text, forged callback data of
every prefix the handlers use, edited and forwarded commands, service identities, stickers,
locations, group events) and count what goes wrong.

    python bench/fuzz.py [--count N] [--seed S] [--quick]

Figures: unhandled errors (records at ERROR), replies the strict sandbox rejected, unanswered
button presses, privileged tables changed, bystanders' rows changed. Last line: one JSON object.
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
from tests.reliability_helpers import run_fuzz


async def main(count: int, seed: int) -> dict[str, object]:
    logging.getLogger().setLevel(logging.WARNING)  # records at ERROR are what the run counts
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram(token=SANDBOX_TOKEN, seed=seed) as tg:
            tg.set_rate_limits(False)
            settings = load_settings(
                None, LIAISON_DB=str(Path(tmp) / "fuzz.db"), TELEGRAM_API_URL=tg.api_url,
                LIAISON_OWNERS="9000001", LIAISON_FLOOD_PER_MINUTE="10000",
            )
            runtime = BotRuntime(settings, token=SANDBOX_TOKEN)
            await runtime.start()
            try:
                result = await run_fuzz(tg, runtime, count, seed)
            finally:
                await runtime.stop()
    for line in result.errors[:5]:
        print("ERROR:", line)
    for method, description in result.validation_errors[:5]:
        print("REJECTED:", method, description)
    return result.figures()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--quick", action="store_true", help="2,000 updates (CI smoke run)")
    args = parser.parse_args()
    figures = asyncio.run(main(2_000 if args.quick else args.count, args.seed))
    print(json.dumps(figures))
    bad = figures["unhandled_errors"] or figures["rejected_replies"] or figures["unanswered_callbacks"]
    sys.exit(1 if bad or figures["privileged_changes"] or figures["bystander_changed"] else 0)
