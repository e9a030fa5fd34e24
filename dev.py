#!/usr/bin/env python3
"""Bootstrap and run liaison-bot on a fresh machine that has only python3.

    python3 dev.py run     # the bot (without BOT_TOKEN: the local sandbox instead)
    python3 dev.py test    # install everything needed and run the whole test suite, on SQLite
                           # and on PostgreSQL side by side (a throwaway local cluster; Debian's
                           # postgresql is installed when missing and we are root)

The first call creates ./.venv and installs the pinned dependencies from pyproject.toml;
later calls reinstall only when pyproject.toml changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".installed-pyproject"


def ensure_environment() -> None:
    if not PYTHON.exists():
        print("creating virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("installing dependencies (pinned in pyproject.toml) ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-e", ".[dev]"], cwd=ROOT, check=True)
    STAMP.write_text(digest)


def run(args: list[str]) -> int:
    return subprocess.call([str(BIN / "liaison-bot"), *args], cwd=os.getcwd())


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    """The web chat tests drive Debian's Chromium; install it when missing and we may (root)."""
    if CHROMIUM.exists():
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        print(f"{CHROMIUM} is missing and we are not root: the browser tests will fail "
              "(install it with: sudo apt-get install chromium fonts-noto-color-emoji)", flush=True)
        return
    print(f"{CHROMIUM} is missing: installing Debian's chromium package for the browser tests", flush=True)
    packages = ["chromium", "fonts-noto-color-emoji"]  # the font: emoji in screenshots are not blank boxes
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        print("$", " ".join(command), flush=True)
        subprocess.run(command, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def ensure_cjk_font() -> None:
    """Charts and PDF summaries need a CJK font (Debian's fonts-wqy-microhei); install it as root."""
    if CJK_FONT.exists():
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        print(f"{CJK_FONT} is missing and we are not root: the chart tests will fail "
              "(install it with: sudo apt-get install fonts-wqy-microhei)", flush=True)
        return
    print(f"{CJK_FONT} is missing: installing Debian's fonts-wqy-microhei for the charts", flush=True)
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "fonts-wqy-microhei"]):
        print("$", " ".join(command), flush=True)
        subprocess.run(command, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _pg_cluster() -> Any:
    """tests/pg_cluster.py (standard library only), loaded without the virtual environment."""
    spec = importlib.util.spec_from_file_location("pg_cluster", ROOT / "tests" / "pg_cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SHARDS = 2  # each backend's pass in this many processes, each with its own share of the test files


def test(args: list[str]) -> int:
    """ruff and mypy, then lanes side by side (most tests wait on the sandbox's timers, not on the
    CPU: a pass keeps about a third of a core busy): the suite on SQLite and on PostgreSQL (a
    throwaway cluster: Unix socket only, fsync off), each in `SHARDS` shares of the test files,
    and the benchmarks' smoke run after the first SQLite share. The first lane's output streams;
    the others' is kept in files and printed when they end. The exit status is the first failure's."""
    ensure_chromium()
    ensure_cjk_font()
    env = {**os.environ, "PTB_TIMEDELTA": "1"}
    env.pop("LIAISON_DATABASE_URL", None)
    for command in ([str(BIN / "ruff"), "check", "."], [str(BIN / "mypy")]):
        code = _call(command, env)
        if code != 0:
            return code
    cluster = _pg_cluster()
    url, directory = cluster.start()
    try:
        pg_env = {**env, "LIAISON_TEST_BACKEND": "postgresql", "LIAISON_TEST_PG_URL": url}
        pytest = [str(PYTHON), "-m", "pytest"]
        lanes: list[list[tuple[list[str], dict[str, str]]]] = [
            [([*pytest, "--backend=sqlite", f"--shard={i}/{SHARDS}", *args], env)] for i in range(SHARDS)
        ] + [
            [([*pytest, "--backend=postgresql", f"--shard={i}/{SHARDS}", *args], pg_env)] for i in range(SHARDS)
        ]
        # Smoke-run every benchmark with small counts so none of them rots (no timing asserts).
        lanes[0].append(([str(PYTHON), "bench/run_all.py", "--quick"], env))
        return _run_lanes(lanes)
    finally:
        cluster.stop(directory)


Lane = list[tuple[list[str], dict[str, str]]]


def _run_lanes(lanes: list[Lane]) -> int:
    """Run the lanes side by side, each command of a lane after the previous one succeeded."""
    started = time.monotonic()
    codes: list[int] = [0] * len(lanes)

    def run_lane(index: int, out: Any) -> None:
        for command, env in lanes[index]:
            print("$", _shown(command), file=out, flush=True)
            code = subprocess.call(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            print(f"({_shown(command)}: exit {code} after {time.monotonic() - started:.0f} s)", file=out, flush=True)
            if code != 0:
                codes[index] = code
                return

    with contextlib.ExitStack() as stack:
        logs = [sys.stdout] + [stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
                               for _ in lanes[1:]]
        for lane in lanes[1:]:
            print("side by side:", " ; ".join(_shown(command) for command, _ in lane), flush=True)
        threads = [threading.Thread(target=run_lane, args=(i, logs[i])) for i in range(len(lanes))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for lane, log in zip(lanes[1:], logs[1:], strict=True):
            log.seek(0)
            print(f"\n===== {' ; '.join(_shown(command) for command, _ in lane)} =====", flush=True)
            shutil.copyfileobj(log, sys.stdout)
            sys.stdout.flush()
    return next((code for code in codes if code != 0), 0)


def _shown(command: list[str]) -> str:
    return " ".join(Path(command[0]).name if i == 0 else c for i, c in enumerate(command))


def _call(command: list[str], env: dict[str, str]) -> int:
    print("$", _shown(command), flush=True)
    return subprocess.call(command, cwd=ROOT, env=env)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    ensure_environment()
    command, rest = sys.argv[1], sys.argv[2:]
    return run(rest) if command == "run" else test(rest)


if __name__ == "__main__":
    raise SystemExit(main())
