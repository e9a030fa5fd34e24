"""Several bot processes on one PostgreSQL database, against the sandbox (issue 19).

`BotGroup` starts N `python -m bot run` child processes with the same settings and the same
`LIAISON_DATABASE_URL`, tells which one holds a lease (the long poller, the delivery pacer), kills
one with SIGKILL and measures how long the others take to take its work over. Used by
tests/test_pg_multiprocess.py, tests/test_reliability_crash.py and the benches (bench/crash.py,
and bench/_multiproc.py re-exports it for bench/scale.py's acknowledgement storm).

    async with BotGroup(tg, workdir, url, processes=2) as group:
        victim = await group.holder("pacer:")
        in_flight = await group.kill(victim)          # SIGKILL; sends it had in flight at the kill
        seconds = await group.takeover("pacer:", victim)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from bot.webhook import SECRET_HEADER
from storage.db import Database
from storage.timefmt import to_db
from tests.reliability_helpers import BotProcess, CrashTarget

READY = "liaison-bot is running"
WEBHOOK_SECRET = "multi-process-Secret_token-1"  # the sandbox's, not a real secret
POLLER = "poller:"
PACER = "pacer:"


class PgBotProcess(BotProcess):
    """One `python -m bot run` of a group, with its own work folder and log, on the shared database."""

    def __init__(self, tg: Any, workdir: Path, url: str, index: int, **env: str) -> None:
        folder = workdir / f"p{index}"
        folder.mkdir(parents=True, exist_ok=True)
        super().__init__(tg, folder, LIAISON_DATABASE_URL=url, **env)
        self.index = index

    @property
    def pid(self) -> int | None:
        return None if self.proc is None or self.proc.poll() is not None else self.proc.pid

    async def start(self, timeout: float = 60.0) -> float:
        """Spawn the bot and wait until it is running (polling, or standing by for the poller lease)."""
        started = time.monotonic()
        log_path = self.workdir / "bot.log"
        offset = log_path.stat().st_size if log_path.exists() else 0
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=self.workdir, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        while True:
            with log_path.open("rb") as log:
                log.seek(offset)
                if READY.encode() in log.read():
                    break
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot {self.index} exited at start:\n" + self.log_tail())
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"bot {self.index} did not start:\n" + self.log_tail())
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - started
        self.starts.append(elapsed)
        return elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RoundRobinProxy:
    """The reverse proxy in front of the processes in webhook mode: each request Telegram makes goes
    to the next process; one that refuses the connection (dead) is skipped, as nginx's
    `proxy_next_upstream error` does. Counts what each backend received."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/telegram"
        self.received = [0] * len(backends)
        self._turn = itertools.cycle(range(len(backends)))
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", SECRET_HEADER.lower())}
        for _ in self.backends:
            index = next(self._turn)
            try:
                async with self._session.post(self.backends[index], data=body, headers=headers) as answer:
                    self.received[index] += 1
                    return web.Response(status=answer.status)
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=502)


