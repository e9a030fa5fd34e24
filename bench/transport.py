"""Benchmark PTB's HTTPXRequest against bot.transport.AiohttpRequest.

A minimal Bot-API-like aiohttp endpoint (canned ``sendMessage`` result) runs in a *child
process*, so :func:`time.process_time` in this process measures only the client side
(PTB + transport).  For each transport, ``bot.send_message`` is called ``--calls`` times at
concurrency 1 and 32; calls/s (wall clock) and client CPU ms per call are reported.

Usage::

    python -m bench.transport [--calls N] [--quick]

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from aiohttp import web
from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.transport import AiohttpRequest

TOKEN = "123456:BENCH-token"
CONCURRENCIES = (1, 32)
POOL_SIZE = 64

_GET_ME = json.dumps(
    {"ok": True, "result": {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}}
).encode()
_SEND_MESSAGE = json.dumps(
    {
        "ok": True,
        "result": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 42, "type": "private", "first_name": "Member"},
            "from": {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"},
            "text": "benchmark message",
        },
    }
).encode()


# --- server (child process) -----------------------------------------------------------------


async def _handle(request: web.Request) -> web.Response:
    await request.read()
    body = _GET_ME if request.match_info["method"] == "getMe" else _SEND_MESSAGE
    return web.Response(body=body, content_type="application/json")


async def _serve_forever(conn: Connection) -> None:
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", _handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    conn.send(runner.addresses[0][1])
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # any message (or EOF) means stop
    await runner.cleanup()


def _server_main(conn: Connection) -> None:
    with contextlib.suppress(EOFError):
        asyncio.run(_serve_forever(conn))


# --- client ---------------------------------------------------------------------------------


def _make_request(kind: str) -> BaseRequest:
    if kind == "httpx":
        return HTTPXRequest(connection_pool_size=POOL_SIZE)
    return AiohttpRequest(connection_pool_size=POOL_SIZE)


async def _run(bot: Bot, calls: int, concurrency: int) -> None:
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await bot.send_message(chat_id=42, text="benchmark message")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _run_raw(request: BaseRequest, url: str, calls: int, concurrency: int) -> None:
    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            data = RequestData(
                [
                    RequestParameter.from_input("chat_id", 42),
                    RequestParameter.from_input("text", "benchmark message"),
                ]
            )
            await request.do_request(url, "POST", request_data=data)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _measure(kind: str, port: int, calls: int) -> dict[str, float]:
    bot = Bot(
        TOKEN,
        base_url=f"http://127.0.0.1:{port}/bot",
        request=_make_request(kind),
        get_updates_request=_make_request(kind),
    )
    results: dict[str, float] = {}
    async with bot:
        for concurrency in CONCURRENCIES:
            await _run(bot, max(50, calls // 10), concurrency)  # warm up connections and caches
            gc.collect()
            wall0, cpu0 = time.perf_counter(), time.process_time()
            await _run(bot, calls, concurrency)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            results[f"{kind}_c{concurrency}_calls_per_s"] = round(calls / wall, 1)
            results[f"{kind}_c{concurrency}_cpu_ms"] = round(cpu * 1000 / calls, 4)
    # Transport alone: do_request() without Bot's argument handling and response parsing.
    async with _make_request(kind) as request:
        url = f"http://127.0.0.1:{port}/bot{TOKEN}/sendMessage"
        for concurrency in CONCURRENCIES:
            await _run_raw(request, url, max(50, calls // 10), concurrency)
            gc.collect()
            wall0, cpu0 = time.perf_counter(), time.process_time()
            await _run_raw(request, url, calls, concurrency)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            results[f"{kind}_raw_c{concurrency}_calls_per_s"] = round(calls / wall, 1)
            results[f"{kind}_raw_c{concurrency}_cpu_ms"] = round(cpu * 1000 / calls, 4)
    return results


def _table(results: dict[str, float]) -> str:
    lines = [f"{'transport':<10} {'level':<18} {'conc':>5} {'calls/s':>10} {'CPU ms/call':>12}"]
    for level, infix in (("bot.send_message", ""), ("do_request only", "raw_")):
        for kind in ("httpx", "aiohttp"):
            for c in CONCURRENCIES:
                rate = results[f"{kind}_{infix}c{c}_calls_per_s"]
                cpu = results[f"{kind}_{infix}c{c}_cpu_ms"]
                lines.append(f"{kind:<10} {level:<18} {c:>5} {rate:>10.1f} {cpu:>12.3f}")
        for c in CONCURRENCIES:
            ratio = results[f"httpx_{infix}c{c}_cpu_ms"] / results[f"aiohttp_{infix}c{c}_cpu_ms"]
            lines.append(f"  {level}: CPU/call httpx / aiohttp at concurrency {c} = {ratio:.1f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table, then one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2000, help="measured calls per case (default 2000)")
    parser.add_argument("--quick", action="store_true", help="smoke run with 200 calls per case")
    args = parser.parse_args(argv)
    calls = 200 if args.quick else args.calls

    ctx = multiprocessing.get_context("spawn")
    parent_conn, child_conn = ctx.Pipe()
    server = ctx.Process(target=_server_main, args=(child_conn,), daemon=True)
    server.start()
    try:
        if not parent_conn.poll(30):
            raise RuntimeError("benchmark server did not start")
        port = int(parent_conn.recv())
        results: dict[str, float] = {"calls": calls}
        for kind in ("httpx", "aiohttp"):
            results.update(asyncio.run(_measure(kind, port, calls)))
    finally:
        parent_conn.send("stop")
        server.join(10)
        if server.is_alive():
            server.terminate()
            server.join()
    print(f"{calls} send_message calls per case; server in a child process, client CPU only")
    print(_table(results))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
