"""Small JSON control API under ``/sandbox/api`` exposing the driver over HTTP.

Routes (all JSON):

* ``GET /sandbox/api/users`` / ``POST /sandbox/api/users`` ``{first_name, last_name?, username?,
  language_code?, user_id?}``
* ``POST /sandbox/api/users/{id}/send`` ``{text}``
* ``POST /sandbox/api/users/{id}/press`` ``{message_id, text}`` or ``{message_id, data}`` (forged)
* ``POST /sandbox/api/users/{id}/contact`` ``{phone_number}``
* ``POST /sandbox/api/users/{id}/upload`` multipart ``file`` (+ ``caption``)
* ``GET /sandbox/api/users/{id}/messages`` – current messages of the private chat, both sides
* ``GET /sandbox/api/events?after=N&timeout=S`` – long poll for new/edit/delete events
* ``GET /sandbox/api/files/{file_id}`` – file bytes; ``GET /sandbox/api/counters``
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.driver import SandboxError, SandboxUser

if TYPE_CHECKING:
    from sandbox.server import FakeTelegram

PREFIX = "/sandbox/api"
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _user_json(user: SandboxUser) -> dict[str, Any]:
    return {**user.to_user(), "started": user.state.started, "blocked": user.state.blocked}


class ControlApi:
    """Handlers bound to one :class:`FakeTelegram`."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg

    def user(self, request: web.Request) -> SandboxUser:
        try:
            return self.tg.user(int(request.match_info["user_id"]))
        except (KeyError, ValueError):
            raise web.HTTPNotFound(text='{"error": "unknown user"}',
                                   content_type="application/json") from None

    async def list_users(self, request: web.Request) -> web.StreamResponse:
        return web.json_response([_user_json(u) for u in self.tg.users])

    async def create_user(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        user = self.tg.create_user(str(body["first_name"]), body.get("last_name"), body.get("username"),
                                   body.get("language_code", "zh-hans"), body.get("user_id"))
        return web.json_response(_user_json(user), status=201)

    async def send(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return web.json_response(await self.user(request).send(str(body["text"])))

    async def press(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        user = self.user(request)
        message_id = int(body["message_id"])
        if "data" in body:
            result = await user.press_data(message_id, str(body["data"]))
        else:
            result = await user.press(message_id, str(body["text"]))
        return web.json_response({"callback_query_id": result.query.id})

    async def contact(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return web.json_response(await self.user(request).share_contact(str(body["phone_number"])))

    async def upload(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        part = form.get("file")
        if not isinstance(part, web.FileField):
            raise SandboxError("multipart field 'file' is required")
        caption = form.get("caption")
        message = await self.user(request).send_document(
            part.filename, part.file.read(), part.content_type, caption if isinstance(caption, str) else None)
        return web.json_response(message)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        chat = self.user(request).chat
        return web.json_response([m.to_json() for m in chat.messages.values() if not m.deleted])

    async def events(self, request: web.Request) -> web.StreamResponse:
        after = int(request.query.get("after", 0))
        timeout = min(60.0, float(request.query.get("timeout", 0)))
        world = self.tg.world
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(world.events) <= after and loop.time() < deadline and not self.tg.api.stopping:
            event = world.changed.event()
            try:
                await asyncio.wait_for(event.wait(), deadline - loop.time())
            except TimeoutError:
                break
        return web.json_response({"events": world.events[after:], "last": len(world.events)})

    async def file(self, request: web.Request) -> web.StreamResponse:
        record = self.tg.world.files.get(request.match_info["file_id"])
        if record is None:
            raise web.HTTPNotFound()
        return web.Response(body=record.data, content_type=record.mime_type or "application/octet-stream")

    async def counters(self, request: web.Request) -> web.StreamResponse:
        c = self.tg.counters
        return web.json_response({"http_429": c.http_429, "validation_errors": c.validation_errors,
                                  "calls": dict(c.calls), "faults_injected": c.faults_injected})


def _guard(handler: RouteHandler) -> RouteHandler:
    """Turn driver and input errors into 400 JSON answers."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (SandboxError, KeyError, ValueError, TypeError) as err:
            return web.json_response({"error": f"{err.__class__.__name__}: {err}"}, status=400)

    return wrapped


def setup_control(app: web.Application, tg: FakeTelegram) -> None:
    """Register the control routes on ``app``."""
    api = ControlApi(tg)
    routes: list[tuple[str, str, RouteHandler]] = [
        ("GET", "/users", api.list_users),
        ("POST", "/users", api.create_user),
        ("POST", "/users/{user_id}/send", api.send),
        ("POST", "/users/{user_id}/press", api.press),
        ("POST", "/users/{user_id}/contact", api.contact),
        ("POST", "/users/{user_id}/upload", api.upload),
        ("GET", "/users/{user_id}/messages", api.messages),
        ("GET", "/events", api.events),
        ("GET", "/files/{file_id}", api.file),
        ("GET", "/counters", api.counters),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, _guard(handler))
