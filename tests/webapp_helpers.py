"""Mini App tests: the bot's handler mounted on the sandbox's port, and signed API calls."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from bot.app import SANDBOX_TOKEN
from bot.runtime import BotRuntime
from bot.webapp.auth import sign
from sandbox.server import FakeTelegram


def mount(tg: FakeTelegram, runtime: BotRuntime) -> None:
    assert runtime.webapp is not None
    tg.webapp_handler = runtime.webapp.handle


def init_data(runtime: BotRuntime, user_id: int, *, token: str = SANDBOX_TOKEN, age_s: int = 5,
              lang: str = "en") -> str:
    now = int(time.time())  # Telegram signs with real time
    return sign({"id": user_id, "first_name": f"U{user_id}", "language_code": lang}, token, now - age_s)


class Api:
    """A Mini App client for one user (or for raw initData)."""

    def __init__(self, tg: FakeTelegram, auth: str | None) -> None:
        self.base = f"{tg.base}/webapp/api/"
        self.auth = auth

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None,
                   **query: Any) -> tuple[int, Any]:
        headers = {} if self.auth is None else {"Authorization": f"tma {self.auth}"}
        async with aiohttp.ClientSession() as session, session.request(
            method, self.base + path, json=body, params={k: str(v) for k, v in query.items()}, headers=headers
        ) as resp:
            raw = await resp.read()
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, raw

    async def get(self, path: str, **query: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **query)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        return await self.call("POST", path, body or {})
