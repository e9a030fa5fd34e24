"""Tests for bot.transport.AiohttpRequest against a real local HTTP server."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import time
import warnings
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from telegram import Bot, InputFile
from telegram.error import BadRequest, ChatMigrated, Conflict, InvalidToken, NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.transport import POOL_TIMEOUT_MESSAGE, AiohttpRequest, JsonRequestData, _redact, build_request

if TYPE_CHECKING:
    from conftest import FakeApi


def _data(**params: Any) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in params.items()])


@pytest.fixture
async def both() -> AsyncIterator[dict[str, BaseRequest]]:
    """An initialised httpx and aiohttp transport, shut down afterwards."""
    reqs: dict[str, BaseRequest] = {
        "httpx": HTTPXRequest(connection_pool_size=4),
        "aiohttp": AiohttpRequest(connection_pool_size=4),
    }
    for r in reqs.values():
        await r.initialize()
    yield reqs
    for r in reqs.values():
        await r.shutdown()


async def _send_both(
    api: FakeApi, both: dict[str, BaseRequest], method: str, data: RequestData | None
) -> dict[str, Any]:
    seen = {}
    for kind, req in both.items():
        status, _ = await req.do_request(api.url(method), "POST", request_data=data)
        assert status == 200, kind
        seen[kind] = api.requests[-1]
    return seen


# --- wire format -------------------------------------------------------------------------


async def test_form_encoded_round_trip_matches_httpx(fake_api: FakeApi, both: dict[str, BaseRequest]) -> None:
    data = _data(chat_id=42, text="héllo & bye = 1+1 / ? 你好 %20", parse_mode="HTML")
    seen = await _send_both(fake_api, both, "echo", data)
    h, a = seen["httpx"], seen["aiohttp"]
    assert a.content_type == h.content_type == "application/x-www-form-urlencoded"
    assert a.body == h.body
    assert a.fields == h.fields == data.json_parameters
    assert a.fields["text"] == "héllo & bye = 1+1 / ? 你好 %20"


async def test_json_encoded_non_string_values(fake_api: FakeApi, both: dict[str, BaseRequest]) -> None:
    markup = {"inline_keyboard": [[{"text": "是 ✓", "callback_data": "yes:1"}]]}
    entities = [{"type": "bold", "offset": 0, "length": 2}]
    data = _data(
        chat_id=-1001234567890,
        disable_notification=True,
        protect_content=False,
        latitude=31.2304,
        reply_markup=markup,
        entities=entities,
    )
    seen = await _send_both(fake_api, both, "echo", data)
    fields = seen["aiohttp"].fields
    assert fields == seen["httpx"].fields
    assert seen["aiohttp"].body == seen["httpx"].body
    assert fields["chat_id"] == "-1001234567890"
    assert fields["disable_notification"] == "true"
    assert fields["protect_content"] == "false"
    assert json.loads(fields["latitude"]) == 31.2304
    assert json.loads(fields["reply_markup"]) == markup
    assert json.loads(fields["entities"]) == entities


async def test_ready_json_payload_reaches_the_api_alike_over_both_transports(
    fake_api: FakeApi, both: dict[str, BaseRequest]
) -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    markup = InlineKeyboardMarkup([[InlineKeyboardButton("取消 ✓", callback_data="act:cx:1")]])
    data = JsonRequestData({"chat_id": 42, "text": "<b>你好</b> & bye", "show_alert": True, "reply_markup": markup,
                            "link_preview_options": {"is_disabled": True}, "dropped": None})
    seen = await _send_both(fake_api, both, "echo", data)
    a, h = seen["aiohttp"], seen["httpx"]
    assert a.content_type == "application/json"  # one JSON body, no form encoding
    assert json.loads(a.body) == {
        "chat_id": 42,
        "text": "<b>你好</b> & bye",
        "show_alert": True,
        "reply_markup": markup.to_dict(),
        "link_preview_options": {"is_disabled": True},
    }
    assert h.content_type == "application/x-www-form-urlencoded"  # httpx sends the same, form-encoded
    assert h.fields["text"] == "<b>你好</b> & bye" and h.fields["show_alert"] == "true" and "dropped" not in h.fields
    assert json.loads(h.fields["reply_markup"]) == markup.to_dict()
    assert json.loads(h.fields["link_preview_options"]) == {"is_disabled": True}


async def test_parameterless_call_matches_httpx(fake_api: FakeApi, both: dict[str, BaseRequest]) -> None:
    seen = await _send_both(fake_api, both, "getMe", RequestData())
    assert seen["aiohttp"].body == seen["httpx"].body == b""
    assert seen["aiohttp"].http_method == "POST"


async def test_headers_user_agent_and_no_compression(fake_api: FakeApi) -> None:
    async with AiohttpRequest() as req:
        await req.do_request(fake_api.url("getMe"), "POST", RequestData())
        body = await req.retrieve(f"{fake_api.base}/file/bot{fake_api.token}/documents/x.bin")
    headers = fake_api.requests[-1].headers
    assert headers["User-Agent"] == BaseRequest.USER_AGENT
    assert headers["Accept-Encoding"] == "identity"
    assert body == bytes(range(256)) * 4


@pytest.mark.parametrize("filename", ["report.pdf", "报告 (final).pdf"])
async def test_multipart_document_upload(
    fake_api: FakeApi, both: dict[str, BaseRequest], filename: str
) -> None:
    content = bytes(range(256)) + b"\r\n--boundary-ish--\r\n" + b"\x00" * 100
    data = _data(
        chat_id=7,
        caption="季度 report",
        document=InputFile(content, filename=filename),
        reply_markup={"force_reply": True},
    )
    assert data.contains_files
    seen = await _send_both(fake_api, both, "sendDocument", data)
    a, h = seen["aiohttp"], seen["httpx"]
    assert a.content_type == h.content_type == "multipart/form-data"
    assert a.files == h.files
    assert a.files["document"] == (filename, "application/pdf", content)
    assert (
        a.fields
        == h.fields
        == {"chat_id": "7", "caption": "季度 report", "reply_markup": '{"force_reply": true}'}
    )


async def test_multipart_file_handle_upload(fake_api: FakeApi, tmp_path: Any) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"line1\nline2\n" * 1000)
    async with AiohttpRequest() as req:
        with path.open("rb") as fh:
            data = _data(chat_id=1, document=InputFile(fh, read_file_handle=False))
            status, _ = await req.do_request(fake_api.url("sendDocument"), "POST", data)
    assert status == 200
    assert fake_api.requests[-1].files["document"] == ("notes.txt", "text/plain", path.read_bytes())


# --- timeouts and errors -------------------------------------------------------------------


async def test_read_timeout_raises_timed_out(fake_api: FakeApi) -> None:
    async with AiohttpRequest(read_timeout=0.2) as req:
        start = time.monotonic()
        with pytest.raises(TimedOut):
            await req.do_request(fake_api.url("slow") + "?delay=3", "POST", RequestData())
        assert time.monotonic() - start < 1.5


async def test_explicit_timeouts_override_defaults(fake_api: FakeApi) -> None:
    async with AiohttpRequest(read_timeout=0.1) as req:
        assert req.read_timeout == 0.1
        # None means "no timeout": a 0.3 s answer succeeds despite the 0.1 s default.
        status, _ = await req.do_request(fake_api.url("slow") + "?delay=0.3", "POST", read_timeout=None)
        assert status == 200
    async with AiohttpRequest(read_timeout=5) as req:
        with pytest.raises(TimedOut):
            await req.do_request(fake_api.url("slow") + "?delay=3", "POST", read_timeout=0.1)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_connect_error_raises_network_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/bot123:SECRET/getMe"
    async with AiohttpRequest() as req:
        with pytest.raises(NetworkError) as info:
            await req.do_request(url, "POST", RequestData())
    assert not isinstance(info.value, TimedOut)
    assert "ClientConnectorError" in info.value.message
    assert "SECRET" not in info.value.message


async def test_connect_error_via_post_wrapper_matches_httpx() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/bot123:SECRET/getMe"
    for req in (AiohttpRequest(), HTTPXRequest()):
        async with req:
            with pytest.raises(NetworkError) as info:
                await req.post(url, RequestData())
            assert type(info.value) is NetworkError


def test_redact_hides_token() -> None:
    text = "Connection timeout to host http://h:1/bot123:AbC-d_e/getMe and /file/bot123:x/p"
    assert (
        _redact(text) == "Connection timeout to host http://h:1/bot<redacted>/getMe and /file/bot<redacted>/p"
    )


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
@pytest.mark.parametrize(
    ("method", "exc_type", "text"),
    [
        ("badRequest", BadRequest, "(?i)chat not found"),
        ("conflict", Conflict, "terminated by other"),
        ("migrated", ChatMigrated, "-100777"),
        ("nope", InvalidToken, "Not Found"),
    ],
)
async def test_error_status_mapping_like_httpx(
    fake_api: FakeApi, kind: str, method: str, exc_type: type[Exception], text: str
) -> None:
    async with build_request(kind) as req:  # type: ignore[arg-type]
        with pytest.raises(exc_type, match=text):
            await req.post(fake_api.url(method), RequestData())


# --- connection pool -----------------------------------------------------------------------


async def _wait_in_flight(api: FakeApi, n: int) -> None:
    for _ in range(200):
        if api.in_flight >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"server never saw {n} requests in flight")


async def test_pool_exhaustion_times_out_after_pool_timeout(fake_api: FakeApi) -> None:
    async with AiohttpRequest(connection_pool_size=1, pool_timeout=0.2) as req:
        first = asyncio.create_task(req.do_request(fake_api.url("slow") + "?delay=5", "POST"))
        await _wait_in_flight(fake_api, 1)
        sent_before = len(fake_api.requests)
        start = time.monotonic()
        with pytest.raises(TimedOut, match="Pool timeout") as info:
            await req.do_request(fake_api.url("getMe"), "POST")
        elapsed = time.monotonic() - start
        assert info.value.message == POOL_TIMEOUT_MESSAGE
        assert 0.15 <= elapsed < 1.0
        assert len(fake_api.requests) == sent_before  # the second request was never sent
        fake_api.release.set()
        assert (await first)[0] == 200
        # The slot is free again.
        assert (await req.do_request(fake_api.url("getMe"), "POST"))[0] == 200


@pytest.mark.parametrize("pool_size", [1, 3])
async def test_pool_size_bounds_concurrency(fake_api: FakeApi, pool_size: int) -> None:
    async with AiohttpRequest(connection_pool_size=pool_size, pool_timeout=None) as req:
        assert req._session is not None
        assert req._session.connector is not None
        assert req._session.connector.limit == pool_size
        results = await asyncio.gather(
            *(req.do_request(fake_api.url("slow") + "?delay=0.1", "POST") for _ in range(6))
        )
    assert [status for status, _ in results] == [200] * 6
    assert fake_api.max_in_flight == pool_size


# --- lifecycle -----------------------------------------------------------------------------


def test_constructor_needs_no_loop() -> None:
    req = AiohttpRequest()
    assert req._session is None
    with pytest.raises(ValueError, match="connection_pool_size"):
        AiohttpRequest(connection_pool_size=0)


async def test_lazy_session_and_shutdown_closes_it(fake_api: FakeApi) -> None:
    req = AiohttpRequest()
    # Works without initialize(), like HTTPXRequest.
    assert (await req.do_request(fake_api.url("getMe"), "POST"))[0] == 200
    session = req._session
    assert session is not None and not session.closed
    await req.shutdown()
    assert session.closed
    await req.shutdown()  # idempotent
    with pytest.raises(RuntimeError, match="not initialized"):
        await req.do_request(fake_api.url("getMe"), "POST")
    await req.initialize()  # PTB semantics: initialize() revives the transport
    assert (await req.do_request(fake_api.url("getMe"), "POST"))[0] == 200
    assert req._session is not session
    await req.shutdown()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del req, session
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


# --- factory -------------------------------------------------------------------------------


async def test_build_request() -> None:
    a = build_request("aiohttp", connection_pool_size=2, read_timeout=7.0)
    h = build_request("httpx", connection_pool_size=2, read_timeout=7.0)
    assert isinstance(a, AiohttpRequest) and isinstance(h, HTTPXRequest)
    assert a.read_timeout == h.read_timeout == 7.0
    await h.shutdown()
    with pytest.raises(ValueError, match="Unknown transport"):
        build_request("urllib3")  # type: ignore[arg-type]


# --- end to end with telegram.Bot -------------------------------------------------------------


async def test_bot_end_to_end(fake_api: FakeApi) -> None:
    bot = Bot(
        fake_api.token,
        base_url=f"{fake_api.base}/bot",
        base_file_url=f"{fake_api.base}/file/bot",
        request=AiohttpRequest(connection_pool_size=2),
        get_updates_request=AiohttpRequest(),
    )
    async with bot:
        me = await bot.get_me()
        assert me.username == "liaison_bot" and me.id == 123456
        msg = await bot.send_message(chat_id=42, text="你好 & <b>hi</b>", parse_mode="HTML")
        assert msg.text == "你好 & <b>hi</b>" and msg.chat.id == 42
        doc = await bot.send_document(chat_id=42, document=b"%PDF-1.4 data", filename="a.pdf")
        assert doc.document is not None
        assert (doc.document.file_name, doc.document.mime_type) == ("a.pdf", "application/pdf")
    assert fake_api.requests[-1].files["document"] == ("a.pdf", "application/pdf", b"%PDF-1.4 data")
    sent = next(r for r in fake_api.requests if r.api_method == "sendMessage")
    assert sent.fields == {"chat_id": "42", "text": "你好 & <b>hi</b>", "parse_mode": "HTML"}


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_bot_invalid_token(fake_api: FakeApi, kind: str) -> None:
    bot = Bot(
        fake_api.bad_token,
        base_url=f"{fake_api.base}/bot",
        request=build_request(kind),  # type: ignore[arg-type]
        get_updates_request=build_request(kind),  # type: ignore[arg-type]
    )
    with pytest.raises(InvalidToken):
        await bot.get_me()
    await bot.shutdown()
    await bot.request.shutdown()


# --- proxies -------------------------------------------------------------------------------


async def test_explicit_proxy_is_used(fake_api: FakeApi) -> None:
    # The fake server doubles as a forward proxy: an unresolvable host only works via the proxy.
    async with AiohttpRequest(proxy=fake_api.base) as req:
        status, _ = await req.do_request(f"http://api.telegram.invalid/bot{fake_api.token}/getMe", "POST")
    assert status == 200


async def test_env_proxy_and_no_proxy(fake_api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fake_api.base)
    async with AiohttpRequest(connect_timeout=2) as req:
        status, _ = await req.do_request(f"http://api.telegram.invalid/bot{fake_api.token}/getMe", "POST")
        assert status == 200
    monkeypatch.setenv("NO_PROXY", "api.telegram.invalid")
    async with AiohttpRequest(connect_timeout=2) as req:
        with pytest.raises(NetworkError):
            await req.do_request(f"http://api.telegram.invalid/bot{fake_api.token}/getMe", "POST")
