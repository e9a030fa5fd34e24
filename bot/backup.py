"""Scheduled daily online backups with retention, and a checked restore.

The schedule is a row in `ledger_jobs` (name 'backup', due_at). At start-up the row is
created if missing (next 03:00 in the configured zone) and a job is armed for it; a run
claims the row in a transaction (moving due_at to the next day) before copying, so a
backup never runs twice for one due time, and one that fell due while the bot was down
runs at start. Backups are SQLite online backups (`Database.backup_to`) named
`liaison-YYYYMMDD-HHMMSS.db`; only the newest `backup_keep` are kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from bot.clock import Clock
from bot.config import Settings
from storage.backupfile import BadFile, copy_file, table_counts
from storage.db import Database, StorageError
from storage.ledger import LedgerRepo

log = logging.getLogger(__name__)
JOB = "backup"
PREFIX = "liaison-"
SUFFIX = ".db"
RUN_AT = time(3, 0)  # local time of the daily backup


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
    def __init__(self, db: Database, repo: LedgerRepo, settings: Settings, clock: Clock) -> None:
        self._db = db
        self._repo = repo
        self._settings = settings
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._settings.backup_dir is not None

    async def arm(self) -> datetime | None:
        """Ensure the schedule row exists; return its due time (None when backups are off)."""
        if not self.enabled:
            return None
        job = await self._repo.ensure_job(JOB, next_run(self._clock.now(), self._settings))
        return job.due_at

    async def run_due(self) -> BackupResult | None:
        """Run the backup if it is due and this caller claims it; return the next due time's result."""
        if not self.enabled:
            return None
        now = self._clock.now()
        if not await self._repo.claim_job(JOB, now, next_run(now, self._settings)):
            return None
        try:
            result = await self.backup_now()
        except _BACKUP_FAILURES as exc:
            log.error("scheduled backup failed: %r", exc)
            await self._repo.finish_job(JOB, f"failed: {exc!r}", now, None, "ledger.backup_failed")
            return None
        await self._repo.finish_job(JOB, f"ok: {result.path.name}", now, None, "ledger.backup")
        return result

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


def restore(backup: Path, target: Path) -> dict[str, int]:
    """Restore a backup into `target` (the bot must be stopped): check, copy, check again."""
    counts = check_file(backup)
    try:
        copy_file(backup, target)
    except BadFile as exc:
        raise RestoreError(f"{backup.name}: {exc}") from exc
    restored = check_file(target)
    if restored != counts:
        raise RestoreError("row counts differ after restore")
    return restored


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.backup check FILE` / `python -m bot.backup restore BACKUP TARGET` (bot stopped)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bot.backup", description=main.__doc__)
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
