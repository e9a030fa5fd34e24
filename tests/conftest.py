"""Shared fixtures: a strict sandbox Telegram, and the real bot running against it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.app import SANDBOX_TOKEN
from bot.clock import FakeClock
from bot.config import Settings, load_settings
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram

OWNER_ID = 9000001


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=SANDBOX_TOKEN, seed=1) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path, tg: FakeTelegram) -> Settings:
    return load_settings(
        None,
        LIAISON_DB=str(tmp_path / "liaison.db"),
        TELEGRAM_API_URL=tg.api_url,
        LIAISON_OWNERS=str(OWNER_ID),
    )


StartBot = Callable[..., Awaitable[BotRuntime]]


@pytest.fixture
async def start_bot(settings: Settings, clock: FakeClock) -> AsyncIterator[StartBot]:
    """Start (and later stop) a bot runtime; call again after stopping to 'restart' it."""
    running: list[BotRuntime] = []

    async def start(**overrides: object) -> BotRuntime:
        # Re-validate, so overrides are checked and converted like environment values.
        effective = Settings.model_validate(settings.model_dump() | overrides) if overrides else settings
        runtime = BotRuntime(effective, clock=clock, token=SANDBOX_TOKEN)
        await runtime.start()
        running.append(runtime)
        return runtime

    yield start
    for runtime in running:
        await runtime.stop()


@pytest.fixture
async def bot(start_bot: StartBot) -> BotRuntime:
    return await start_bot()
