"""aiohttp-based HTTP transport for python-telegram-bot.

PTB's default :class:`telegram.request.HTTPXRequest` spends roughly 1-2.5 ms of CPU per Bot API
call; aiohttp does the same work in a fraction of that.  :class:`AiohttpRequest` is a drop-in
:class:`telegram.request.BaseRequest` that mirrors ``HTTPXRequest`` semantics:

* ``DEFAULT_NONE`` timeouts fall back to the instance defaults, ``None`` means "no timeout";
  requests that upload files use ``media_write_timeout`` as their default write timeout.
* ``request_data.json_parameters`` are sent form-encoded, or as fields of a
  ``multipart/form-data`` body (followed by the files) when ``request_data.contains_files``.
* A pool timeout raises :class:`telegram.error.TimedOut` with a pool message, connect/read
  timeouts raise ``TimedOut`` and other aiohttp client errors raise
  :class:`telegram.error.NetworkError`.
* :meth:`AiohttpRequest.do_request` after :meth:`AiohttpRequest.shutdown` raises
  :exc:`RuntimeError` until :meth:`AiohttpRequest.initialize` is called again (PTB behaviour).

The bot token is part of every request URL, so this module never logs URLs and redacts
``bot<token>`` path segments from the messages of the exceptions it raises.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import IO, Any, Final, Literal, NoReturn

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from telegram import Bot, TelegramObject
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from yarl import URL

__all__ = ["POOL_TIMEOUT_MESSAGE", "AiohttpRequest", "JsonRequestData", "api_call", "build_request"]

POOL_TIMEOUT_MESSAGE: Final[str] = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)
"""Message of the :class:`~telegram.error.TimedOut` raised on pool exhaustion (same as httpx)."""

_TOKEN_RE: Final[re.Pattern[str]] = re.compile(r"/bot[^/\s'\"]+")
_FORM_CONTENT_TYPE: Final[str] = "application/x-www-form-urlencoded"
_JSON_HEADERS: Final[dict[str, str]] = {"Content-Type": "application/json"}


def _redact(text: str) -> str:
    """Replace every ``bot<token>`` URL path segment in *text* with ``bot<redacted>``."""
    return _TOKEN_RE.sub("/bot<redacted>", text)


def _raise_mapped(exc: NetworkError, cause: BaseException) -> NoReturn:
    """Raise *exc* chained to *cause*, unless the cause's text would leak the bot token."""
    cause_text = str(cause)
    if _redact(cause_text) != cause_text:
        raise exc from None
    raise exc from cause


def _plain(value: object) -> object:
    """A JSON-compatible form of a payload value (Telegram objects as their dicts)."""
    if isinstance(value, TelegramObject):
        return value.to_dict()
    return value


