"""Shared pieces of the benchmarks: the sandbox, bot child processes, figures."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

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
