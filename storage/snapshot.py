"""A read-only snapshot of the database for one worker thread (the SQLite side of long reads).

A large export reads hundreds of thousands of rows: it runs in a worker thread (never on the event
loop) with its own read-only connection, inside one transaction, so every sheet sees the same
picture while the bot keeps writing (WAL: readers beside the writer). Feature storage modules use
this through its methods only (`fetchval`, `rows`, `tables`); the driver stays here, so a
PostgreSQL backend gives the same object over a REPEATABLE READ transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

__all__ = ["ReadSnapshot", "readonly_uri"]


def readonly_uri(path: Path) -> str:
    return f"file:{quote(str(Path(path).resolve()))}?mode=ro"


class ReadSnapshot:
    """One consistent read-only picture of the database, used by the thread that opened it."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(readonly_uri(path), uri=True, check_same_thread=True)
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute("BEGIN")  # every read below sees the database as at the first one

    def tables(self) -> set[str]:
        return {str(r[0]) for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._conn.execute(sql, list(params)).fetchone()
        return None if row is None else row[0]

    def rows(self, sql: str, params: Sequence[Any] = (), batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """The result's rows as tuples, fetched `batch` at a time (memory stays flat)."""
        cur = self._conn.execute(sql, list(params))
        while True:
            chunk = cur.fetchmany(batch)
            if not chunk:
                return
            yield from chunk

    def close(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