class JsonRequestData(RequestData):  # type: ignore[misc]  # PTB marks it final; only its public properties are used
    """Parameters that are ready as one JSON object (no files).

    :class:`AiohttpRequest` sends them as a single ``application/json`` body, which Telegram
    accepts for every method; any other transport (e.g. httpx) sends them form-encoded through
    :attr:`json_parameters`, as for PTB's own :class:`RequestData`. This skips PTB's per-argument
    conversion (``RequestParameter.from_input``) and the form encoding, which cost more CPU than
    the HTTP call itself on the hot path. Values are JSON-compatible or Telegram objects; ``None``
    values are dropped, as Telegram wants.
    """

    __slots__ = ("_body", "_payload")

    def __init__(self, payload: Mapping[str, object]) -> None:
        super().__init__()
        self._payload = {name: _plain(value) for name, value in payload.items() if value is not None}
        self._body: bytes | None = None

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters with their JSON-compatible values."""
        return dict(self._payload)

    @property
    def json_parameters(self) -> dict[str, str]:
        """Each parameter JSON-encoded (strings stay as they are), for form-encoded transports."""
        return {
            name: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            for name, value in self._payload.items()
        }

    @property
    def body(self) -> bytes:
        """The whole payload as one UTF-8 JSON document."""
        if self._body is None:
            self._body = json.dumps(self._payload, ensure_ascii=False, separators=(",", ":")).encode()
        return self._body


async def api_call(bot: Bot, endpoint: str, payload: Mapping[str, object]) -> Any:
    """Call Bot API `endpoint` with a ready payload and return Telegram's raw ``result``.

    The hot-path sibling of ``bot.<method>(...)``: no argument processing, no defaults (the
    payload says everything), and the answer is not parsed into Telegram objects. Errors are
    PTB's usual exceptions (``BadRequest``, ``RetryAfter``, ``Forbidden``, ``NetworkError``...),
    raised by the transport's response handling.
    """
    return await bot.request.post(url=f"{bot.base_url}/{endpoint}", request_data=JsonRequestData(payload))


class AiohttpRequest(BaseRequest):
    """Implementation of :class:`telegram.request.BaseRequest` on top of :mod:`aiohttp`.

    Args:
        connection_pool_size: Maximum number of simultaneous connections (and of requests in
            flight).  Defaults to ``1``.
        read_timeout: Default maximum seconds between two reads of the response, ``None`` for
            no limit.  Defaults to ``5``.
        write_timeout: Default write timeout for requests without files.  Defaults to ``5``.
            aiohttp has no write-phase timeout, so this value (like ``media_write_timeout``) is
            resolved for API parity but not enforced.
        connect_timeout: Default maximum seconds for establishing a connection (DNS, TCP, TLS).
            Defaults to ``5``.
        pool_timeout: Default maximum seconds to wait for a free slot in the connection pool;
            on expiry :class:`~telegram.error.TimedOut` is raised and nothing is sent.
            Defaults to ``1``.
        proxy: Optional HTTP(S) proxy URL, e.g. ``"http://127.0.0.1:3128"``.  Without it the
            ``HTTP(S)_PROXY``/``NO_PROXY`` environment variables apply, as with httpx.
        media_write_timeout: Like ``write_timeout`` but the default for file uploads.
            Defaults to ``20`` (same as ``HTTPXRequest``).
    """

    __slots__ = (
        "_closed",
        "_connect_timeout",
        "_env_proxies",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxy",
        "_read_timeout",
        "_semaphore",
        "_session",
        "_timeouts",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        proxy: str | None = None,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("`connection_pool_size` must be at least 1.")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._closed = False
        self._env_proxies: dict[str, tuple[URL | None, aiohttp.BasicAuth | None]] = {}
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds, see :attr:`BaseRequest.read_timeout`."""
        return self._read_timeout

    @property
    def connection_pool_size(self) -> int:
        """The maximum number of simultaneous connections."""
        return self._pool_size

    def _build_session(self) -> aiohttp.ClientSession:
        """Create the session; must run inside the event loop that will use it."""
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0)
        return aiohttp.ClientSession(
            connector=connector,
            proxy=self._proxy,
            # trust_env=True would cost two thread-pool hops per request (netrc + env proxy
            # lookup); env proxies are resolved once per origin in _env_proxy() instead.
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            # Never hand PTB compressed bytes, and never ask the server for them either.
            auto_decompress=False,
            headers={"User-Agent": self.USER_AGENT, "Accept-Encoding": "identity"},
            timeout=aiohttp.ClientTimeout(total=None),
            raise_for_status=False,
        )

    async def initialize(self) -> None:
        """Create the HTTP session (if needed) in the running loop. See
        :meth:`BaseRequest.initialize`."""
        if self._session is None or self._session.closed:
            self._session = self._build_session()
            self._semaphore = asyncio.Semaphore(self._pool_size)
        self._closed = False

    async def shutdown(self) -> None:
        """Close the HTTP session and its connector. See :meth:`BaseRequest.shutdown`."""
        self._closed = True
        session, self._session = self._session, None
        self._semaphore = None
        if session is not None and not session.closed:
            await session.close()

    def _resolve(self, value: ODVInput[float], default: float | None) -> float | None:
        """Return *default* for ``DEFAULT_NONE``, else the explicitly passed value."""
        if isinstance(value, DefaultValue):
            return default
        return value

    async def _env_proxy(self, url: str) -> tuple[URL | None, aiohttp.BasicAuth | None]:
        """The ``HTTP(S)_PROXY``/``NO_PROXY`` proxy for *url*'s origin, looked up once per origin."""
        origin = url.split("/", 3)[:3]
        key = "/".join(origin)
        cached = self._env_proxies.get(key)
        if cached is not None:
            return cached
        try:
            found: tuple[URL | None, aiohttp.BasicAuth | None] = await asyncio.to_thread(
                get_env_proxy_for_url, URL(key)
            )
        except LookupError:
            found = (None, None)
        if len(self._env_proxies) < 64:
            self._env_proxies[key] = found
        return found

    @staticmethod
    def _multipart(request_data: RequestData) -> aiohttp.FormData:
        """Build a ``multipart/form-data`` body like httpx's ``data=..., files=...``."""
        form = aiohttp.FormData(quote_fields=False)
        for name, value in request_data.json_parameters.items():
            form.add_field(name, value)
        for name, (filename, content, mimetype) in request_data.multipart_data.items():
            payload: bytes | IO[bytes] = content
            form.add_field(name, payload, filename=filename, content_type=mimetype)
        return form

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request and return ``(status, body)``. See :meth:`BaseRequest.do_request`.

        Raises:
            RuntimeError: If called after :meth:`shutdown` without a new :meth:`initialize`.
            telegram.error.TimedOut: On pool, connect or read timeouts.
            telegram.error.NetworkError: On other connection/protocol errors.
        """
        if self._closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        if self._session is None:
            await self.initialize()
        session, semaphore = self._session, self._semaphore
        assert session is not None and semaphore is not None

        has_files = request_data is not None and request_data.contains_files
        read_s = self._resolve(read_timeout, self._read_timeout)
        connect_s = self._resolve(connect_timeout, self._connect_timeout)
        pool_s = self._resolve(pool_timeout, self._pool_timeout)
        # Resolved for parity with HTTPXRequest; aiohttp cannot enforce a write timeout.
        self._resolve(write_timeout, self._media_write_timeout if has_files else self._write_timeout)

        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if isinstance(request_data, JsonRequestData):
                data, headers = request_data.body, _JSON_HEADERS
            elif has_files:
                data = self._multipart(request_data)
            elif request_data.json_parameters:
                data = request_data.url_encoded_parameters().encode("ascii")
                headers = {"Content-Type": _FORM_CONTENT_TYPE}

        timeout = self._timeouts.get((connect_s, read_s))
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None, connect=connect_s, sock_connect=connect_s, sock_read=read_s
            )
            if len(self._timeouts) < 64:
                self._timeouts[(connect_s, read_s)] = timeout

        if semaphore.locked():
            try:
                async with asyncio.timeout(pool_s):
                    await semaphore.acquire()
            except TimeoutError as err:
                raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from err
        else:
            await semaphore.acquire()  # returns at once: a slot is free
        proxy, proxy_auth = (None, None) if self._proxy else await self._env_proxy(url)

        try:
            async with session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp.ServerTimeoutError subclasses TimeoutError
            _raise_mapped(TimedOut(), err)
        except aiohttp.ClientError as err:
            message = _redact(f"aiohttp.{err.__class__.__name__}: {err}")
            _raise_mapped(NetworkError(message), err)
        finally:
            semaphore.release()


def build_request(kind: Literal["aiohttp", "httpx"], **kwargs: Any) -> BaseRequest:
    """Build a :class:`~telegram.request.BaseRequest` of the given *kind*.

    Args:
        kind: ``"aiohttp"`` for :class:`AiohttpRequest`, ``"httpx"`` for PTB's
            :class:`~telegram.request.HTTPXRequest`.
        **kwargs: Passed unchanged to the chosen class's constructor.

    Raises:
        ValueError: For an unknown *kind*.
    """
    if kind == "aiohttp":
        return AiohttpRequest(**kwargs)
    if kind == "httpx":
        return HTTPXRequest(**kwargs)
    raise ValueError(f"Unknown transport kind {kind!r}; expected 'aiohttp' or 'httpx'.")
