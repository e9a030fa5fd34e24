"""Scheduled daily online backups with retention, and a checked restore.

The schedule is a row in `ledger_jobs` (name 'backup', due_at), created when missing (next
03:00 in the configured zone). The one scheduler (handlers/feature.py) runs `run_due` as the
ledger's due work: at start-up (a backup that fell due while the bot was down runs then) and
every few minutes. A run claims the row in a transaction (moving due_at to the next day) before
copying, so a backup never runs twice for one due time, even with two processes. Backups are
SQLite online backups (`Database.backup_to`) named `liaison-YYYYMMDD-HHMMSS.db`; only the
newest `backup_keep` are kept.

`python -m bot.ledger.backup check FILE` / `restore BACKUP TARGET` (the bot stopped).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bot.clock import Clock
from bot.config import Settings
from storage import erasure
from storage import ledger as st
from storage.audit import record
from storage.backupfile import BadFile, copy_file, table_counts
from storage.db import Database, StorageError
from storage.migrations import migrate

log = logging.getLogger(__name__)
JOB = "backup"
PREFIX = "liaison-"
SUFFIX = ".db"
RUN_AT = time(3, 0)  # local time of the daily backup
T = TypeVar("T")


class RestoreError(RuntimeError):
    """The backup file is not a sound liaison database."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    removed: list[Path]


def next_run(after: datetime, settings: Settings) -> datetime:
    """The next RUN_AT (local) strictly after `after`."""
    local = after.astimezone(settings.zone)
    candidate = datetime.combine(local.date(), RUN_AT, settings.zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), RUN_AT, settings.zone)
    return candidate


class BackupService:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self._db = db
        self._repo = st.LedgerRepo(db)
        self._settings = settings
        self._clock = clock
        self._armed = False

    @property
    def enabled(self) -> bool:
        return self._settings.backup_dir is not None

    async def arm(self) -> datetime | None:
        """Ensure the schedule row exists; return its due time (None when backups are off)."""
        if not self.enabled:
            return None
        async with self._db.transaction() as tx:
            await st.ensure_job(tx, JOB, next_run(self._clock.now(), self._settings))
        self._armed = True
        return await self.due_at()

    async def run_due(self) -> BackupResult | None:
        """Run the backup if it is due and this caller claims it (the ledger's due work)."""
        if not self.enabled:
            return None
        due = await self.due_at() if self._armed else await self.arm()
        now = self._clock.now()
        if due is None or due > now:
            return None  # not due: no write transaction at all
        async with self._db.transaction() as tx:
            if not await st.claim_job(tx, JOB, now, next_run(now, self._settings)):
                return None
        try:
            result = await self.backup_now()
        except _BACKUP_FAILURES as exc:
            log.error("scheduled backup failed: %r", exc)
            await self._finish(f"failed: {exc!r}", now, "ledger.backup_failed")
            return None
        await self._finish(f"ok: {result.path.name}", now, "ledger.backup")
        return result

    async def _finish(self, result: str, now: datetime, action: str) -> None:
        async with self._db.transaction() as tx:
            await st.set_job_result(tx, JOB, result)
            await record(tx, now, None, action, "job", JOB, {"result": result[:500]})

    async def backup_now(self) -> BackupResult:
        directory = self._settings.backup_dir
        if directory is None:
            raise OSError("LIAISON_BACKUP_DIR is not set")
        stamp = self._clock.now().astimezone(self._settings.zone).strftime("%Y%m%d-%H%M%S")
        target = Path(directory) / f"{PREFIX}{stamp}{SUFFIX}"
        partial = target.with_suffix(".partial")
        await self._db.backup_to(partial)
        check_file(partial)
        partial.replace(target)
        return BackupResult(target, prune(Path(directory), self._settings.backup_keep))

    async def due_at(self) -> datetime | None:
        job = await self._repo.job(JOB)
        return None if job is None else job.due_at


def backups_in(directory: Path) -> list[Path]:
    """Backup files, oldest first (the timestamped names sort chronologically)."""
    return sorted(p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def prune(directory: Path, keep: int) -> list[Path]:
    files = backups_in(directory)
    old = files[: max(0, len(files) - keep)]
    for path in old:
        path.unlink()
    return old


def check_file(path: Path) -> dict[str, int]:
    """Integrity check of a backup file; returns row counts of the main tables."""
    try:
        return table_counts(path)
    except BadFile as exc:
        raise RestoreError(f"{path.name}: {exc}") from exc


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run async storage work from this synchronous tool (on its own thread: callers may have a loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


async def _erasures_of(path: Path) -> list[tuple[str, str, str]]:
    db = await Database.open(path)
    try:
        return await erasure.records(db)
    finally:
        await db.close()


async def _erase_again(path: Path, erased: list[tuple[str, str, str]]) -> int:
    db = await Database.open(path)
    try:
        await migrate(db)
        return await erasure.replay(db, erased, datetime.now(UTC))
    finally:
        await db.close()


def restore(backup: Path, target: Path) -> dict[str, int]:
    """Restore a backup into `target` (the bot must be stopped): check, copy, check again, then
    erase again every member erased in `target` since the backup was taken (its erasure records)."""
    counts = check_file(backup)
    erased = _run(lambda: _erasures_of(target)) if target.exists() else []
    try:
        copy_file(backup, target)
    except BadFile as exc:
        raise RestoreError(f"{backup.name}: {exc}") from exc
    restored = check_file(target)
    if restored != counts:
        raise RestoreError("row counts differ after restore")
    if erased:
        again = _run(lambda: _erase_again(target, erased))
        log.warning("restore: %d member(s) erased since the backup were erased again", again)
    return restored


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.ledger.backup check FILE` / `... restore BACKUP TARGET` (the bot stopped)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bot.ledger.backup", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="integrity check and row counts of a backup file")
    check.add_argument("file", type=Path)
    put = sub.add_parser("restore", help="restore BACKUP into TARGET (the bot must be stopped)")
    put.add_argument("backup", type=Path)
    put.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    try:
        counts = check_file(args.file) if args.command == "check" else restore(args.backup, args.target)
    except RestoreError as exc:
        print(f"error: {exc}")
        return 1
    for table, count in counts.items():
        print(f"{table}\t{count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


_BACKUP_FAILURES: tuple[type[Exception], ...] = (OSError, RestoreError, *StorageError)
