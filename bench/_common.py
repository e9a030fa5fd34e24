"""Shared pieces of the benchmarks: the sandbox, bot child processes, figures."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "1")

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def spawn(args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


async def wait_polling(tg: object, proc: subprocess.Popen[bytes], timeout: float = 60) -> float:
    """Wait until the bot process calls getUpdates; return seconds from now."""
    started = time.monotonic()
    calls = tg.counters.calls  # type: ignore[attr-defined]
    while calls.get("getUpdates", 0) == 0:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"bot process exited: {err[-2000:]}")
        if time.monotonic() - started > timeout:
            raise TimeoutError("bot did not start polling")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def settle_heap() -> None:
    """Move this process's objects out of the collector's way (as bot/cli.py does for the bot).

    The sandbox and the simulated users live in the bench process: with thousands of users and
    messages, one of its full garbage collections took 40-150 ms, during which no update reached
    the bot and no answer was read, so the pause was counted as the bot's latency.
    """
    gc.collect()
    gc.freeze()


def stop(proc: subprocess.Popen[bytes], tg: object | None = None) -> None:
    """Terminate a bot process; with `tg`, its pending long poll returns at once (no 10 s wait)."""
    if tg is not None:
        tg.api.stopping = True  # type: ignore[attr-defined]
        tg.world.changed.notify()  # type: ignore[attr-defined]
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stderr:
        proc.stderr.close()


async def stop_async(proc: subprocess.Popen[bytes], tg: object | None = None, timeout: float = 20) -> None:
    """Like :func:`stop`, but keeps the event loop (and so an in-process sandbox) serving meanwhile."""
    if tg is not None:
        tg.api.stopping = True  # type: ignore[attr-defined]
        tg.world.changed.notify()  # type: ignore[attr-defined]
    proc.terminate()
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    stop(proc)


# --- a prepared database and its announcements (ceiling, signup_race) -------------------------
OWNER_ID = 9000001
EPOCH = "2026-01-01T00:00:00.000000Z"


async def prepare_db(path: Path, users: Sequence[Any], capacity: int,
                     database_url: str | None = None) -> list[dict[str, Any]]:
    """Migrated database with every sandbox user an active member and one activity open to all.

    Returns the announcement messages (chat_id, text, reply_markup) the activity put in the
    outbox, marked as sent: the bench delivers them itself (:func:`deliver`), exactly as the
    delivery worker would, before the bot process starts.
    """
    from bot.clock import Clock
    from bot.config import load_settings
    from bot.i18n import Catalog
    from bot.services import Services
    from storage.backend import open_database
    from storage.migrations import migrate
    from tests.activities_helpers import draft, owner_actor

    settings = load_settings(None, LIAISON_DB=str(path), LIAISON_OWNERS=str(OWNER_ID),
                             LIAISON_DATABASE_URL=database_url or "")  # "": never the shell's server for SQLite
    db = await open_database(settings)
    try:
        await migrate(db)
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO members (user_id, status, name, category, registered_at, updated_at)"
                " VALUES (?, 'active', ?, '1', ?, ?)",
                [(u.id, u.state.first_name, EPOCH, EPOCH) for u in users],
            )
            await tx.executemany(
                "INSERT INTO bot_users (user_id, language, started_at, last_seen_at) VALUES (?, 'en', ?, ?)",
                [(u.id, EPOCH, EPOCH) for u in users],
            )
        for u in users:
            u.state.started = True
        services = Services.create(settings, db, Clock(), Catalog.load(settings.language))
        when = services.clock.now()
        created = await services.activities.create(owner_actor(OWNER_ID), draft(when, capacity=capacity))
        assert created.activity is not None
        rows = await db.fetchall("SELECT id, chat_id, text, reply_markup FROM outbox WHERE status = 'pending'")
        async with db.transaction() as tx:
            await tx.executemany("UPDATE outbox SET status = 'sent' WHERE id = ?", [(r["id"],) for r in rows])
        return [dict(r) for r in rows]
    finally:
        await db.close()


async def deliver(tg: Any, rows: list[dict[str, Any]]) -> None:
    """Send the announcements through the sandbox's Bot API (what bot/delivery.py would do)."""
    from telegram import Bot, InlineKeyboardMarkup

    async with Bot(tg.token, base_url=tg.api_url) as bot:
        sem = asyncio.Semaphore(16)

        async def one(row: dict[str, Any]) -> None:
            markup = row["reply_markup"]
            keyboard = InlineKeyboardMarkup.de_json(json.loads(markup), bot) if markup else None
            async with sem:
                await bot.send_message(row["chat_id"], row["text"], parse_mode="HTML", reply_markup=keyboard)

        await asyncio.gather(*(one(r) for r in rows))


@contextlib.contextmanager
def postgresql_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one benchmark run: in the server at LIAISON_DATABASE_URL,
    else in a throwaway cluster (tests/pg_cluster.py); dropped afterwards."""
    import psycopg

    from tests.pg_cluster import throwaway_cluster

    with contextlib.ExitStack() as stack:
        server = os.environ.get("LIAISON_DATABASE_URL") or stack.enter_context(throwaway_cluster())
        name = f"bench_{os.getpid()}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
        parts = urlsplit(server)
        try:
            yield urlunsplit(parts._replace(path="/" + name))
        finally:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
