"""Ceiling comparison: liaison-bot doing real work against a bare python-telegram-bot echo bot.

Both bots run as CHILD processes against the same sandbox (FakeTelegram in this process, rate
limits off) over real HTTP:

* echo   -- bench/_echo_bot.py: PTB on its default stack (httpx, sequential processing)
            echoing N text messages from N users sent at once (and, for reference, the same
            bot with ``concurrent_updates(True)``: keys ``echo_concurrent_*``);
* signup -- ``python -m bot run``: N members press the activity's Sign up button at once
            (database write + answerCallbackQuery + message edit). The database is prepared
            here (members, one activity open to all created through ActivityService); the
            announcements it queued in the outbox are delivered by this process through the
            sandbox's Bot API, as the delivery worker would, and marked sent.

For each: updates/s (first update posted -> last reply received) and CPU ms per update of the
bot process; then liaison-bot at half of its measured rate (paced updates) and the p99 of
"update posted -> answer arrives at the sandbox". Everything again with the sandbox adding
50 ms to every Bot API call (keys with suffix ``_50ms``): the echo bot then handles one
update per round trip, liaison-bot handles different users concurrently.

    python bench/ceiling.py [--quick] [--n N] [--n50 N]

The last output line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    OWNER_ID,
    ROOT,
    cpu_seconds,
    deliver,
    median,
    percentile,
    postgresql_database,
    prepare_db,
    settle_heap,
    spawn,
    stop_async,
    wait_polling,
)

from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram

PROFILE_TO = ""
BACKEND = "sqlite"
Workload = Callable[[FakeTelegram, SandboxUser], Awaitable[Callable[[], Awaitable[float]]]]


@dataclass
class Burst:
    updates_per_s: float
    cpu_ms: float
    sandbox_cpu_ms: float  # this process: the sandbox plus the simulated users


# --- the bots ------------------------------------------------------------------------------------
def start_bot(kind: str, tg: FakeTelegram, db_path: Path, database_url: str | None = None) -> Any:
    if kind.startswith("echo"):
        extra = ["--concurrent"] if kind == "echo_concurrent" else []
        return spawn([str(ROOT / "bench" / "_echo_bot.py"), tg.token, tg.api_url, *extra], {})
    env = {
        "BOT_TOKEN": tg.token,
        "TELEGRAM_API_URL": tg.api_url,
        "LIAISON_DB": str(db_path),
        "LIAISON_OWNERS": str(OWNER_ID),
        "LIAISON_FLOOD_PER_MINUTE": "10000",
        "LIAISON_DATABASE_URL": database_url or "",  # "": never the shell's server for SQLite
    }
    args = ["-m", "bot", "--log-level", "WARNING", "run"]
    if PROFILE_TO:  # bench/ceiling.py --profile FILE: the liaison-bot process under cProfile
        args = ["-m", "cProfile", "-o", PROFILE_TO, *args]
    return spawn(args, env)


# --- workloads: post one update for a user; return an awaitable giving the answer's arrival -----
def text_workload(text: str) -> Workload:
    """Send `text`; done when the reply message arrived."""

    async def post(tg: FakeTelegram, user: SandboxUser) -> Callable[[], Awaitable[float]]:
        await user.send(text)

        async def arrived() -> float:
            await user.next_message(timeout=60)
            return time.monotonic()

        return arrived

    return post


def signup_workload(button: str) -> Workload:
    """Press the announcement's Sign up button; done when the answer AND the message edit arrived."""

    async def post(tg: FakeTelegram, user: SandboxUser) -> Callable[[], Awaitable[float]]:
        announcement = user.messages[-1]
        result = await user.press(announcement, button)

        async def arrived() -> float:
            await result.answer(timeout=60)
            answered = time.monotonic()
            await user.wait_for(lambda m: m.message_id == announcement.message_id and m.edited, timeout=60)
            return answered

        return arrived

    return post


# --- measurements --------------------------------------------------------------------------------
async def burst(tg: FakeTelegram, pid: int, users: list[SandboxUser], post: Workload) -> Burst:
    """Post one update per user at once; time until every answer arrived."""
    cpu0 = cpu_seconds(pid)
    own0 = time.process_time()
    started = time.monotonic()
    waiters = [await post(tg, u) for u in users]
    await asyncio.gather(*(w() for w in waiters))
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pid) - cpu0
    own = time.process_time() - own0
    return Burst(len(users) / elapsed, cpu * 1000 / len(users), own * 1000 / len(users))


async def paced(
    tg: FakeTelegram, pid: int, users: list[SandboxUser], post: Workload, rate: float
) -> tuple[float, float, float]:
    """Post updates at `rate`/s (one per user): p50 and p99 of post -> answer (ms), bot CPU ms per update."""
    latencies: list[float] = []
    cpu0 = cpu_seconds(pid)

    async def one(user: SandboxUser) -> None:
        sent = time.monotonic()
        waiter = await post(tg, user)
        latencies.append((await waiter()) - sent)

    tasks = []
    start = time.monotonic()
    for i, user in enumerate(users):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(user)))
    await asyncio.gather(*tasks)
    cpu_ms = (cpu_seconds(pid) - cpu0) * 1000 / len(users)
    return percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000, cpu_ms


