"""A read-only snapshot of the database for one worker thread (the SQLite side of long reads).

A large export reads hundreds of thousands of rows: it runs in a worker thread (never on the event
loop) with its own read-only connection, inside one transaction, so every sheet sees the same
picture while the bot keeps writing (WAL: readers beside the writer). Feature storage modules use
this through its methods only (`fetchval`, `rows`, `tables`); the driver stays here. Opened
on a PostgreSQL `Database`, the same object reads through one REPEATABLE READ, READ ONLY
transaction on a connection of its own (rows through a server-side cursor).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

if TYPE_CHECKING:
    from storage.db import Database

__all__ = ["ReadSnapshot", "readonly_uri"]


def readonly_uri(path: Path) -> str:
    return f"file:{quote(str(Path(path).resolve()))}?mode=ro"


class ReadSnapshot:
    """One consistent read-only picture of the database, used by the thread that opened it."""

    def __init__(self, source: Path | Database) -> None:
        url = getattr(source, "url", None) if getattr(source, "dialect", "sqlite") == "postgresql" else None
        self._pg = url is not None
        self._cursors = 0
        if url is not None:
            import psycopg

            from storage.pg import ADAPTERS

            self._conn: Any = psycopg.connect(url, context=ADAPTERS)
            self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return
        path = source if isinstance(source, Path) else source.path
        self._conn = sqlite3.connect(readonly_uri(path), uri=True, check_same_thread=True)
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute("BEGIN")  # every read below sees the database as at the first one

    def _sql(self, sql: str) -> str:
        if not self._pg:
            return sql
        from storage.pg import translate

        return translate(sql)

    def tables(self) -> set[str]:
        if self._pg:
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {str(r[0]) for r in self._conn.execute(sql)}

    def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._conn.execute(self._sql(sql), list(params)).fetchone()
        return None if row is None else row[0]

    def rows(self, sql: str, params: Sequence[Any] = (), batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """The result's rows as tuples, fetched `batch` at a time (memory stays flat)."""
        for chunk in self.batches(sql, params, batch):
            yield from chunk

    def batches(self, sql: str, params: Sequence[Any] = (), size: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
        """The result's rows as lists of up to `size` tuples (memory stays flat)."""
        if self._pg:
            self._cursors += 1
            with self._conn.cursor(name=f"snapshot_rows_{self._cursors}") as server_side:  # rows stay there
                server_side.itersize = size
                server_side.execute(self._sql(sql), list(params))
                while chunk := server_side.fetchmany(size):
                    yield [tuple(row) for row in chunk]
            return
        cur = self._conn.execute(sql, list(params))
        while chunk := cur.fetchmany(size):
            yield chunk

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
