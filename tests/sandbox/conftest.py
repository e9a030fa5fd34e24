"""Fixtures: a running FakeTelegram and a real PTB Bot pointed at it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from sandbox.server import FakeTelegram

# PTB 22.x warns (an error under our pytest config) when RetryAfter.retry_after is an int;
# opting in to timedelta values silences that.  The project should set this globally too.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(seed=1) as server:
        yield server


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.api_url, base_file_url=tg.file_url) as client:
        yield client
