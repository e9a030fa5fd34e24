"""``FakeTelegram``: a strict in-memory fake of the Telegram Bot API served over real HTTP.

Usage::

    async with FakeTelegram() as tg:
        bot = telegram.Bot(tg.token, base_url=tg.api_url, base_file_url=tg.file_url)
        alice = tg.create_user("Alice")

Flood limits apply only to message-sending methods (see :mod:`sandbox.ratelimit`); edits and
callback answers are not limited by the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import fields as dataclass_fields
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.driver import SandboxGroup, SandboxUser
from sandbox.methods import BotApi, Upload
from sandbox.ratelimit import RateLimitConfig, RateLimiter
from sandbox.spec import ApiError, load_catalogue, validate_params
from sandbox.state import JSON, ChatState, Counters, FaultConfig, UserState, World

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "7000000:sandbox"  # noqa: S105 - a fake token, never a secret
NOT_FOUND: JSON = {"ok": False, "error_code": 404, "description": "Not Found"}
MAX_BODY = 64 * 1024 * 1024
WEBHOOK_RETRY_S = 0.5


class FakeTelegram:
    """The fake Bot API server plus the in-process driver API used by tests."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, host: str = "127.0.0.1", port: int = 0,
                 spec_path: Path | None = None, rate_limits: bool = True, seed: int | None = None,
                 callback_ttl_s: float = 15.0) -> None:
        self.token = token
        self.host = host
        self.port = port
        bot_id = int(token.split(":", 1)[0])
        self.world = World(bot_id, "sandbox_bot")
        self.limiter = RateLimiter(RateLimitConfig(enabled=rate_limits))
        self.api = BotApi(self.world, self.limiter)
        self.api.callback_ttl_s = callback_ttl_s
        self.catalogue, self.spec_loaded = load_catalogue(spec_path)
        self.counters = Counters()
        self.faults = FaultConfig()
        self._rng = random.Random(seed)
        # Scripted 429s: method name (lower case) -> retry_after of each next call to answer 429.
        self._scripted_429: dict[str, list[int]] = {}
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._next_user_id = 100000001
        self._next_group_id = 1
        # Shown by the web chat: which user ids the bot treats as owners, and a note per user.
        self.owner_ids: list[int] = []
        self.user_notes: dict[int, str] = {}
        # Users who exist (they have started the bot) but nobody plays them: the web chat hides them.
        self.background_ids: set[int] = set()
        # The bot's Mini App handler, served on this port under /webapp/ (set by whoever runs the bot).
        self.webapp_handler: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None
        self.app = self._build_app()

    # ----- lifecycle -------------------------------------------------------------------------------
    def _build_app(self) -> web.Application:
        from sandbox.control import setup_control
        from sandbox.webapp import setup_webapp

        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_bot)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        setup_control(app, self)
        setup_webapp(app, self)
        return app

    async def start(self) -> None:
        """Bind to ``host:port`` (port 0 picks a free one) and start the webhook sender."""
        self.api.stopping = False
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._webhook_task = asyncio.create_task(self._webhook_loop())

    async def stop(self) -> None:
        """Stop serving; pending long polls return at once."""
        self.api.stopping = True
        self.world.changed.notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Pass as ``base_url`` to ``telegram.Bot``."""
        return f"{self.base}/bot"

    @property
    def file_url(self) -> str:
        """Pass as ``base_file_url`` to ``telegram.Bot``."""
        return f"{self.base}/file/bot"

    # ----- HTTP Bot API ----------------------------------------------------------------------------
    async def _handle_bot(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(NOT_FOUND, status=404)
        method = self.catalogue.get(request.match_info["method"].lower())
        if method is None:
            self.counters.validation_errors.append((request.match_info["method"], "Not Found"))
            return web.json_response(NOT_FOUND, status=404)
        self.counters.requests += 1
        self.counters.calls[method.name] += 1
        fault = await self._inject_fault(request)
        if fault is not None:
            return fault
        try:
            params, uploads = await _read_params(request)
            params = validate_params(method, params, uploads)
            handler = self.api.handlers.get(method.name.lower())
            if handler is None:
                raise ApiError(400, "Bad Request: method is not supported by the sandbox")
            result = await handler(params, uploads)
        except ApiError as err:
            return self._error(method.name, err)
        if self.faults.drop_after_processing and self._roll(self.faults.drop_rate):
            return _drop(request)
        return web.json_response({"ok": True, "result": result})

    def _error(self, method: str, err: ApiError) -> web.Response:
        body: JSON = {"ok": False, "error_code": err.code, "description": err.description}
        if err.parameters:
            body["parameters"] = err.parameters
        if err.code == 429:
            self.counters.http_429 += 1
        else:
            self.counters.validation_errors.append((method, err.description))
        return web.json_response(body, status=err.code)

    def _roll(self, probability: float) -> bool:
        return probability > 0 and self._rng.random() < probability

    async def _inject_fault(self, request: web.Request) -> web.StreamResponse | None:
        scripted = self._scripted_429.get(request.match_info["method"].lower())
        if scripted:
            return self._flood_response(scripted.pop(0))
        cfg = self.faults
        delay = cfg.latency_s + (cfg.delay_s if self._roll(cfg.delay_rate) else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        if not cfg.drop_after_processing and self._roll(cfg.drop_rate):
            self.counters.faults_injected += 1
            return _drop(request)
        if self._roll(cfg.rate_429):
            return self._flood_response(1)
        if self._roll(cfg.error_rate):
            self.counters.faults_injected += 1
            code, text = self._rng.choice(((500, "Internal Server Error"), (502, "Bad Gateway")))
            return web.json_response({"ok": False, "error_code": code, "description": text}, status=code)
        return None

    def _flood_response(self, retry_after: int) -> web.Response:
        self.counters.faults_injected += 1
        self.counters.http_429 += 1
        body = {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after}}
        return web.json_response(body, status=429)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(NOT_FOUND, status=404)
        path = request.match_info["path"]
        for record in self.world.files.values():
            if record.file_path == path:
                return web.Response(body=record.data, content_type="application/octet-stream")
        return web.json_response(NOT_FOUND, status=404)

    # ----- webhook delivery ------------------------------------------------------------------------
    async def _webhook_loop(self) -> None:
        while True:
            event = self.world.changed.event()
            url = str(self.api.webhook["url"])
            if url and self.world.updates:
                await self._deliver(url, self.world.updates[0])
                continue
            await event.wait()

    async def _deliver(self, url: str, update: JSON) -> None:
        assert self._session is not None
        headers = {}
        secret = self.api.webhook["secret_token"]
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(secret)
        error: str | None = None
        try:
            async with self._session.post(url, json=update, headers=headers) as response:
                if not 200 <= response.status < 300:
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {exc.__class__.__name__}"
        if error is None:
            if self.world.updates and self.world.updates[0] is update:
                self.world.updates.pop(0)
            return
        self.api.webhook.update(last_error_date=int(time.time()), last_error_message=error)
        await asyncio.sleep(WEBHOOK_RETRY_S)

    # ----- driver API ------------------------------------------------------------------------------
    def create_user(self, first_name: str, last_name: str | None = None, username: str | None = None,
                    language_code: str | None = "zh-hans", user_id: int | None = None) -> SandboxUser:
        """Create a user and their (not yet started) private chat with the bot."""
        if user_id is None:
            while self._next_user_id in self.world.users:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        state = UserState(user_id, first_name, last_name, username, language_code)
        self.world.users[user_id] = state
        self.world.chats[user_id] = ChatState(id=user_id, type="private", user=state)
        return SandboxUser(self, state)

    def user(self, user_id: int) -> SandboxUser:
        """The driver handle of an existing user."""
        return SandboxUser(self, self.world.users[user_id])

    @property
    def users(self) -> list[SandboxUser]:
        return [SandboxUser(self, state) for state in self.world.users.values()]

    def create_group(self, title: str, members: list[SandboxUser] | None = None, *,
                     bot_is_member: bool = True, supergroup: bool = False,
                     admins: list[SandboxUser] | None = None) -> SandboxGroup:
        """Create a group; the first member is its creator.  Emits ``my_chat_member`` if the bot joins."""
        number = self._next_group_id
        self._next_group_id += 1
        chat_id = -(1001000000000 + number) if supergroup else -(400000000 + number)
        member_ids = [member.id for member in members or []]
        chat = ChatState(id=chat_id, type="supergroup" if supergroup else "group", title=title,
                         members=set(member_ids), admins={a.id for a in admins or []},
                         owner=member_ids[0] if member_ids else None, bot_is_member=False)
        self.world.chats[chat_id] = chat
        group = SandboxGroup(self, chat)
        if bot_is_member:
            group.add_bot()
        return group

    def group(self, chat_id: int) -> SandboxGroup:
        return SandboxGroup(self, self.world.chats[chat_id])

    def reset_counters(self) -> None:
        self.counters = Counters()

    def commands(self, scope_type: str = "default", language_code: str = "", *, chat_id: int | None = None,
                 user_id: int | None = None) -> list[JSON]:
        """The command menu the bot stored for exactly this scope and language."""
        return list(self.api.commands.get((scope_type, chat_id, user_id, language_code), []))

    def set_faults(self, *, error_rate: float = 0.0, delay_rate: float = 0.0, delay_s: float = 0.0,
                   latency_s: float = 0.0, drop_rate: float = 0.0, drop_after_processing: bool = False,
                   rate_429: float = 0.0, seed: int | None = None) -> None:
        """Replace the fault configuration (unspecified faults are switched off).

        ``latency_s`` is added to every call; ``delay_s`` is added with probability ``delay_rate``.
        ``drop_after_processing`` drops the connection only after the call took effect (lost answer).
        """
        self.faults = FaultConfig(error_rate=error_rate, delay_rate=delay_rate, delay_s=delay_s,
                                  latency_s=latency_s, drop_rate=drop_rate,
                                  drop_after_processing=drop_after_processing, rate_429=rate_429)
        if seed is not None:
            self._rng = random.Random(seed)

    def inject_429(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` (e.g. "sendDocument") with a 429 asking
        to retry after ``retry_after`` seconds (before any other check; nothing is sent)."""
        self._scripted_429.setdefault(method.lower(), []).extend([retry_after] * times)

    def set_rate_limits(self, enabled: bool, **limits: Any) -> None:
        """Switch flood limits on/off; keyword arguments override :class:`RateLimitConfig` fields."""
        known = {f.name for f in dataclass_fields(RateLimitConfig)}
        unknown = set(limits) - known
        if unknown:
            raise TypeError(f"unknown rate limit settings: {sorted(unknown)}")
        config = self.limiter.config
        config.enabled = enabled
        for key, value in limits.items():
            setattr(config, key, value)
        self.limiter.reset()


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, Upload]]:
    """Collect parameters from the query string and a form, multipart or JSON body."""
    params: JSON = dict(request.query)
    uploads: dict[str, Upload] = {}
    if not request.can_read_body:
        return params, uploads
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON request body") from None
        if isinstance(body, dict):
            params.update(body)
        return params, uploads
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            uploads[key] = Upload(value.filename, value.content_type, value.file.read())
        else:
            params[key] = value
    return params, uploads


async def serve(host: str = "127.0.0.1", port: int = 8081, token: str = DEFAULT_TOKEN, *,
                rate_limits: bool = True, seed: int | None = None) -> FakeTelegram:
    """Start a sandbox server and return it (caller must ``await tg.stop()``)."""
    tg = FakeTelegram(token, host=host, port=port, rate_limits=rate_limits, seed=seed)
    await tg.start()
    log.info("Sandbox Telegram listening on %s (token %s)", tg.base, token)
    return tg
