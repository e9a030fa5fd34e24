"""Fuzzing: thousands of hostile updates through the real Application against the strict sandbox."""

from __future__ import annotations

import os

import pytest

from sandbox.server import FakeTelegram
from tests.conftest import StartBot
from tests.reliability_helpers import discover_callback_prefixes, run_fuzz

COUNT = int(os.environ.get("LIAISON_FUZZ_COUNT", "2500"))


def test_every_callback_prefix_of_the_handlers_is_fuzzed() -> None:
    prefixes = discover_callback_prefixes()
    assert {"lang", "home", "noop"} <= set(prefixes)


@pytest.mark.stress
async def test_hostile_updates_cause_no_error_no_rejected_reply_and_no_privileged_change(
    tg: FakeTelegram, start_bot: StartBot
) -> None:
    tg.set_rate_limits(False)  # flood limits have their own tests; here every update reaches a handler
    runtime = await start_bot(flood_per_minute=10_000)
    result = await run_fuzz(tg, runtime, COUNT, seed=20261122)
    print("fuzz:", result.figures())
    assert result.errors == [], "\n".join(result.errors[:5])
    assert result.validation_errors == []
    assert result.unanswered_callbacks == 0, result.unanswered_data
    assert result.privileged_changes == []
    assert not result.bystander_changed


async def test_hostile_updates_with_flood_guard_on_stay_harmless(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot()
    result = await run_fuzz(tg, runtime, 300, seed=7, users=40)
    assert result.errors == [], "\n".join(result.errors[:5])
    assert result.validation_errors == []
    assert result.unanswered_callbacks == 0, result.unanswered_data
    assert result.privileged_changes == []
