"""Start and stop the whole bot: database, migrations, services, Application, updater.

The CLI and the tests use the same path, so the start-up work (migrations, command menus,
re-arming scheduled rows) is exercised by every end-to-end test.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

from bot.app import FEATURES, build_application
from bot.clock import Clock
from bot.config import Settings
from bot.context import LiaisonApp
from bot.i18n import Catalog
from bot.leader import Leadership, Peers, token_key
from bot.logsetup import install_redaction
from bot.services import Services
from bot.webapp.server import WebApp, serve
from bot.webhook import Inbox, WebhookServer
from handlers import feature as features
from handlers.common import publish_command_menus
from handlers.webapp import file_sender
from storage.backend import open_database
from storage.db import Database
from storage.migrations import migrate

log = logging.getLogger(__name__)


@dataclass
class BotRuntime:
    settings: Settings
    clock: Clock = field(default_factory=Clock)
    token: str | None = None
    db: Database | None = None
    app: LiaisonApp | None = None
    services: Services | None = None
    webhook: WebhookServer | None = None
    webapp: WebApp | None = None
    poller: Leadership | None = None
    peers: Peers | None = None  # several processes on one database: this one among the others
    inbox: Inbox | None = None
    _webapp_runner: Any = None

    async def start(self, *, polling: bool = True) -> None:
        """Open, migrate, build and start everything; on any failure close what was opened and raise."""
        try:
            await self._start(polling=polling)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, *, polling: bool) -> None:
        secret = self.settings.webhook_secret.get_secret_value() if self.settings.webhook_secret else None
        install_redaction([self.token or self.settings.token, secret, self.settings.database])
        self.db = await open_database(self.settings)
        await migrate(self.db)
        self.services = Services.create(
            self.settings, self.db, self.clock, Catalog.load(self.settings.language)
        )
        if self.db.dialect != "sqlite":
            # elected roles (poller, pacer) are spread over the live processes (bot/leader.py)
            self.peers = Peers(self.db)
            await self.peers.start()
            self.services.delivery.peers = self.peers
        app = build_application(self.settings, self.services, self.token)
        self.app = app
        await app.initialize()
        assert app.bot_data.ui is not None
        await publish_command_menus(app, self.services, app.bot_data.ui.menu)
        await features.start(app, FEATURES)
        await app.start()
        token = self.token or self.settings.token
        if token:
            self.webapp = WebApp(self.services, token, send_file=file_sender(app.bot))
        if not polling:
            return
        assert app.updater is not None
        if self.settings.webhook_url:
            if secret is None:  # bot/config.py refuses this; never serve a webhook without it
                raise RuntimeError("LIAISON_WEBHOOK_SECRET is required in webhook mode")
            host, port = self.settings.listen_host_port
            if self.db.dialect != "sqlite":
                # several processes may receive: updates are recorded, then handled from the database
                self.inbox = Inbox(app, self.db)
                self.inbox.start()
            self.webhook = WebhookServer(app, secret, host, port, inbox=self.inbox)
            if self.webapp is not None:
                self.webapp.mount(self.webhook.web)  # the Mini App on the webhook's server
            await self.webhook.start(self.settings.webhook_url)
            log.info("receiving updates by webhook on %s:%s", host, port)
        else:
            if self.db.dialect == "sqlite":
                await self._start_polling()
            else:
                # several processes may share the database: one long-polls (Telegram refuses two
                # getUpdates at once), elected through it; a standby takes over within 10 s
                self.poller = Leadership(self.db, f"poller:{token_key(app.bot.token)}", peers=self.peers)
                self.poller.start(self._start_polling, self._stop_polling, lambda: app.running, app.create_task)
                log.info("long polling: elected through the database (a standby waits for the lease)")
            if self.webapp is not None and self.settings.webapp_listen:
                web_host, _, web_port = self.settings.webapp_listen.rpartition(":")
                self._webapp_runner = await serve(self.webapp, web_host, int(web_port))
                log.info("serving the Mini App on %s", self.settings.webapp_listen)

    async def _start_polling(self) -> None:
        app = self.app
        assert app is not None and app.updater is not None
        await app.updater.start_polling(
            poll_interval=self.settings.poll_pause_s,
            timeout=10,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )
        log.info("receiving updates by long polling")

    async def _stop_polling(self) -> None:
        app = self.app
        if app is not None and app.updater is not None and app.updater.running:
            await app.updater.stop()
            log.info("stopped long polling")

    async def stop(self) -> None:
        if self._webapp_runner is not None:
            await self._webapp_runner.cleanup()
            self._webapp_runner = None
        if self.webhook is not None:
            await self.webhook.stop()
            self.webhook = None
        if self.inbox is not None:
            await self.inbox.stop()
            self.inbox = None
        app = self.app
        if app is not None:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if self.poller is not None:
                await self.poller.stop()
                self.poller = None
            if app.running:
                await app.stop()
            if not getattr(app, "_initialized", False):
                # Initialisation failed half-way (getMe refused or unreachable): PTB's shutdown is a
                # no-op then, but the HTTP clients were opened; close them so nothing is left behind.
                for request in getattr(app.bot, "_request", ()):
                    await request.shutdown()
            await app.shutdown()
            self.app = None
        if self.peers is not None:
            await self.peers.stop()
            self.peers = None
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def __aenter__(self) -> BotRuntime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