class BotGroup:
    """N bot processes sharing one PostgreSQL database (and one sandbox Telegram); with
    `webhook=True` each listens on its own port behind a `RoundRobinProxy`, else they long-poll
    (one elected poller)."""

    def __init__(self, tg: Any, workdir: Path, url: str, processes: int = 2, *, webhook: bool = False,
                 **env: str) -> None:
        self.tg = tg
        self.url = url
        self.proxy: RoundRobinProxy | None = None
        if webhook:
            ports = [free_port() for _ in range(processes)]
            self.proxy = RoundRobinProxy([f"http://127.0.0.1:{port}/telegram" for port in ports])
            self.procs = [
                PgBotProcess(tg, workdir, url, i, LIAISON_WEBHOOK_URL=self.proxy.url,
                             LIAISON_WEBHOOK_SECRET=WEBHOOK_SECRET, LIAISON_LISTEN=f"127.0.0.1:{port}", **env)
                for i, port in enumerate(ports)
            ]
        else:
            self.procs = [PgBotProcess(tg, workdir, url, i, **env) for i in range(processes)]
        self.db: Database | None = None
        self.takeovers: list[float] = []  # seconds from a kill to the lease taken by another process

    async def __aenter__(self) -> BotGroup:
        await self.open()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def open(self) -> None:
        await self.prepare()
        await self.start_all()

    async def prepare(self) -> None:
        """Connect, start the proxy, migrate (before seeding); `start_all` then starts the processes."""
        from storage.pg import PgDatabase

        self.db = await PgDatabase.connect(self.url, max_size=2)
        if self.proxy is not None:
            await self.proxy.start()
        await asyncio.to_thread(self.procs[0].migrate)

    async def start_all(self, *, together: bool = False) -> None:
        """One after another (the first takes both roles, then hands one to the second: bot/leader.py
        `Peers`), or all at once (`together`)."""
        if together:
            await asyncio.gather(*(proc.start() for proc in self.procs))
            return
        for proc in self.procs:
            await proc.start()

    async def roles(self) -> dict[str, PgBotProcess | None]:
        """The live process holding each elected role (POLLER, PACER); None: nobody now."""
        return {prefix: await self.holder(prefix) for prefix in (POLLER, PACER)}

    async def wait_roles(self, check: Any, what: str, timeout: float = 30.0) -> dict[str, PgBotProcess]:
        """Until `check(roles)` holds for the roles every live process holds (each role held)."""
        deadline = time.monotonic() + timeout
        while True:
            roles = await self.roles()
            if all(proc is not None for proc in roles.values()) and check(roles):
                return {prefix: proc for prefix, proc in roles.items() if proc is not None}
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: {roles}\n" + "\n".join(p.log_tail(1500) for p in self.running()))
            await asyncio.sleep(0.05)

    async def spread(self, timeout: float = 30.0) -> dict[str, PgBotProcess]:
        """Until the poller and the pacer are held by two different processes."""
        return await self.wait_roles(lambda roles: roles[POLLER] is not roles[PACER],
                                     "the roles are not spread over the processes", timeout)

    async def close(self) -> None:
        await asyncio.gather(*(proc.stop() for proc in self.procs))
        if self.proxy is not None:
            await self.proxy.stop()
        if self.db is not None:
            await self.db.close()
            self.db = None

    def rss_mb(self) -> list[float]:
        """Resident memory of each running process, in MB (Linux /proc)."""
        sizes = []
        for proc in self.running():
            status = Path(f"/proc/{proc.pid}/status").read_text()
            kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            sizes.append(round(kb / 1024, 1))
        return sizes

    def running(self) -> list[PgBotProcess]:
        return [proc for proc in self.procs if proc.pid is not None]

    async def holder(self, prefix: str) -> PgBotProcess | None:
        """The live process holding the lease whose name starts with `prefix` (None: nobody yet)."""
        assert self.db is not None
        row = await self.db.fetchone(
            "SELECT holder FROM leases WHERE name LIKE ? AND expires_at > ? ORDER BY name LIMIT 1",
            (prefix + "%", to_db(datetime.now(UTC))),
        )
        if row is None:
            return None
        pid = int(str(row["holder"]).split(":")[1])
        return next((proc for proc in self.procs if proc.pid == pid), None)

    async def wait_holder(self, prefix: str, timeout: float = 30.0) -> PgBotProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = await self.holder(prefix)
            if proc is not None:
                return proc
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no live process holds a {prefix} lease")

    async def in_flight(self) -> int:
        """Notice sends out (attempted) whose answers are not recorded: what a kill now may duplicate."""
        assert self.db is not None
        return int(await self.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE status = 'sending' AND attempted_at IS NOT NULL"))

    async def kill(self, proc: PgBotProcess) -> int:
        """SIGKILL `proc`; return the sends it had in flight (counted right after the kill, before any
        other process can have taken them over: its leases are still running)."""
        proc.kill()
        return await self.in_flight()

    async def takeover(self, prefix: str, victim: PgBotProcess, since: float, timeout: float = 30.0) -> float:
        """Seconds from `since` (monotonic, the kill) until another live process holds the lease."""
        deadline = since + timeout
        while time.monotonic() < deadline:
            proc = await self.holder(prefix)
            if proc is not None and proc is not victim:
                seconds = time.monotonic() - since
                self.takeovers.append(seconds)
                return seconds
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no process took the {prefix} lease over:\n" + "\n".join(
            p.log_tail(1500) for p in self.running()))


class GroupTarget(CrashTarget):
    """The crash run (tests/reliability_helpers.run_crash) against a `BotGroup`: each kill SIGKILLs
    one of the running processes at random (the pacer's holder or not), waits until another process
    has taken the pacer over when the victim held it (the takeover time is reported), then restarts
    the victim."""

    backend = "postgresql"

    def __init__(self, tg: Any, workdir: Path, url: str, processes: int = 2, *, webhook: bool = True) -> None:
        self.group = BotGroup(tg, workdir, url, processes, webhook=webhook)
        self.processes = processes
        self.takeover_seconds: list[float] = []
        self.url = url
        self._kills = 0

    async def prepare(self) -> Database:
        from storage.pg import PgDatabase

        await self.group.prepare()
        return await PgDatabase.connect(self.url, max_size=2)

    async def start(self) -> None:
        await self.group.start_all()

    async def kill_and_restart(self, rng: random.Random) -> int:
        victim = rng.choice(self.group.running())
        pacer = await self.group.holder(PACER)
        killed = time.monotonic()
        in_flight = await self.group.kill(victim)
        self._kills += 1
        if victim is not pacer:
            in_flight = 0  # the live pacer's sends are not interrupted
        else:
            self.takeover_seconds.append(await self.group.takeover(PACER, victim, killed))
        await asyncio.sleep(rng.uniform(0, 0.3))
        await victim.start()
        return in_flight

    async def stop(self) -> None:
        await self.group.close()

    @contextlib.contextmanager
    def reader(self) -> Iterator[Any]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            yield _PgReader(conn)

    def integrity(self, conn: Any) -> str:
        return "ok" if conn.execute("SELECT 1").fetchone()[0] == 1 else "unreachable"

    @property
    def kills(self) -> int:
        return self._kills

    @property
    def restart_seconds(self) -> list[float]:
        return [seconds for proc in self.group.procs for seconds in proc.starts[1:]]

    def error_lines(self) -> list[str]:
        return [line for proc in self.group.procs for line in proc.error_lines()]


class _PgReader:
    """A psycopg connection taking SQLite-style statements (`?` placeholders), for the checks."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Any = ()) -> Any:
        from storage.pg import translate

        return self._conn.execute(translate(sql), tuple(params))
