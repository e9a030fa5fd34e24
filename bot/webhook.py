"""The webhook receiver: Telegram POSTs updates here (webhook mode, `LIAISON_WEBHOOK_URL`).

Our own small aiohttp server instead of python-telegram-bot's, so that
- the secret-token header is compared in constant time (`hmac.compare_digest`) and a request
  without the right one gets 403 and nothing else (no body parsed, nothing logged about it);
- the same server can carry the bot's other HTTP routes (health, the Mini App) later.
A webhook is never started without a secret (bot/config.py refuses that configuration).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiohttp import web
from telegram import Update

from bot.context import LiaisonApp

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
MAX_UPDATE_BYTES = 1_000_000  # an update is a few KB; anything larger is not from Telegram


class WebhookServer:
    def __init__(self, app: LiaisonApp, secret: str, host: str, port: int, path: str = "/telegram") -> None:
        if not secret:
            raise ValueError("a webhook needs a secret token")
        self._app = app
        self._secret = secret.encode()
        self._host = host
        self._port = port
        self.path = path
        self.web = web.Application(client_max_size=MAX_UPDATE_BYTES)
        self.web.router.add_post(path, self._receive)
        self._runner: web.AppRunner | None = None

    async def start(self, url: str) -> None:
        self._runner = web.AppRunner(self.web, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        await self._app.bot.set_webhook(
            url, secret_token=self._secret.decode(), allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _authorised(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)

    async def _receive(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.Response(status=403)
        if request.content_type != "application/json":
            return web.Response(status=415)
        try:
            data: Any = await request.json()
            update = Update.de_json(data, self._app.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook: an update that could not be read (%s)", type(exc).__name__)
            return web.Response(status=400)
        await self._app.update_queue.put(update)
        return web.Response(status=200)
