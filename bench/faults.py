"""Faults from Telegram: the sandbox answers ~10 % of calls with 5xx, 429, a dropped connection or
a slow answer. Three runs: every user presses a button (lost updates, unexpected errors); a
notice broadcast with faults that never reach Telegram (must arrive exactly once, the sender's
report must add up); and one where the connection drops *after* Telegram delivered (ambiguous:
duplicates are counted and reported, they are the price of retrying).

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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import SANDBOX_TOKEN
from bot.config import load_settings
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.reliability_helpers import TELEGRAM_FAULTS, run_faults, run_notice_faults

OWNER = 9000001


NOTICE_FAULTS = {"error_rate": 0.04, "rate_429": 0.03, "drop_rate": 0.03, "delay_rate": 0.05, "delay_s": 0.3}
AMBIGUOUS_FAULTS = {"drop_rate": 0.05, "drop_after_processing": True}


async def _with_bot(run: Any, seed: int) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegram(token=SANDBOX_TOKEN, seed=seed) as tg:
            tg.set_rate_limits(True, private_burst=50)
            settings = load_settings(
                None, LIAISON_DB=str(Path(tmp) / "faults.db"), TELEGRAM_API_URL=tg.api_url,
                LIAISON_OWNERS=str(OWNER), LIAISON_FLOOD_PER_MINUTE="10000",
            )
            runtime = BotRuntime(settings, token=SANDBOX_TOKEN)
            await runtime.start()
            try:
                return await run(tg, runtime)
            finally:
                await runtime.stop()


async def main(users: int, recipients: int, seed: int) -> dict[str, object]:
    logging.getLogger().setLevel(logging.WARNING)  # the runs count ERROR records themselves
    presses = await _with_bot(
        lambda tg, rt: run_faults(tg, rt, users=users, seed=seed, owner_id=OWNER, timeout=300), seed)
    notice = await _with_bot(
        lambda tg, rt: run_notice_faults(tg, rt, recipients, seed, OWNER, NOTICE_FAULTS, timeout=600), seed)
    ambiguous = await _with_bot(
        lambda tg, rt: run_notice_faults(tg, rt, recipients, seed + 1, OWNER, AMBIGUOUS_FAULTS, timeout=600), seed)
    for line in presses.unexpected_errors[:3] + notice.unexpected_errors[:3] + notice.lost[:5]:
        print("PROBLEM:", line)
    print("sender's report:", notice.report_text)
    return {
        **{f"presses.{k}": v for k, v in presses.figures().items()},
        **{f"notice.{k}": v for k, v in notice.figures().items()},
        **{f"ambiguous_notice.{k}": v for k, v in ambiguous.figures().items()},
        "fault_rates": TELEGRAM_FAULTS,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--quick", action="store_true", help="60 users, 60 recipients (CI smoke run)")
    args = parser.parse_args()
    figures = asyncio.run(main(*((60, 60) if args.quick else (args.users, args.recipients)), args.seed))
    print(json.dumps(figures, ensure_ascii=False))
    failed = figures["presses.lost_updates"] or figures["presses.unexpected_errors"] or figures["notice.lost"]
    failed = failed or figures["notice.duplicates"] or not figures["notice.sender_report_consistent"]
    sys.exit(1 if failed or figures["ambiguous_notice.lost"] else 0)
