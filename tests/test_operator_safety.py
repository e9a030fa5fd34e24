"""Operator safety (issue #16, items 1-5): a webhook never runs without its secret, a failed start
exits, no secret is ever printed, personal data files are private, migrations survive a race."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from storage.db import Database
from storage.migrations import discover, migrate

ROOT = Path(__file__).resolve().parents[1]
# `python -m bot` with this checkout first on the path: the console script `liaison-bot` of the shared
# virtual environment imports whichever checkout was installed, not the code under test.
CLI = (sys.executable, "-m", "bot")


def _token() -> str:
    # Shaped like a real token, made at run time so nothing token-like is committed.
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:AA{secrets.token_urlsafe(33)[:33]}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PTB_TIMEDELTA", "SYSTEMROOT")}
    return {**keep, "PYTHONPATH": str(ROOT), "LIAISON_DB": str(tmp_path / "data" / "liaison.db"), **extra}


# --- 1. webhook -------------------------------------------------------------------------------------
def test_a_webhook_without_a_secret_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="LIAISON_WEBHOOK_SECRET"):
        load_settings(None, LIAISON_WEBHOOK_URL="https://bot.example.org/telegram")


def test_a_webhook_url_that_is_not_https_is_refused() -> None:
    with pytest.raises(ConfigError, match="LIAISON_WEBHOOK_URL"):
        load_settings(None, LIAISON_WEBHOOK_URL="http://bot.example.org/telegram",
                      LIAISON_WEBHOOK_SECRET="s" * 32)


def test_a_short_webhook_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, LIAISON_WEBHOOK_URL="https://bot.example.org/t", LIAISON_WEBHOOK_SECRET="abc123")
    assert "LIAISON_WEBHOOK_SECRET" in str(caught.value) and "abc123" not in str(caught.value)


def test_the_cli_exits_2_with_one_line_when_the_webhook_secret_is_missing(tmp_path: Path) -> None:
    env = _env(tmp_path, BOT_TOKEN=_token(), LIAISON_WEBHOOK_URL="https://bot.example.org/telegram")
    done = subprocess.run([*CLI, "--env-file", "/nonexistent", "run"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "LIAISON_WEBHOOK_SECRET" in done.stderr
    assert env["BOT_TOKEN"] not in done.stderr + done.stdout


# --- 2./3. start-up failure ---------------------------------------------------------------------------
def _run_until_exit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The bound is generous: the point is that it ends by itself (it used to hang forever).
    return subprocess.run([*CLI, "--env-file", "/nonexistent", "run"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_an_unreachable_api_ends_the_process_non_zero_without_the_token(tmp_path: Path) -> None:
    token = _token()
    env = _env(tmp_path, BOT_TOKEN=token, TELEGRAM_API_URL=f"http://127.0.0.1:{_free_port()}/bot")
    done = _run_until_exit(env)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "could not run" in done.stderr
    assert token not in output and token.split(":", 1)[1] not in output
    assert "Traceback" not in output


async def test_a_rejected_token_ends_the_process_non_zero_without_the_token(tmp_path: Path) -> None:
    token = _token()
    async with FakeTelegram(token=_token(), seed=5) as server:  # knows another token: ours gets 404
        env = _env(tmp_path, BOT_TOKEN=token, TELEGRAM_API_URL=server.api_url)
        done = await asyncio.to_thread(_run_until_exit, env)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert token not in output and token.split(":", 1)[1] not in output
    assert "Traceback" not in output


async def test_a_failed_start_closes_what_it_opened(tmp_path: Path) -> None:
    settings = load_settings(None, LIAISON_DB=str(tmp_path / "f.db"), TELEGRAM_API_URL=f"http://127.0.0.1:{_free_port()}/bot")
    runtime = BotRuntime(settings, token=_token())
    with pytest.raises(Exception):  # noqa: B017 - whatever the failure, start must raise
        await runtime.start()
    assert runtime.db is None and runtime.app is None  # database threads and HTTP clients closed


# --- 4. file modes --------------------------------------------------------------------------------------
def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_wal_shm_and_backups_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual default: files would be 0644 and folders 0755
    try:
        db = await Database.open(tmp_path / "new" / "data" / "liaison.db")
        try:
            await migrate(db)
            await db.backup_to(tmp_path / "backups" / "b.db")
            for name in ("liaison.db", "liaison.db-wal", "liaison.db-shm"):
                assert _mode(tmp_path / "new" / "data" / name) == 0o600, name
        finally:
            await db.close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new" / "data") == 0o700
    assert _mode(tmp_path / "new") == 0o700
    assert _mode(tmp_path / "backups") == 0o700
    assert _mode(tmp_path / "backups" / "b.db") == 0o600


async def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "liaison.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    db = await Database.open(path)
    await db.close()
    assert _mode(path) == 0o600


# --- 5. migrations racing --------------------------------------------------------------------------------
async def test_two_processes_migrating_at_once_both_succeed(tmp_path: Path) -> None:
    path = tmp_path / "liaison.db"
    first, second = await Database.open(path), await Database.open(path)
    try:
        results = await asyncio.gather(migrate(first), migrate(second))
        versions = [m.version for m in discover()]
        assert sorted(results[0] + results[1]) == versions  # each applied exactly once, by one of them
        rows = await first.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == versions
    finally:
        await first.close()
        await second.close()


async def test_the_bot_runs_after_a_webhook_config_is_fixed(tmp_path: Path, tg: FakeTelegram) -> None:
    port = _free_port()
    settings = load_settings(None, LIAISON_DB=str(tmp_path / "w.db"), TELEGRAM_API_URL=tg.api_url,
                             LIAISON_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
                             LIAISON_WEBHOOK_SECRET="a-long-enough_secret-123", LIAISON_LISTEN=f"127.0.0.1:{port}")
    runtime = BotRuntime(settings, token=tg.token)
    await runtime.start()
    try:
        user = tg.create_user("Amy", language_code="en")
        await user.send("/help")
        assert "/start" in ((await user.next_message()).text or "")
    finally:
        await runtime.stop()
