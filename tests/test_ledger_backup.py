"""Scheduled online backups: due row, claim once, retention, and a checked restore."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.ledger.backup import RestoreError, backups_in, restore
from bot.ledger.backup import main as backup_cli
from tests.conftest import StartBot
from tests.ledger_helpers import seed


async def test_backup_restores_into_a_fresh_file_with_the_same_counts(
    start_bot: StartBot, tmp_path: Path
) -> None:
    runtime = await start_bot(backup_dir=tmp_path / "backups")
    assert runtime.services is not None and runtime.db is not None
    await seed(runtime.db)
    result = await runtime.services.backup.backup_now()
    restored = tmp_path / "restored.db"
    counts = restore(result.path, restored)
    assert counts["members"] == 7 and counts["member_groups"] == 8 and counts["groups"] == 5
    with sqlite3.connect(restored) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT name FROM members WHERE id = 1").fetchone()[0] == "张伟"


async def test_scheduled_backup_runs_once_per_due_time_and_keeps_the_newest(
    start_bot: StartBot, clock: FakeClock, tmp_path: Path
) -> None:
    runtime = await start_bot(backup_dir=tmp_path / "backups", backup_keep=2)
    services = runtime.services
    assert services is not None
    due = await services.backup.due_at()
    assert due is not None and due > clock.now()
    assert await services.backup.run_due() is None  # not due yet
    for _day in range(3):
        clock.set(due + timedelta(minutes=1))
        assert await services.backup.run_due() is not None
        assert await services.backup.run_due() is None  # already claimed
        next_due = await services.backup.due_at()
        assert next_due is not None and next_due - due == timedelta(days=1)
        due = next_due
    assert len(backups_in(tmp_path / "backups")) == 2


async def test_backup_due_while_down_runs_at_start(start_bot: StartBot, clock: FakeClock, tmp_path: Path) -> None:
    runtime = await start_bot(backup_dir=tmp_path / "backups")
    assert runtime.services is not None
    due = await runtime.services.backup.due_at()
    assert due is not None
    await runtime.stop()
    clock.set(due + timedelta(hours=5))
    await start_bot(backup_dir=tmp_path / "backups")  # the start-up job runs at once
    for _ in range(100):
        if backups_in(tmp_path / "backups"):
            break
        await asyncio.sleep(0.05)
    assert len(backups_in(tmp_path / "backups")) == 1


def test_restore_refuses_a_damaged_file(tmp_path: Path) -> None:
    bad = tmp_path / "liaison-bad.db"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(RestoreError):
        restore(bad, tmp_path / "target.db")


async def test_restore_command_restores_a_backup(
    start_bot: StartBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = await start_bot(backup_dir=tmp_path / "backups")
    assert runtime.services is not None and runtime.db is not None
    await seed(runtime.db)
    result = await runtime.services.backup.backup_now()
    assert backup_cli(["restore", str(result.path), str(tmp_path / "fresh.db")]) == 0
    assert "members\t7" in capsys.readouterr().out
