"""The portable query interface (`Database`, `Tx`, `SyncTx`, `Row`) every repository uses.

Two backends implement it: SQLite (storage/sqlite.py, the embedded default) and PostgreSQL
(storage/pg.py); `storage/backend.open_database` chooses between them. This package is the only
place that knows SQL.
"""

from __future__ import annotations

import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from storage.rows import PgRow

Params = Sequence[Any] | dict[str, Any]
# What the database raises (for layers that do not import a driver): either backend's errors.
StorageError: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
# A result row: by position (row[0]) and by column name (row["id"]). Feature code names this type,
# never the driver's; both backends' rows behave the same.
Row = sqlite3.Row | PgRow
T = TypeVar("T")


class Tx(ABC):
    """A write transaction in progress (valid only inside `Database.transaction`)."""

    def skip_locked(self, of: str | None = None) -> str:
        """The clause that ends a claiming SELECT (due rows about to be acted on in this transaction).

        PostgreSQL: ` FOR UPDATE [OF alias] SKIP LOCKED` — the rows are locked until the commit and
        a second process claiming at the same moment passes over them instead of acting on them too.
        SQLite: nothing; its single writer (BEGIN IMMEDIATE) already keeps every other claimer out.
        """
        return ""

    async def refresh_statistics(self, table: str) -> None:
        """After a bulk write (a city-wide notice: 1,000,000 outbox rows), let the planner know.

        PostgreSQL: ANALYZE (a sample, ~0.25 s at a million rows) in this transaction, committed
        with the rows: until autovacuum's next pass the planner took the outbox for nearly empty and
        probed memberships once per outbox row (a district's /stats: 0.4 -> 2.1-3.1 s).
        SQLite: nothing (its planner does not wait for statistics).
        """
        return

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows changed."""

    @abstractmethod
    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT and return the new row's id."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement per row; return the number of rows changed (inserted, updated)."""

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class SyncTx(ABC):
    """The portable statements of a one-trip write (`Database.write`), the same names as `Tx`'s."""

    __slots__ = ()

    @abstractmethod
    def execute(self, sql: str, params: Params = ()) -> int: ...

    @abstractmethod
    def insert(self, sql: str, params: Params = ()) -> int: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Params]) -> int: ...

    @abstractmethod
    def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = self.fetchone(sql, params)
        return None if row is None else row[0]

    def rows(self, sql: str, params: Params = ()) -> Generator[Row, None, None]:
        """The rows of `sql`, each built only when the caller gets to it: a caller that stops early
        (`close()` the generator then) pays for the rows it used, not for all it asked for."""
        yield from self.fetchall(sql, params)


class Database(ABC):
    """A database: write transactions, one-trip writes, reads outside any transaction."""

    dialect: str = "sqlite"
    path: Path  # the SQLite file (PostgreSQL: a stand-in name, never opened as a file)
    writes: int  # committed write transactions (cheap counter for tests and benchmarks)

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        """Open (creating) the SQLite database file at `path`."""
        from storage.sqlite import SqliteDatabase  # the backend imports this interface

        return await SqliteDatabase.open_file(path)

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A write transaction, rolled back on error; write transactions never interleave."""

    @abstractmethod
    async def write(self, work: Callable[[SyncTx], T]) -> T:
        """A whole write transaction whose `work` runs synchronously (see SqliteDatabase.write)."""

    async def execute_alone(self, sql: str, params: Params = ()) -> int:
        """One statement that is atomic by itself (no read-check-write around it), committed on its
        own; the number of rows it changed. PostgreSQL runs it beside the write transactions, not
        behind their write lock (storage/pg.py): a lease renewal must not wait for a long write.
        SQLite (one writer) runs it as a write transaction."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @abstractmethod
    async def checkpoint(self) -> None:
        """Make everything committed durable in the main store (SQLite: fold the WAL back)."""

    @abstractmethod
    async def integrity_check(self) -> str:
        """'ok' when the database is sound."""

    @abstractmethod
    async def backup_to(self, target: str | Path) -> None:
        """A consistent copy of the live database into the file `target`."""

    @abstractmethod
    async def tables(self) -> list[str]:
        """The names of the application's tables."""

    @abstractmethod
    async def columns(self, table: str) -> list[tuple[str, bool]]:
        """(name, required: NOT NULL without a default) of each column of `table`."""


PRIVATE_FILE = 0o600  # the database holds phone numbers and anonymous complaints: owner only
PRIVATE_DIR = 0o700


def private_file(path: Path) -> None:
    """Create `path` (and missing folders) readable by the owner only; tighten an existing file."""
    missing = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
    for folder in reversed(missing):  # each new folder private (mkdir's parents=True would not make them so)
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(folder, PRIVATE_DIR)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE)
    os.close(fd)
    os.chmod(path, PRIVATE_FILE)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, PRIVATE_FILE)
