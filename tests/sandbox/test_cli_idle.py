"""`liaison-bot` without BOT_TOKEN, as a newcomer runs it: the start lines, then silence.

The real CLI runs as a subprocess with --demo; its output is watched for IDLE_WINDOW_S seconds of
idling (long enough for every 30 s scheduler job to run at least once). The window bounds the
observation; nothing is asserted about timing.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from bot.cli import CHATTY_LOGGERS, SANDBOX_CHATTY_LOGGERS, quiet_libraries

ROOT = Path(__file__).resolve().parents[2]
IDLE_WINDOW_S = 60.0
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    """No BOT_TOKEN, no .env: what a newcomer has; temporary files go under ``tmp_path``."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
            "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8"}


class Output:
    """The process's output lines, read by a thread (a selector on a buffered pipe misses lines
    already in Python's buffer)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self._stream = proc.stdout
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def read(self, until: float, stop_at: str | None = None) -> list[str]:
        """Lines printed before ``until`` (or up to and including one containing ``stop_at``)."""
        lines: list[str] = []
        while (left := until - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            lines.append(line)
            if stop_at is not None and stop_at in line:
                break
        return lines

    def rest(self) -> list[str]:
        """Everything left once the process has ended."""
        self._thread.join(timeout=30)
        self._stream.close()
        lines: list[str] = []
        while not self._lines.empty():
            line = self._lines.get()
            if line is not None:
                lines.append(line)
        return lines


def test_an_idle_demo_sandbox_prints_its_start_lines_then_nothing(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--env-file", str(tmp_path / "none.env"), "sandbox", "--demo",
         "--port", str(port)],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = Output(proc)
    try:
        start = output.read(time.monotonic() + START_TIMEOUT_S, stop_at="Ctrl+C")
        assert start and "Ctrl+C" in start[-1], start
        assert f"Web chat: http://127.0.0.1:{port}/  <- open it in a browser to chat with the bot" in start, start
        assert any("temporary database, removed when the sandbox stops; keep it with --db FILE" in line
                   for line in start), start
        assert not any(" WARNING " in line or " INFO " in line or "spec" in line for line in start), start
        assert list(tmp_path.glob("liaison-sandbox-*/liaison.db")), "the run's database is in the temp dir"
        idle = output.read(time.monotonic() + IDLE_WINDOW_S)
        assert idle == [], f"an idle sandbox logged {len(idle)} lines: {idle[:5]}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    rest = output.rest()
    assert proc.returncode == 0, rest
    assert rest == [], rest
    assert not list(tmp_path.glob("liaison-sandbox-*")), "the temporary database is removed on exit"


def test_with_db_the_start_line_says_where_data_is_kept_and_it_stays(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--env-file", str(tmp_path / "none.env"), "sandbox", "--demo",
         "--port", str(port), "--db", "mine.db"],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = Output(proc)
    try:
        start = output.read(time.monotonic() + START_TIMEOUT_S, stop_at="Ctrl+C")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        output.rest()
    assert "Data: kept in mine.db (run again with --db mine.db to continue)." in start, start
    assert proc.returncode == 0
    assert (tmp_path / "mine.db").is_file()


def test_routine_library_narration_is_quiet() -> None:
    names = (*CHATTY_LOGGERS, *SANDBOX_CHATTY_LOGGERS)
    saved = {name: logging.getLogger(name).level for name in names}
    try:
        quiet_libraries(sandbox=True)
        for name in ("apscheduler.scheduler", "apscheduler.executors.default", "matplotlib.font_manager",
                     "fontTools.subset", "telegram.ext.Application", "bot.runtime"):
            logger = logging.getLogger(name)
            assert not logger.isEnabledFor(logging.INFO) and logger.isEnabledFor(logging.WARNING), name
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_the_readmes_first_screen_gives_the_web_chat_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import _parser

    monkeypatch.delenv("LIAISON_SANDBOX_PORT", raising=False)
    port = _parser().parse_args([]).port  # the default the start line prints
    first_screen = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:30])
    assert "python3 dev.py run" in first_screen
    assert f"Web chat: http://127.0.0.1:{port}/" in first_screen
    assert "--db FILE" in first_screen
