"""The SQLite backend of the portable query interface (storage/db.py): one file, WAL, one
serialised writer.

Reads go through a reader connection (WAL lets them run beside a write); every write
transaction goes through the single writer connection behind an asyncio lock and starts
with ``BEGIN IMMEDIATE``, so two tasks never interleave statements inside a transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite

from storage.db import Database, Params, Row, SyncTx, T, Tx, private_file

BUSY_TIMEOUT_MS = 10_000


class SqliteTx(Tx):
    """A write transaction in progress (valid only inside `Database.transaction`).

    Each statement is ONE trip to the connection's thread (aiosqlite's cursor API takes
    three: execute, fetch, close); those hand-offs were the largest cost of a query.
    """

    def __init__(self, conn: aiosqlite.Connection, *, begin: bool = False) -> None:
        self._conn = conn
        # A write transaction's BEGIN IMMEDIATE travels with its first statement (one hop less).
        self.begin_pending = begin

    async def _run(self, fn: Callable[[sqlite3.Connection, str, Any], T], sql: str, params: Any) -> T:
        if self.begin_pending:
            self.begin_pending = False
            return await _on_thread(self._conn, partial(_begin_then, fn), sql, params)
        return await _on_thread(self._conn, fn, sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows changed."""
        return await self._run(_rowcount, sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT and return the new row id."""
        rowid = await self._run(_lastrowid, sql, params)
        if rowid is None:
            raise RuntimeError("INSERT produced no row id")
        return rowid

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        return await self._run(_executemany, sql, list(rows))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await self._run(fetch_one, sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._run(fetch_all, sql, params)



class SqliteSyncTx(SyncTx):
    """The work of `Database.write` runs on the database's own thread, so these are plain calls."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> int:
        return _rowcount(self._conn, sql, params)

    def insert(self, sql: str, params: Params = ()) -> int:
        rowid = _lastrowid(self._conn, sql, params)
        if rowid is None:
            raise RuntimeError("INSERT produced no row id")
        return rowid

    def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        return _executemany(self._conn, sql, list(rows))

    def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return fetch_one(self._conn, sql, params)

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return fetch_all(self._conn, sql, params)

    def rows(self, sql: str, params: Params = ()) -> Generator[Row, None, None]:
        cur = self._conn.execute(sql, params)
        try:
            yield from cur
        finally:
            cur.close()



class SqliteDatabase(Database):
    """Owns the writer and reader connections of one SQLite file."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._read_tx = SqliteTx(reader)
        self.writes = 0  # committed write transactions (cheap counter for tests and benchmarks)
        # One-trip writes waiting for the next trip, and the task handing them over (see `write`).
        self._queued: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._handing: asyncio.Task[None] | None = None

    @classmethod
    async def open_file(cls, path: str | Path) -> SqliteDatabase:
        path = Path(path)
        if str(path) != ":memory:":
            private_file(path)  # SQLite gives the -wal and -shm files the database file's mode
        writer = await _connect(path)
        await _pragma(writer, "PRAGMA journal_mode=WAL")
        reader = await _connect(path)
        return cls(path, writer, reader)

    async def close(self) -> None:
        if self._handing is not None:
            await asyncio.shield(self._handing)
        async with self._write_lock:
            await self._writer.close()
        await self._reader.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction: BEGIN IMMEDIATE ... COMMIT, rolled back on error."""
        async with self._write_lock:
            tx = SqliteTx(self._writer, begin=True)  # BEGIN IMMEDIATE is sent with the first statement
            try:
                yield tx
            except BaseException:
                if self._writer.in_transaction:
                    await self._writer.rollback()
                raise
            else:
                if self._writer.in_transaction:
                    await self._writer.commit()
                self.writes += 1

    async def write(self, work: Callable[[SyncTx], T]) -> T:
        """A whole write transaction run in one trip to the writer's thread (group-committed).

        For hot paths (a sign-up): `work` runs plain, quick SQL on the `SyncTx` it is given
        and closes its cursors; it must depend only on what the database holds (it may run twice,
        see below). If it raises, its changes are rolled back and the error re-raised here.

        Writes made while a trip is under way are handed over together in the next trip: one
        BEGIN IMMEDIATE, each `work` in turn (each sees the ones before it, exactly as if they had
        been separate transactions in that order), one COMMIT; every caller returns once its work
        is committed. Under load this replaces a thread hand-off, a GIL hand-back per statement and
        a commit per write by one per batch. If a work in a batch raises, the batch is rolled back
        and each of its works runs again in a transaction of its own, so one failure cannot undo
        or fail another caller's write.

        A trip is never handed over while a `transaction()` holds the write lock, and the writer's
        thread runs trips one at a time in hand-over order, so a batch cannot land between the
        statements of a multi-trip transaction.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((lambda conn: work(SqliteSyncTx(conn)), future))
        if self._handing is None:
            self._handing = asyncio.create_task(self._hand_over())
        return await future

    async def _hand_over(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                works = [work for work, _ in batch]
                try:
                    if self._write_lock.locked():
                        async with self._write_lock:
                            outcomes = await _on_thread(self._writer, _batch_transaction, "", works)
                    else:
                        outcomes = await _on_thread(self._writer, _batch_transaction, "", works)
                except Exception as exc:  # noqa: BLE001 - the connection failed (closed, disk full...): every caller gets it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException:  # cancelled (shutting down): so are the callers
                    for _, future in batch:
                        future.cancel()
                    raise
                self.writes += len({id(o.batch) for o in outcomes if o.batch is not None})
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # the caller was cancelled; its work ran anyway
                        continue
                    if outcome.error is not None:
                        future.set_exception(outcome.error)
                    else:
                        future.set_result(outcome.value)
        finally:
            self._handing = None

    # Reads (outside any write transaction) -------------------------------------------------
    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await self._read_tx.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._read_tx.fetchall(sql, params)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        return await self._read_tx.fetchval(sql, params)

    async def tables(self) -> list[str]:
        rows = await self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        return [str(r[0]) for r in rows if not str(r[0]).startswith("sqlite_")]

    async def columns(self, table: str) -> list[tuple[str, bool]]:
        rows = await self.fetchall(f"PRAGMA table_info({table})")
        return [(str(r["name"]), bool(r["notnull"]) and r["dflt_value"] is None and not r["pk"]) for r in rows]

    async def checkpoint(self) -> None:
        """Fold the WAL back into the main file (used before backups and byte-level checks)."""
        async with self._write_lock:
            await _pragma(self._writer, "PRAGMA wal_checkpoint(TRUNCATE)")

    async def integrity_check(self) -> str:
        return str(await self.fetchval("PRAGMA integrity_check"))

    async def backup_to(self, target: str | Path) -> None:
        """SQLite online backup of the live database into `target` (overwritten)."""
        target = Path(target)
        private_file(target)
        async with self._write_lock:
            dest = await aiosqlite.connect(str(target))
            try:
                await self._writer.backup(dest)
            finally:
                await dest.close()


async def _on_thread(
    conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection, str, Any], T], sql: str, params: Any
) -> T:
    """Run `fn(sqlite3_connection, sql, params)` on the aiosqlite connection's thread in one hop."""
    # aiosqlite's own queueing primitive (private, stable since 0.17): one future per call.
    result: T = await conn._execute(fn, conn._conn, sql, params)  # type: ignore[no-untyped-call]  # untyped upstream
    return result


def _begin_then(fn: Callable[[sqlite3.Connection, str, Any], T], conn: sqlite3.Connection, sql: str, params: Any) -> T:
    conn.execute("BEGIN IMMEDIATE").close()
    return fn(conn, sql, params)


class _Outcome:
    """What one work of a batch gave: its value or its error, and which transaction committed it."""

    __slots__ = ("batch", "error", "value")

    def __init__(self, batch: object, value: Any = None, error: Exception | None = None) -> None:
        self.batch = batch
        self.value = value
        self.error = error


def _run_works(conn: sqlite3.Connection, works: Sequence[Callable[[sqlite3.Connection], Any]]) -> list[_Outcome]:
    """BEGIN IMMEDIATE, every work, COMMIT; the first error rolls everything back and is raised."""
    token = object()
    conn.execute("BEGIN IMMEDIATE").close()
    try:
        values = [work(conn) for work in works]
        conn.commit()
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return [_Outcome(token, value) for value in values]


def _batch_transaction(
    conn: sqlite3.Connection, sql: str, works: Sequence[Callable[[sqlite3.Connection], Any]]
) -> list[_Outcome]:
    try:
        return _run_works(conn, works)
    except Exception as exc:  # noqa: BLE001 - handed to the caller of `write`, who gets it raised
        if len(works) == 1:
            return [_Outcome(None, error=exc)]
    # One of them failed: each again on its own, so the others are not lost with it.
    outcomes: list[_Outcome] = []
    for work in works:
        try:
            outcomes.extend(_run_works(conn, [work]))
        except Exception as exc:  # noqa: BLE001 - handed to the caller of `write`, who gets it raised
            outcomes.append(_Outcome(None, error=exc))
    return outcomes


def _rowcount(conn: sqlite3.Connection, sql: str, params: Any) -> int:
    cur = conn.execute(sql, params)
    try:
        return cur.rowcount
    finally:
        cur.close()


def _lastrowid(conn: sqlite3.Connection, sql: str, params: Any) -> int | None:
    cur = conn.execute(sql, params)
    try:
        return cur.lastrowid
    finally:
        cur.close()


def _executemany(conn: sqlite3.Connection, sql: str, rows: Any) -> int:
    cur = conn.executemany(sql, rows)
    try:
        return max(cur.rowcount, 0)
    finally:
        cur.close()


def fetch_one(conn: sqlite3.Connection, sql: str, params: Any) -> sqlite3.Row | None:
    """One row of `sql`, its cursor closed (for `work` functions run by `Database.write`)."""
    cur = conn.execute(sql, params)
    try:
        row: sqlite3.Row | None = cur.fetchone()
        return row
    finally:
        cur.close()


def fetch_all(conn: sqlite3.Connection, sql: str, params: Any) -> list[Row]:
    """All rows of `sql`, its cursor closed (for `work` functions run by `Database.write`)."""
    cur = conn.execute(sql, params)
    try:
        return list(cur.fetchall())
    finally:
        cur.close()


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    conn.row_factory = sqlite3.Row
    # secure_delete: erased personal data is overwritten with zeros, not left in free space
    # (SQLite's compiled default differs between builds, so it is set explicitly).
    for pragma in (
        f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
        "PRAGMA foreign_keys=ON",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA secure_delete=ON",
    ):
        await _pragma(conn, pragma)
    return conn


async def _pragma(conn: aiosqlite.Connection, statement: str) -> None:
    """Run a PRAGMA and finish its statement (an open cursor would keep a lock)."""
    async with conn.execute(statement) as cursor:
        await cursor.fetchall()
