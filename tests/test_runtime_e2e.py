"""Runtime modes end to end: webhook with secret header, restart, update ordering, CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
from telegram import Update

from bot.runtime import BotRuntime
from bot.updates import PerUserUpdateProcessor, ordering_key
from sandbox.server import FakeTelegram
from tests.conftest import StartBot

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_processes_updates_with_the_right_secret(tg: FakeTelegram, start_bot: StartBot) -> None:
    port = _free_port()
    await start_bot(
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_secret="s3cret-Token_1-long-enough",
        listen=f"127.0.0.1:{port}",
    )
    user = tg.create_user("Webhook Wu", language_code="en")
    await user.send("/start")
    assert "Hello, Webhook Wu" in (await user.next_message()).text


async def test_webhook_rejects_missing_or_wrong_secret(tg: FakeTelegram, start_bot: StartBot) -> None:
    port = _free_port()
    await start_bot(
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_secret="s3cret-Token_1-long-enough",
        listen=f"127.0.0.1:{port}",
    )
    victim = tg.create_user("Target", language_code="en")
    forged = {
        "update_id": 999_999,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": victim.id, "type": "private", "first_name": "Target"},
            "from": {"id": victim.id, "is_bot": False, "first_name": "Target"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    url = f"http://127.0.0.1:{port}/telegram"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=forged) as missing:
            assert missing.status == 403
        headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        async with session.post(url, json=forged, headers=headers) as wrong:
            assert wrong.status == 403
    await asyncio.sleep(0.3)
    assert victim.inbox == []


async def test_start_payload_with_unknown_prefix_is_a_clear_message(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Link Li", language_code="en")
    await user.send("/start zzz_not-a-thing")
    assert "invalid or has expired" in (await user.next_message()).text


def _update(update_id: int, user_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "x"},
                "text": "t",
            },
        },
        None,
    )


async def test_one_users_updates_run_in_order_while_users_run_concurrently() -> None:
    processor = PerUserUpdateProcessor(64)
    log: list[tuple[int, int]] = []
    gate = asyncio.Event()

    async def handle(user_id: int, n: int, delay: float) -> None:
        if user_id == 1 and n == 0:
            await gate.wait()  # user 1's first update is slow
        await asyncio.sleep(delay)
        log.append((user_id, n))

    async with processor:
        tasks = [
            asyncio.create_task(processor.process_update(_update(i, 1), handle(1, i, 0))) for i in range(3)
        ]
        tasks.append(asyncio.create_task(processor.process_update(_update(10, 2), handle(2, 0, 0))))
        await asyncio.sleep(0.05)
        assert log == [(2, 0)], "user 2 was not held up by user 1"
        gate.set()
        await asyncio.gather(*tasks)
    assert [n for uid, n in log if uid == 1] == [0, 1, 2]
    assert ordering_key(_update(5, 42)) == 42


def _cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=env["HOME"], env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), **extra}


def test_cli_migrate_then_backup_produces_a_valid_copy(tmp_path: Path) -> None:
    env = _env(tmp_path, LIAISON_DB=str(tmp_path / "live.db"))
    first = _cli("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied migrations: [1" in first.stdout
    again = _cli("migrate", env=env)
    assert "up to date" in again.stdout
    backup = _cli("backup", str(tmp_path / "copy.db"), env=env)
    assert backup.returncode == 0, backup.stderr
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] >= 1


def test_no_token_starts_the_sandbox_and_says_so(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path)
    with subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path, env={**env, "LIAISON_SANDBOX_PORT": str(port)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    ) as proc:
        assert proc.stdout is not None
        lines = []
        for _ in range(40):
            line = proc.stdout.readline()
            lines.append(line)
            if "Web chat: http://" in line:
                break
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    output = "".join(lines)
    assert "BOT_TOKEN is not set: starting the local sandbox" in output
    assert f"Web chat: http://127.0.0.1:{port}/" in output
    assert proc.returncode == 0

