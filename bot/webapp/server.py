"""The Mini App served by the bot itself: page, assets and JSON API under one prefix (`/webapp/`).

`WebApp.handle` answers every request under the prefix; it is mounted as one catch-all route on
- the webhook server (`bot/webhook.py`'s `WebhookServer.web`) in webhook mode,
- its own small server on `LIAISON_WEBAPP_LISTEN` with long polling (behind the operator's HTTPS
  proxy),
- the sandbox's port (the sandbox calls the handler given to it).

Every `/webapp/api/...` request carries the Mini App's initData (header `Authorization: tma
<initData>`); `bot/webapp/auth.py` validates it, and anything else gets 401 with an empty body.
Role and scope come from `RoleService.actor`, as in the chat.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from bot.errors import Refusal
from bot.feedback.service import MAX_ATTACHMENTS
from bot.roles import AccessDenied, Actor
from bot.services import Services
from bot.webapp import ledger, mine, views
from bot.webapp.auth import validate

log = logging.getLogger(__name__)

PREFIX = "/webapp"
STATIC = Path(__file__).parent / "static"
MAX_BODY = 64 * 1024
CONTENT_TYPES = {".html": "text/html", ".js": "application/javascript", ".css": "text/css",
                 ".txt": "text/plain"}

Call = Callable[["Ctx"], Awaitable[dict[str, Any]]]


class Ctx:
    """One authenticated API call: the services, the caller, path numbers, query and body."""

    def __init__(self, services: Services, actor: Actor, lang: str, ids: tuple[int, ...],
                 query: dict[str, str], body: dict[str, Any], send_file: views.SendFile | None = None,
                 files: list[mine.Upload] | None = None) -> None:
        self.services, self.actor, self.lang, self.ids, self.query, self.body = services, actor, lang, ids, query, body
        self.send_file = send_file
        self.files = files or []


def _routes() -> list[tuple[str, re.Pattern[str], Call]]:
    s = views
    table: list[tuple[str, str, Call]] = [
        ("GET", r"me", lambda c: s.me(c.services, c.actor, c.lang)),
        ("GET", r"members", lambda c: s.members(c.services, c.actor, c.query, c.lang)),
        ("GET", r"members/(\d+)", lambda c: s.member_card(c.services, c.actor, c.ids[0], c.lang)),
        ("GET", r"approvals", lambda c: s.approvals(c.services, c.actor, c.query)),
        ("POST", r"approvals/(\d+)/(\d+)", lambda c: s.decide(
            c.services, c.actor, c.ids[0], c.ids[1], bool(c.body.get("approve")), c.body.get("reason") or None)),
        ("GET", r"activities", lambda c: s.activities(c.services, c.actor, c.query)),
        ("POST", r"activities", lambda c: s.create_activity(c.services, c.actor, c.body)),
        ("POST", r"activities/(\d+)", lambda c: s.edit_activity(c.services, c.actor, c.ids[0], c.body)),
        ("GET", r"activities/(\d+)/roster", lambda c: s.roster(c.services, c.actor, c.ids[0], c.lang)),
        ("POST", r"activities/(\d+)/export", lambda c: s.export_roster(c.services, c.actor, c.ids[0], c.lang,
                                                                       c.send_file)),
        ("POST", r"activities/(\d+)/checkin/(\d+)", lambda c: s.check_in(c.services, c.actor, c.ids[0], c.ids[1],
                                                                                    c.body)),
        ("GET", r"ledger", lambda c: ledger.ledger(c.services, c.actor, c.query, c.lang)),
        ("POST", r"ledger/export", lambda c: ledger.export(c.services, c.actor, c.lang, c.send_file)),
        ("POST", r"ledger/summary", lambda c: ledger.summary(
            c.services, c.actor, {"period": str(c.body.get("period") or "")}, c.lang, c.send_file)),
        ("GET", r"notices", lambda c: s.notices(c.services, c.actor, c.query)),
        ("GET", r"notices/(\d+)", lambda c: s.notice(c.services, c.actor, c.ids[0], c.query)),
        ("POST", r"notices/(\d+)/nudge", lambda c: s.nudge(c.services, c.actor, c.ids[0])),
        ("POST", r"notices/audience", lambda c: s.audience(c.services, c.actor, c.body)),
        ("POST", r"notices", lambda c: s.compose(c.services, c.actor, c.body, c.lang)),
        ("GET", r"mine/feedback", lambda c: mine.my_feedback(c.services, c.actor)),
        ("POST", r"mine/feedback", lambda c: mine.submit_feedback(c.services, c.actor, c.body, c.files, c.send_file,
                                                                  c.lang)),
        ("GET", r"mine/profile", lambda c: mine.profile(c.services, c.actor, c.lang)),
        ("POST", r"mine/profile", lambda c: mine.save_profile(c.services, c.actor, c.body)),
        ("GET", r"feedback", lambda c: s.feedback(c.services, c.actor, c.query)),
        ("POST", r"feedback/(\d+)/(assign|note|answer)", lambda c: s.feedback_action(
            c.services, c.actor, c.ids[0], c.query["_action"], c.body)),
    ]
    return [(method, re.compile(pattern + r"\Z"), call) for method, pattern, call in table]


ROUTES = _routes()


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                        content_type="application/json", headers={"Cache-Control": "no-store"})


class WebApp:
    def __init__(self, services: Services, token: str, *, clock: Callable[[], float] | None = None,
                 send_file: views.SendFile | None = None) -> None:
        self.services = services
        self.send_file = send_file  # (chat id, file name, bytes, caption): exports go to the caller's chat
        self._token = token
        self._files: dict[str, tuple[bytes, bytes]] = {}  # name -> (bytes, gzipped): read once
        # Telegram signs auth_date with real time, so it is checked against real time (not the bot's
        # Clock, which tests move by hand).
        self._clock = clock or time.time

    def mount(self, app: web.Application) -> None:
        """Add the Mini App to an aiohttp application (the webhook server, our own, or a test's)."""
        app.router.add_route("*", PREFIX + "/{tail:.*}", self.handle)
        app.router.add_route("GET", PREFIX, self._redirect)

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(PREFIX + "/")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        tail = request.path[len(PREFIX):].lstrip("/")
        if tail.startswith("api/"):
            return await self._api(request, tail[4:])
        return self._static(tail or "index.html", "gzip" in request.headers.get("Accept-Encoding", ""))

    def _static(self, name: str, gzip_ok: bool) -> web.StreamResponse:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name.startswith("."):
            return web.Response(status=404)
        if name not in self._files:
            path = STATIC / name
            if not path.is_file():
                return web.Response(status=404)
            raw = path.read_bytes()
            self._files[name] = (raw, gzip.compress(raw, 6))
        raw, packed = self._files[name]
        kind = CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")
        headers = {"Cache-Control": "no-cache" if name == "index.html" else "public, max-age=86400",
                   "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
        if gzip_ok:
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=packed if gzip_ok else raw, content_type=kind, charset="utf-8", headers=headers)

    async def _api(self, request: web.Request, tail: str) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        init_data = header[4:] if header.startswith("tma ") else None
        user = validate(init_data, self._token, self._clock(), self.services.settings.webapp_max_age)
        if user is None:
            return web.Response(status=401)
        found = next(((m, call) for method, pattern, call in ROUTES
                      if method == request.method and (m := pattern.match(tail)) is not None), None)
        if found is None:
            return _json({"error": "not_found"}, 404)
        match, call = found
        query = {k: v for k, v in request.query.items() if k != "ui"}
        ids = tuple(int(g) for g in match.groups() if g.isdigit())
        actions = [g for g in match.groups() if not g.isdigit()]
        if actions:
            query["_action"] = actions[0]
        body: dict[str, Any] = {}
        files: list[mine.Upload] = []
        if request.method == "POST" and request.content_type == "multipart/form-data":
            if tail not in UPLOADS:
                return _json({"error": "bad_request"}, 400)
            try:
                body, files = await _multipart(request)
            except _TooLarge:
                return _json({"error": "too_large"}, 413)
            except ValueError:
                return _json({"error": "bad_request"}, 400)
        elif request.method == "POST" and request.can_read_body:
            if request.content_length is not None and request.content_length > MAX_BODY:
                return _json({"error": "too_large"}, 413)
            try:
                raw = json.loads(await request.read() or b"{}")
            except ValueError:
                return _json({"error": "bad_json"}, 400)
            if not isinstance(raw, dict):
                return _json({"error": "bad_json"}, 400)
            body = raw
        services = self.services
        actor = await services.roles.actor(user.user_id)
        lang = await services.users.language(user.user_id, user.language_code)
        shown = request.query.get("ui")  # the language the page is showing (its zh/EN switch)
        if shown in ("en", "zh"):
            lang = "en" if shown == "en" else "zh-Hans"
        try:
            return _json(await call(Ctx(services, actor, lang, ids, query, body, self.send_file, files)))
        except AccessDenied:
            return _json({"error": "forbidden"}, 403)
        except views.BadRequest as exc:
            return _json({"error": "bad_request", "detail": str(exc)}, 400)
        except Refusal as exc:
            key = exc.key
            if key.endswith(".not_found"):
                return _json({"error": "not_found"}, 404)
            values = exc.values
            text = services.catalog.text(views.lang_of(lang), key, **values)
            if key in BAD_INPUT:  # the request itself is unusable (empty or overlong text): 400
                return _json({"error": "bad_request", "key": key, "text": str(text)}, 400)
            return _json({"error": "refused", "key": key, "text": str(text)}, 409)
        except Exception:  # the Mini App's caller sees a plain error, the log has the details
            log.exception("webapp: %s %s failed", request.method, tail)
            return _json({"error": "internal"}, 500)


BAD_INPUT = frozenset({"fb.text_empty", "fb.text_too_long", "members.invalid.empty", "members.invalid.control",
                       "members.invalid.too_long"})
UPLOADS = frozenset({"mine/feedback"})  # the only routes taking multipart bodies (files)
UPLOAD_MAX = 4 * mine.FILE_MAX  # a whole multipart request


class _TooLarge(ValueError):
    pass


async def _multipart(request: web.Request) -> tuple[dict[str, Any], list[mine.Upload]]:
    """Form fields and files of a multipart body, read in pieces with hard limits (the aiohttp
    application's client_max_size does not bound a streamed body)."""
    fields: dict[str, Any] = {}
    files: list[mine.Upload] = []
    total = 0
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ValueError("nested multipart")
        limit = mine.FILE_MAX if part.filename else MAX_BODY
        data = bytearray()
        while chunk := await part.read_chunk(64 * 1024):
            data += chunk
            total += len(chunk)
            if len(data) > limit or total > UPLOAD_MAX:
                raise _TooLarge
        if part.filename:
            if len(files) >= MAX_ATTACHMENTS:
                raise ValueError("too many files")
            kind = (part.headers.get("Content-Type") or "application/octet-stream").split(";")[0].strip().lower()
            name = re.sub(r"[^\w.\- ]", "_", part.filename)[:100] or "file"
            files.append(mine.Upload(name, kind, bytes(data)))
        elif part.name:
            fields[part.name] = data.decode("utf-8", errors="strict")
    return fields, files


async def serve(webapp: WebApp, host: str, port: int) -> web.AppRunner:
    """Our own server for the Mini App (long polling mode, `LIAISON_WEBAPP_LISTEN`)."""
    app = web.Application(client_max_size=MAX_BODY)
    webapp.mount(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