async def measure(kind: str, n: int, latency_s: float, repeats: int, pace_s: float) -> dict[str, Any]:
    """Bursts of n updates (repeated; medians) and, for liaison-bot, a paced run at half rate."""
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = stack.enter_context(postgresql_database()) if BACKEND == "postgresql" and kind == "liaison" else None
        async with FakeTelegram(rate_limits=False) as tg:
            warm = [tg.create_user(f"Warm{i}", language_code="en") for i in range(10)]
            rounds = [[tg.create_user(f"U{r}_{i}", language_code="en") for i in range(n)] for r in range(repeats)]
            pool = [tg.create_user(f"P{i}", language_code="en") for i in range(2 * n)]
            post = text_workload("hello")
            if not kind.startswith("echo"):
                members = [*warm, *pool, *(u for r in rounds for u in r)]
                announcements = await prepare_db(Path(tmp) / "bench.db", members, capacity=len(members) + 10,
                                                 database_url=url)
                await deliver(tg, announcements)
                post = signup_workload("Sign up")
            settle_heap()  # the bench's own full collections must not count as the bot's latency
            proc = start_bot(kind, tg, Path(tmp) / "bench.db", url)
            try:
                await wait_polling(tg, proc)
                tg.set_faults(latency_s=latency_s)
                await burst(tg, proc.pid, warm, post)  # warm-up: imports, caches, connections
                results = [await burst(tg, proc.pid, users, post) for users in rounds]
                figures: dict[str, Any] = {
                    "updates_per_s": median([r.updates_per_s for r in results]),
                    "cpu_ms": median([r.cpu_ms for r in results]),
                    "sandbox_cpu_ms": median([r.sandbox_cpu_ms for r in results]),
                }
                if not kind.startswith("echo") and pace_s > 0:
                    rate = figures["updates_per_s"] / 2
                    settle_heap()  # the bursts' messages, too
                    count = min(len(pool), max(20, int(rate * pace_s)))
                    p50, p99, paced_cpu = await paced(tg, proc.pid, pool[:count], post, rate)
                    figures["p50_ms_half_load"], figures["p99_ms_half_load"] = p50, p99
                    figures["cpu_ms_half_load"] = paced_cpu
                    figures["half_load_per_s"] = rate
                return figures
            finally:
                tg.set_faults()
                await stop_async(proc, tg)
                gc.unfreeze()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for suffix, latency, n in (("", 0.0, args.n), ("_50ms", 0.05, args.n50)):
        if PROFILE_TO and suffix:
            break  # profiling: the loopback run only
        echo = await measure("echo", n, latency, args.repeats, 0)
        echo_conc = await measure("echo_concurrent", n, latency, args.repeats, 0)
        liaison = await measure("liaison", n, latency, args.repeats, args.pace_s)
        print(
            f"latency {latency * 1000:.0f} ms, {n} updates x {args.repeats}: "
            f"echo {echo['updates_per_s']:.0f}/s {echo['cpu_ms']:.2f} CPU ms/update "
            f"(sandbox {echo['sandbox_cpu_ms']:.2f}); "
            f"echo concurrent_updates(True) {echo_conc['updates_per_s']:.0f}/s {echo_conc['cpu_ms']:.2f} CPU ms; "
            f"liaison sign-up {liaison['updates_per_s']:.0f}/s {liaison['cpu_ms']:.2f} CPU ms/update "
            f"(sandbox {liaison['sandbox_cpu_ms']:.2f}); "
            f"at {liaison.get('half_load_per_s', 0):.0f}/s: p50 {liaison.get('p50_ms_half_load', 0):.1f} ms, "
            f"p99 {liaison.get('p99_ms_half_load', 0):.1f} ms",
            flush=True,
        )
        out[f"echo_updates_per_s{suffix}"] = round(echo["updates_per_s"], 1)
        out[f"signup_updates_per_s{suffix}"] = round(liaison["updates_per_s"], 1)
        out[f"ratio{suffix}"] = round(liaison["updates_per_s"] / echo["updates_per_s"], 2)
        out[f"p99_ms_half_load{suffix}"] = round(liaison.get("p99_ms_half_load", 0), 1)
        out[f"p50_ms_half_load{suffix}"] = round(liaison.get("p50_ms_half_load", 0), 1)
        out[f"signup_cpu_ms_half_load{suffix}"] = round(liaison.get("cpu_ms_half_load", 0), 2)
        out[f"echo_cpu_ms{suffix}"] = round(echo["cpu_ms"], 2)
        out[f"signup_cpu_ms{suffix}"] = round(liaison["cpu_ms"], 2)
        out[f"echo_concurrent_updates_per_s{suffix}"] = round(echo_conc["updates_per_s"], 1)
        out[f"echo_concurrent_cpu_ms{suffix}"] = round(echo_conc["cpu_ms"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts (CI smoke run)")
    parser.add_argument("--n", type=int, default=None, help="updates per burst, no added latency")
    parser.add_argument("--n50", type=int, default=None, help="updates per burst with 50 ms latency")
    parser.add_argument("--repeats", type=int, default=None, help="bursts per bot (median reported)")
    parser.add_argument("--pace-s", type=float, default=None, help="seconds of paced updates at half rate")
    parser.add_argument("--profile", default="", help="write a cProfile (pstats) profile of liaison-bot here")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite",
                        help="liaison-bot's database (postgresql: $LIAISON_DATABASE_URL or a throwaway cluster)")
    args = parser.parse_args()
    global PROFILE_TO, BACKEND
    PROFILE_TO = args.profile
    BACKEND = args.backend
    args.n = args.n or (100 if args.quick else 1000)
    args.n50 = args.n50 or (40 if args.quick else 200)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.pace_s = args.pace_s if args.pace_s is not None else (1.0 if args.quick else 4.0)
    figures = asyncio.run(main_async(args))
    if BACKEND == "postgresql":
        figures = {f"{key}_pg": value for key, value in figures.items()}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
