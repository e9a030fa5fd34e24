"""A tiny Bot-API-like aiohttp server on 127.0.0.1 (random port) for transport tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

TOKEN = "123456:TEST-token_abc"
BAD_TOKEN = "999:bad"


@dataclass
class Recorded:
    """One request as seen by the fake server."""

    http_method: str
    api_method: str
    content_type: str
    headers: dict[str, str]
    body: bytes
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)


@dataclass
class FakeApi:
    """Handle on the running fake server."""

    port: int
    token: str = TOKEN
    bad_token: str = BAD_TOKEN
    requests: list[Recorded] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int = 0
    max_in_flight: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, method: str, token: str | None = None) -> str:
        return f"{self.base}/bot{token or self.token}/{method}"


def _envelope(result: Any, status: int = 200) -> web.Response:
    return web.json_response({"ok": True, "result": result}, status=status)


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


async def _record(request: web.Request) -> Recorded:
    # A multipart body is parsed from the stream, so it is not kept as raw bytes.
    body = b"" if request.content_type == "multipart/form-data" else await request.read()
    rec = Recorded(
        http_method=request.method,
        api_method=request.match_info["method"],
        content_type=request.content_type,
        headers=dict(request.headers),
        body=body,
    )
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            assert part.name is not None
            data = bytes(await part.read())  # type: ignore[union-attr]
            if part.filename is not None:
                rec.files[part.name] = (
                    part.filename,
                    part.headers.get("Content-Type", ""),
                    data,
                )
            else:
                rec.fields[part.name] = data.decode()
    elif request.content_type == "application/x-www-form-urlencoded":
        rec.fields = {k: str(v) for k, v in (await request.post()).items()}
    return rec


def _make_app(api: FakeApi) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        rec = await _record(request)
        api.requests.append(rec)
        if request.match_info["token"] == BAD_TOKEN:
            return _error(404, "Not Found")
        api.in_flight += 1
        api.max_in_flight = max(api.max_in_flight, api.in_flight)
        try:
            return await _dispatch(api, rec, request)
        finally:
            api.in_flight -= 1

    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", handler)
    app.router.add_get("/file/bot{token}/{path:.*}", file_handler)
    return app


async def file_handler(request: web.Request) -> web.Response:
    return web.Response(body=bytes(range(256)) * 4, content_type="application/octet-stream")


async def _dispatch(api: FakeApi, rec: Recorded, request: web.Request) -> web.StreamResponse:
    method = rec.api_method
    if method == "getMe":
        return _envelope({"id": 123456, "is_bot": True, "first_name": "Liaison", "username": "liaison_bot"})
    if method in ("sendMessage", "sendDocument"):
        chat_id = int(rec.fields.get("chat_id", "1"))
        result: dict[str, Any] = {
            "message_id": len(api.requests),
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private"},
        }
        if "text" in rec.fields:
            result["text"] = rec.fields["text"]
        if method == "sendDocument":
            name, mime, data = rec.files["document"]
            result["document"] = {
                "file_id": "F1",
                "file_unique_id": "U1",
                "file_name": name,
                "mime_type": mime,
                "file_size": len(data),
            }
        return _envelope(result)
    if method == "slow":
        delay = float(request.query.get("delay", "1.0"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(api.release.wait(), delay)
        return _envelope(True)
    if method == "badRequest":
        return _error(400, "Bad Request: chat not found")
    if method == "conflict":
        return _error(409, "Conflict: terminated by other getUpdates request")
    if method == "migrated":
        return _error(400, "Bad Request: group chat was upgraded", {"migrate_to_chat_id": -100777})
    if method == "echo":
        return _envelope(json.loads(json.dumps(rec.fields)))
    return _error(404, "Not Found")


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeApi]:
    """Start the fake Bot API on a random local port; stop it (releasing slow handlers)."""
    api = FakeApi(port=0)
    runner = web.AppRunner(_make_app(api), shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api.port = runner.addresses[0][1]
    try:
        yield api
    finally:
        api.release.set()
        await runner.cleanup()
