"""Database files outside the running bot: checking a backup, copying one into place.

Used by the backup service and the `python -m bot.ledger.backup` tool (the bot stopped for a restore).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.db import private_file
from storage.snapshot import readonly_uri

__all__ = ["BadFile", "copy_file", "table_counts"]


class BadFile(Exception):
    """The file is not a sound liaison-bot database (the message says why)."""


def table_counts(path: Path) -> dict[str, int]:
    """Integrity check of a database file; row counts of its tables, by name."""
    conn = sqlite3.connect(readonly_uri(path), uri=True)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()
        if verdict is None or verdict[0] != "ok":
            raise BadFile(f"integrity check failed: {verdict}")
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        if "members" not in tables or "schema_migrations" not in tables:
            raise BadFile("not a liaison-bot database")
        return {t: int(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in sorted(tables)}  # noqa: S608
    except sqlite3.DatabaseError as exc:
        raise BadFile(str(exc)) from exc
    finally:
        conn.close()


def copy_file(source: Path, target: Path) -> None:
    """Copy the database `source` over `target` (page by page, consistent), dropping target's WAL leftovers."""
    for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)
    private_file(target)
    src = sqlite3.connect(readonly_uri(source), uri=True)
    dest = sqlite3.connect(str(target))
    try:
        src.backup(dest)
    except sqlite3.DatabaseError as exc:
        raise BadFile(str(exc)) from exc
    finally:
        dest.close()
        src.close()
