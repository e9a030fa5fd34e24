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
* ``GET /sandbox/api/info`` – the bot user, owner ids and per-user notes (set by the CLI)
* ``POST /sandbox/api/users/{id}/press`` also takes ``chat_id`` (a button under a group message) and
  ``wait_answer`` (seconds to wait for ``answerCallbackQuery``; the answer is then returned)
* ``GET /sandbox/api/users/{id}/chat`` – user, messages, current reply keyboard and the command menu
  Telegram would show this user (chat scope, then all private chats, then default; language first)
* ``POST /sandbox/api/users/{id}/reply_button`` ``{text}`` – press a reply-keyboard button
* ``POST /sandbox/api/users/{id}/photo`` multipart ``file`` (+ ``caption``)
* ``GET /sandbox/api/groups`` / ``POST /sandbox/api/groups`` ``{title, member_ids}``
* ``GET /sandbox/api/groups/{chat_id}/messages``; ``POST /sandbox/api/groups/{chat_id}/send`` ``{user_id, text}``

The web chat (``sandbox/web``) is served at ``/`` of the same server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.driver import MessageRef, SandboxError, SandboxUser
from sandbox.state import JSON, ChatState

if TYPE_CHECKING:
    from sandbox.server import FakeTelegram

PREFIX = "/sandbox/api"
WEB_DIR = Path(__file__).resolve().parent / "web"
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _user_json(user: SandboxUser) -> dict[str, Any]:
    return {**user.to_user(), "started": user.state.started, "blocked": user.state.blocked}


def _group_json(chat: ChatState) -> JSON:
    return {"id": chat.id, "type": chat.type, "title": chat.title, "member_ids": sorted(chat.members),
            "bot_is_member": chat.bot_is_member, "migrated_to": chat.migrated_to}


def _messages_json(chat: ChatState) -> list[JSON]:
    return [m.to_json() for m in chat.messages.values() if not m.deleted]


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
        return web.json_response([_user_json(u) for u in self.tg.users if u.id not in self.tg.background_ids])

    async def create_user(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        user = self.tg.create_user(str(body["first_name"]), body.get("last_name"), body.get("username"),
                                   body.get("language_code", "zh-hans"), body.get("user_id"))
        return web.json_response(_user_json(user), status=201)

    async def send(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return web.json_response(await self.user(request).send(str(body["text"])))

    async def info(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"bot": self.tg.world.bot_user, "owner_ids": self.tg.owner_ids,
                                  "background_ids": sorted(self.tg.background_ids),
                                  "notes": {str(k): v for k, v in self.tg.user_notes.items()}})

    async def press(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        user = self.user(request)
        message_id: MessageRef = int(body["message_id"])
        if body.get("chat_id") is not None:  # a button under a group message
            chat = self.tg.world.chats[int(body["chat_id"])]
            found = chat.current(int(body["message_id"]))
            if found is None:
                raise SandboxError("message not found")
            message_id = found
        if "data" in body:
            result = await user.press_data(message_id, str(body["data"]))
        else:
            result = await user.press(message_id, str(body["text"]))
        reply: JSON = {"callback_query_id": result.query.id}
        wait = min(10.0, float(body.get("wait_answer", 0)))
        if wait > 0:  # the web chat shows the answer as a toast, like a Telegram client
            try:
                answer = await result.answer(timeout=wait)
            except TimeoutError:
                reply["answer"] = None
            else:
                reply["answer"] = {"text": answer.text, "show_alert": answer.show_alert, "url": answer.url}
        return web.json_response(reply)

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

    def command_menu(self, user: SandboxUser) -> list[JSON]:
        """The menu a Telegram client shows this user (most specific scope, language-specific first)."""
        lang = (user.state.language_code or "").split("-")[0]
        commands = self.tg.api.commands
        for scope in (("chat", user.id, None), ("all_private_chats", None, None), ("default", None, None)):
            for code in (lang, ""):
                found = commands.get((scope[0], scope[1], scope[2], code))
                if found:
                    return list(found)
        return []

    async def chat(self, request: web.Request) -> web.StreamResponse:
        user = self.user(request)
        return web.json_response({"user": _user_json(user), "messages": _messages_json(user.chat),
                                  "reply_keyboard": user.chat.reply_keyboard,
                                  "commands": self.command_menu(user)})

    async def reply_button(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return web.json_response(await self.user(request).press_reply_button(str(body["text"])))

    async def photo(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        part = form.get("file")
        if not isinstance(part, web.FileField):
            raise SandboxError("multipart field 'file' is required")
        caption = form.get("caption")
        message = await self.user(request).send_photo(part.file.read(), caption if isinstance(caption, str) else None)
        return web.json_response(message)

    def group_chat(self, request: web.Request) -> ChatState:
        chat = self.tg.world.chats.get(int(request.match_info["chat_id"]))
        if chat is None or chat.is_private:
            raise web.HTTPNotFound(text='{"error": "unknown group"}', content_type="application/json")
        return chat

    async def list_groups(self, request: web.Request) -> web.StreamResponse:
        return web.json_response([_group_json(c) for c in self.tg.world.chats.values() if not c.is_private])

    async def create_group(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        members = [self.tg.user(int(uid)) for uid in body.get("member_ids", [])]
        group = self.tg.create_group(str(body["title"]), members)
        return web.json_response(_group_json(group.chat), status=201)

    async def group_messages(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(_messages_json(self.group_chat(request)))

    async def group_send(self, request: web.Request) -> web.StreamResponse:
        chat = self.group_chat(request)
        body = await request.json()
        user = self.tg.user(int(body["user_id"]))
        group = self.tg.group(chat.id)
        if user.id not in chat.members:
            group.add_member(user)
        return web.json_response(await group.send(user, str(body["text"])))

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
        ("GET", "/info", api.info),
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
        ("GET", "/users/{user_id}/chat", api.chat),
        ("POST", "/users/{user_id}/reply_button", api.reply_button),
        ("POST", "/users/{user_id}/photo", api.photo),
        ("GET", "/groups", api.list_groups),
        ("POST", "/groups", api.create_group),
        ("GET", "/groups/{chat_id}/messages", api.group_messages),
        ("POST", "/groups/{chat_id}/send", api.group_send),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, _guard(handler))
    setup_web(app)


def setup_web(app: web.Application) -> None:
    """Serve the web chat: ``/`` is the page, ``/web/...`` its local assets (no external network)."""

    async def index(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-store"})

    app.router.add_get("/", index)
    app.router.add_static("/web/", WEB_DIR, show_index=False)
