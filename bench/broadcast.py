"""Broadcast benchmark: the delivery engine against the sandbox with its flood limits on.

    python bench/broadcast.py [--quick] [--recipients N] [--paid-only]

The sandbox runs in a separate process (so its CPU does not count against the bot's).
Phase 1 sends to every recipient at the free limit (must sustain >= 29 msg/s with no 429);
phase 2 sends again with allow_paid_broadcast (goal >= 950 msg/s). The last line printed is
one JSON object with the figures, including the server's view of each phase: the narrowest
span holding limit+1 arrivals at the sandbox's flood counter (must stay >= 1 s) and the
delay from the engine's grant to that arrival. BENCH_DUMP=file.json writes the raw timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from _common import postgresql_database
from telegram import Bot

from bot.app import SANDBOX_TOKEN
from bot.clock import Clock
from bot.delivery import DeliveryService, Pacer, Ticket
from bot.i18n import Catalog
from bot.transport import build_request
from handlers.notices.delivery import TelegramTransport
from sandbox.ratelimit import SENDING_METHODS, RateLimiter
from sandbox.server import FakeTelegram
from storage.db import Database
from storage.migrations import migrate
from storage.outbox import OutboxRepo, OutgoingMessage, enqueue
from storage.pg import PgDatabase


def _server_main(conn: Connection, recipients: int) -> None:
    arrivals: list[tuple[float, int, bool]] = []
    original = RateLimiter.check

    def check(self: RateLimiter, method: str, chat_id: int, is_private: bool, paid: bool) -> int | None:
        if method.lower() in SENDING_METHODS:
            arrivals.append((time.monotonic(), chat_id, paid))
        return original(self, method, chat_id, is_private, paid)

    RateLimiter.check = check  # type: ignore[method-assign]

    async def serve() -> None:
        async with FakeTelegram(token=SANDBOX_TOKEN, seed=7) as tg:
            ids = []
            for n in range(recipients):
                user = tg.create_user(f"Bench {n}")
                user.state.started = True
                ids.append(user.id)
            conn.send((tg.api_url, tg.base, ids))
            while True:
                if conn.poll():
                    if conn.recv() == "cpu?":
                        conn.send(time.process_time())
                        continue
                    conn.send(arrivals)
                    return
                await asyncio.sleep(0.05)

    asyncio.run(serve())


class _RecordingPacer(Pacer):
    """Remembers when each (chat, paid) send was granted."""

    def __init__(self) -> None:
        super().__init__()
        self.handoffs: dict[tuple[int, bool], float] = {}
        self.tickets: list[tuple[float, Ticket, bool]] = []

    async def acquire(self, chat_id: int, paid: bool) -> Ticket:
        ticket = await super().acquire(chat_id, paid)
        self.handoffs[(chat_id, paid)] = ticket.at
        self.tickets.append((ticket.at, ticket, paid))
        return ticket


def _analyse(arrivals: list[tuple[float, int, bool]], handoffs: dict[tuple[int, bool], float],
             paid: bool) -> dict[str, float]:
    """Server-side view: the narrowest window holding limit+1 arrivals, and grant -> arrival delays."""
    limit = 1000 if paid else 30
    times = sorted(t for t, _, p in arrivals if p == paid)
    spans = [times[i + limit] - times[i] for i in range(len(times) - limit)]
    delays = sorted(t - handoffs[(c, p)] for t, c, p in arrivals if p == paid and (c, p) in handoffs)
    if not delays:
        return {}
    ms = [d * 1000 for d in delays]
    return {
        "min_span_s": round(min(spans), 4) if spans else 0.0,
        "delay_ms_min": round(ms[0], 2),
        "delay_ms_p50": round(ms[len(ms) // 2], 2),
        "delay_ms_p99": round(ms[int(len(ms) * 0.99)], 2),
        "delay_ms_max": round(ms[-1], 2),
    }


async def _counters(base: str) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/sandbox/api/counters") as resp:
        data: dict[str, object] = await resp.json()
        return data


async def _phase(
    service: DeliveryService, db: Database, ids: list[int], ref_id: int, paid: bool
) -> tuple[float, float]:
    clock = service.clock
    async with db.transaction() as tx:
        await enqueue(
            tx, (OutgoingMessage("bench", ref_id, uid, f"通知 <b>{ref_id}</b> #{uid}", paid=paid) for uid in ids),
            clock.now(),
        )
    start_sent = service.sent_total
    cpu0, t0 = time.process_time(), time.perf_counter()
    service.wake()
    while True:
        counts = await service.repo.counts("bench", ref_id)
        if counts.open == 0:
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    sent = service.sent_total - start_sent
    return sent / elapsed, cpu * 1000 / max(1, sent)


async def run(recipients: int, paid_only: bool = False, database_url: str | None = None) -> dict[str, object]:
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=_server_main, args=(child, recipients), daemon=True)
    proc.start()
    api_url, base, ids = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        db = await PgDatabase.connect(database_url) if database_url else await Database.open(Path(tmp) / "bench.db")
        await migrate(db)
        pacer = _RecordingPacer()
        service = DeliveryService(OutboxRepo(db), Clock(), Catalog.load(), pacer=pacer)
        bot = Bot(SANDBOX_TOKEN, base_url=api_url, request=build_request("aiohttp", connection_pool_size=128))
        async with bot:
            service.concurrency = 64
            service.start(TelegramTransport(bot))
            before = await _counters(base)
            free_rate, free_cpu = (0.0, 0.0) if paid_only else await _phase(service, db, ids, 1, paid=False)
            mid = await _counters(base)
            parent.send("cpu?")
            server_cpu0 = parent.recv()
            paid_rate, paid_cpu = await _phase(service, db, ids, 2, paid=True)
            parent.send("cpu?")
            server_cpu = (parent.recv() - server_cpu0) * 1000 / len(ids)
            after = await _counters(base)
            await service.stop()
        await db.close()
    parent.send("arrivals?")
    arrivals = parent.recv()
    dump = os.environ.get("BENCH_DUMP")
    if dump:
        Path(dump).write_text(json.dumps({
            "arrivals": arrivals, "handoffs": [[c, p, t] for (c, p), t in pacer.handoffs.items()],
            "tickets": [[g, t.at, p] for g, t, p in pacer.tickets],
        }))
    proc.join(5)
    return {
        "recipients": recipients,
        "free_msgs_per_s": round(free_rate, 2),
        "free_http_429": int(str(mid["http_429"])) - int(str(before["http_429"])),
        "paid_msgs_per_s": round(paid_rate, 1),
        "paid_http_429": int(str(after["http_429"])) - int(str(mid["http_429"])),
        "cpu_ms_per_msg": round((free_cpu + paid_cpu) / 2, 3),
        "paid_cpu_ms_per_msg": round(paid_cpu, 3),
        "paid_server_cpu_ms_per_msg": round(server_cpu, 3),
        "free_server_view": _analyse(arrivals, pacer.handoffs, False),
        "paid_server_view": _analyse(arrivals, pacer.handoffs, True),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="~300 recipients (CI smoke run)")
    parser.add_argument("--recipients", type=int, default=None)
    parser.add_argument("--paid-only", action="store_true", help="skip the free phase (profiling)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite",
                        help="postgresql: a database in LIAISON_DATABASE_URL's server or a throwaway cluster")
    args = parser.parse_args(argv)
    recipients = args.recipients or (300 if args.quick else 3000)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgresql_database()) if args.backend == "postgresql" else None
        result = asyncio.run(run(recipients, args.paid_only, url))
    result["backend"] = args.backend
    print(f"free: {result['free_msgs_per_s']} msg/s, 429s: {result['free_http_429']}")
    print(f"paid: {result['paid_msgs_per_s']} msg/s, 429s: {result['paid_http_429']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
