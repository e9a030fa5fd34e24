"""The webhook receiver: Telegram POSTs updates here (webhook mode, `LIAISON_WEBHOOK_URL`).

Our own small aiohttp server instead of python-telegram-bot's, so that
- the secret-token header is compared in constant time (`hmac.compare_digest`) and a request
  without the right one gets 403 and nothing else (no body parsed, nothing logged about it);
- the same server can carry the bot's other HTTP routes (health, the Mini App) later.
A webhook is never started without a secret (bot/config.py refuses that configuration).

Several processes on one database (PostgreSQL) may each receive updates (a reverse proxy spreads
Telegram's requests). Then an update is recorded durably (`Inbox.receive`, unique update_id)
before Telegram gets its 200, and handled from the database (`Inbox`): a chat's updates by the one
process holding the chat's lease, one at a time in update_id order, each taken (a write) before
it is handled, so no update is handled twice, also when a process dies; its chats' leases run out
and another process takes them over, first reading their conversation state back from the
database (`SqlitePersistence.reload_chat`: PTB keeps it in memory, #4452). An update a process was
handling when it died is not handled again ('abandoned': it may have been half done, and its
reply may have gone out). On SQLite (one process) updates go straight to PTB's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from datetime import timedelta
from typing import Any

from aiohttp import web
from telegram import Update

from bot.context import LiaisonApp
from bot.leader import new_holder, wall_now
from bot.persistence import SqlitePersistence
from bot.updates import ordering_key
from storage import inbound
from storage.db import Database, StorageError

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
MAX_UPDATE_BYTES = 1_000_000  # an update is a few KB; anything larger is not from Telegram


class WebhookServer:
    def __init__(self, app: LiaisonApp, secret: str, host: str, port: int, path: str = "/telegram",
                 inbox: Inbox | None = None) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret token")
        self._app = app
        self._inbox = inbox
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
        if self._inbox is not None:
            try:
                await self._inbox.receive(update, data)
            except StorageError as exc:  # not recorded: Telegram must send it again
                log.warning("webhook: an update could not be recorded (%s)", type(exc).__name__)
                return web.Response(status=503)
            return web.Response(status=200)
        await self._app.update_queue.put(update)
        return web.Response(status=200)


CHAT_TTL = timedelta(seconds=8)  # a dead process's chats are taken over this long after its last renewal
RENEW_S = 2.0
LOOK_S = 0.2  # how often each process looks for chats nobody handles (another process's, a dead one's)
KEEP = timedelta(days=1)  # handled updates are kept this long (Telegram's repeats are dropped meanwhile)
MAX_CHATS = 256  # chats handled at once by one process (as PerUserUpdateProcessor's slots)


class Inbox:
    """The durable inbound updates of one process (webhook mode, several processes on one database)."""

    def __init__(self, app: LiaisonApp, db: Database, holder: str | None = None) -> None:
        self.app = app
        self.db = db
        self.holder = holder or new_holder()
        self._chats: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.handled = 0
        self.abandoned = 0
        self.takeovers = 0  # chats taken (their state read back) by this process

    async def receive(self, update: Update, data: Any) -> None:
        """Record the update (committed when this returns); a repeat of a recorded one is dropped."""
        key = ordering_key(update)
        await inbound.record(self.db, update.update_id, 0 if key is None else key,
                             json.dumps(data, ensure_ascii=False), wall_now())
        self._wake.set()

    def start(self) -> None:
        self._task = self.app.create_task(self._run(), name="inbox")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        renewed = purged = 0.0
        loop = asyncio.get_running_loop()
        try:
            while self.app.running:
                now = loop.time()
                try:
                    if self._chats and now - renewed >= RENEW_S:
                        await inbound.renew_chats(self.db, self.holder, wall_now(), CHAT_TTL)
                        renewed = now
                    if now - purged >= 600:
                        await inbound.purge(self.db, wall_now() - KEEP)
                        purged = now
                    await self._take_chats()
                except StorageError as exc:
                    log.warning("inbox: the database did not answer (%s)", type(exc).__name__)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), LOOK_S)
        finally:
            # a clean stop: each chat finishes the update in hand, the rest wait for a process
            self._stopping = True
            await asyncio.shield(asyncio.gather(*self._chats.values(), return_exceptions=True))

    async def _take_chats(self) -> None:
        room = MAX_CHATS - len(self._chats)
        if room <= 0:
            return
        for key in await inbound.open_chats(self.db, self.holder, wall_now(), room + len(self._chats)):
            if key in self._chats or len(self._chats) >= MAX_CHATS:
                continue
            if await inbound.claim_chat(self.db, key, self.holder, wall_now(), CHAT_TTL):
                self._chats[key] = asyncio.create_task(self._handle_chat(key))

    async def _handle_chat(self, key: int) -> None:
        """Handle the chat's recorded updates in order while this process holds its lease."""
        try:
            done: int | None = None  # handled, not yet marked done
            last: int | None = None  # the last update looked at
            await self._reload(key)
            while not self._stopping:
                row = await inbound.next_open(self.db, key, last)
                if row is None:
                    break
                last = row.update_id
                if row.state == "taken":
                    # a process died while handling it: it may be half done (its reply may have gone
                    # out), so it is not handled again
                    await inbound.finish(self.db, row.update_id, "abandoned")
                    self.abandoned += 1
                    log.warning("inbox: update %s was being handled by %s when it stopped; not handled again",
                                row.update_id, row.taken_by)
                    continue
                if not await inbound.take(self.db, row.update_id, self.holder, wall_now(), done):
                    break  # someone else has it (this process lost the lease)
                done = None  # recorded done with the take
                try:
                    update = Update.de_json(json.loads(row.body), self.app.bot)
                    await self.app.process_update(update)
                except Exception:
                    log.exception("inbox: update %s failed", row.update_id)
                # what the update changed in conversations and user/chat data reaches the database
                # now, not at PTB's next periodic flush: another process may take the chat next
                await self.app.update_persistence()
                done = row.update_id  # marked done with the next take, or when the chat is given up
                self.handled += 1
        except StorageError as exc:  # the chat is given up; a process takes it again once it answers
            log.warning("inbox: the database did not answer while handling chat updates (%s)", type(exc).__name__)
        finally:
            self._chats.pop(key, None)
            with contextlib.suppress(*StorageError):
                await asyncio.shield(inbound.release_chat(self.db, key, self.holder, done))
            self._wake.set()  # more may have come meanwhile

    async def _reload(self, key: int) -> None:
        """This process takes the chat (over): what PTB holds in memory about it may be stale."""
        self.takeovers += 1
        persistence = self.app.persistence
        if isinstance(persistence, SqlitePersistence):
            await persistence.reload_chat(self.app, key)
