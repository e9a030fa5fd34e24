"""The PostgreSQL backend of the portable query interface (psycopg 3 and psycopg_pool).

Chosen by `LIAISON_DATABASE_URL=postgresql://...` (storage/backend.py). What differs from SQLite
stays here:

* Statements are written with `?` (and `:name`) placeholders; `translate` turns them into psycopg's
  `%s` / `%(name)s` once per distinct statement (cached), doubling every literal `%`, and
  maps the few type names that differ (`REAL` is float4 in PostgreSQL: DOUBLE PRECISION instead).
* Parameters: strings go untyped (the server takes the type the context needs), ints as integers,
  bools as the integers 0/1 SQLite stores; `? IS NULL` gets a cast (an untyped NULL has no type to
  test). Results of `numeric` (SUM, AVG of integers) come back as int when whole, else float, as
  SQLite gives them.
* Rows are `storage.rows.PgRow`: `row[0]` and `row["col"]` like `sqlite3.Row`.
* Write transactions are serialised, as SQLite's single writer serialises them, across every
  process using the database: each takes `pg_advisory_xact_lock(WRITE_LOCK)` first (sent together
  with its BEGIN: one round trip), so the read-check-write sequences of the feature modules (a
  seat counted then taken, a migration checked then applied) keep SQLite's semantics.
  Reads run on pooled connections in autocommit, beside the writes, as SQLite's WAL readers do.
* `write(work)`: `work` runs synchronously in a worker thread on a connection of a small
  synchronous pool, inside a transaction; writes queued meanwhile are group-committed together.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg.adapt import AdaptersMap, Dumper, Loader
from psycopg.rows import RowMaker
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from storage.db import Database, Params, Row, SyncTx, Tx
from storage.rows import PgRow, row_class

T = TypeVar("T")
WRITE_LOCK = 0x4C49_4149  # 'LIAI': the advisory lock every write transaction holds
BEGIN_WRITE = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"

# --- statements ----------------------------------------------------------------------------------
_TOKENS = re.compile(
    r"""'(?:[^']|'')*'"""  # string literal
    r'''|"(?:[^"]|"")*"'''  # quoted identifier
    r"|--[^\n]*"  # comment
    r"|::"  # a cast (never a named placeholder)
    r"|\?"  # positional placeholder
    r"|(?<![\w:]):([A-Za-z_]\w*)"  # named placeholder
    r"|%"
    r"|\bREAL\b",
    re.IGNORECASE,
)
_IS_NULL = re.compile(r"\s+IS\s+(?:NOT\s+)?NULL\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """SQLite-style placeholders to psycopg's, every literal `%` doubled (psycopg reads them all)."""

    def one(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "?":
            # `? IS NULL` needs a type to test an untyped value
            return "%s::text" if _IS_NULL.match(sql, match.end()) else "%s"
        if text == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        if text.upper() == "REAL":
            return "DOUBLE PRECISION"
        return text.replace("%", "%%")  # psycopg reads % everywhere, also inside quotes

    return _TOKENS.sub(one, sql)


def _params(params: Params) -> Params:
    return params if isinstance(params, dict) else tuple(params)


# --- adaptation ----------------------------------------------------------------------------------
class _BoolAsInt(Dumper):
    """A bool as the integer SQLite stores (flags are INTEGER columns, 0 or 1)."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class _Numeric(Loader):
    """numeric results (SUM/AVG of integers): int when whole, else float, as SQLite returns them."""

    def load(self, data: Any) -> Any:
        text = bytes(data).decode()
        if text.lstrip("-").isdigit():
            return int(text)
        return float(text)


ADAPTERS = AdaptersMap(psycopg.adapters)
ADAPTERS.register_dumper(bool, _BoolAsInt)
ADAPTERS.register_loader("numeric", _Numeric)


def _row_factory(cursor: Any) -> RowMaker[PgRow]:
    description = cursor.description
    if description is None:
        return row_class(())
    return row_class(tuple(column.name for column in description))


def _connect_kwargs() -> dict[str, Any]:
    return {"autocommit": True, "row_factory": _row_factory, "context": ADAPTERS}


# No JIT compilation: the bot's statements are short, and PostgreSQL's cost model compiled a
# district's /stats over three city-wide notices for 846 ms of its 1.2 s (bench/scale.py).
SESSION_SETTINGS = "SET jit = off"


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute(SESSION_SETTINGS)


def _configure_sync(conn: psycopg.Connection[Any]) -> None:
    conn.execute(SESSION_SETTINGS)


def _transaction(conn: psycopg.Connection[Any], works: Sequence[Callable[[SyncTx], Any]]) -> list[Any]:
    """BEGIN (with the write lock), every work, COMMIT; any error rolls back and is raised."""
    conn.execute(BEGIN_WRITE)
    try:
        values = [work(PgSyncTx(conn)) for work in works]
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return values


def _insert_returning(sql: str) -> str:
    stripped = sql.rstrip().rstrip(";")
    return stripped if re.search(r"\bRETURNING\b", stripped, re.IGNORECASE) else stripped + " RETURNING id"


# --- transactions --------------------------------------------------------------------------------
class PgTx(Tx):
    __slots__ = ("_conn", "begin_pending")

    def __init__(self, conn: psycopg.AsyncConnection[Any], *, begin: bool = False) -> None:
        self._conn = conn
        self.begin_pending = begin

    def skip_locked(self, of: str | None = None) -> str:
        return f" FOR UPDATE OF {of} SKIP LOCKED" if of else " FOR UPDATE SKIP LOCKED"

    async def refresh_statistics(self, table: str) -> None:
        await self.execute(f"ANALYZE {table}")

    async def _cursor(self, sql: str, params: Params) -> psycopg.AsyncCursor[Any]:
        if self.begin_pending:
            self.begin_pending = False
            await self._conn.execute(BEGIN_WRITE)
        return await self._conn.execute(translate(sql), _params(params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        return (await self._cursor(sql, params)).rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        row = await (await self._cursor(_insert_returning(sql), params)).fetchone()
        if row is None:
            raise RuntimeError("INSERT produced no row id")
        return int(row[0])

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        batch = [_params(r) for r in rows]
        if not batch:
            return 0
        if self.begin_pending:
            self.begin_pending = False
            await self._conn.execute(BEGIN_WRITE)
        async with self._conn.cursor() as cur:
            await cur.executemany(translate(sql), batch)
            return max(cur.rowcount, 0)  # psycopg sums the rows of every statement

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row: PgRow | None = await (await self._cursor(sql, params)).fetchone()
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await (await self._cursor(sql, params)).fetchall())


class PgSyncTx(SyncTx):
    __slots__ = ("_conn",)

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(translate(sql), _params(params)).rowcount

    def insert(self, sql: str, params: Params = ()) -> int:
        row = self._conn.execute(translate(_insert_returning(sql)), _params(params)).fetchone()
        if row is None:
            raise RuntimeError("INSERT produced no row id")
        return int(row[0])

    def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        batch = [_params(r) for r in rows]
        if not batch:
            return 0
        with self._conn.cursor() as cur:
            cur.executemany(translate(sql), batch)
            return max(cur.rowcount, 0)

    def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row: PgRow | None = self._conn.execute(translate(sql), _params(params)).fetchone()
        return row

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(self._conn.execute(translate(sql), _params(params)).fetchall())

    def rows(self, sql: str, params: Params = ()) -> Generator[Row, None, None]:
        # psycopg holds the whole result client-side; its rows are built as they are read
        with self._conn.execute(translate(sql), _params(params)) as cur:
            yield from cur


class PgDatabase(Database):
    """A PostgreSQL database through an async pool (transactions, reads) and a small sync pool
    (one-trip `write`s)."""

    dialect = "postgresql"

    def __init__(self, url: str, pool: AsyncConnectionPool[Any], sync_pool: ConnectionPool[Any]) -> None:
        self.url = url
        name = (urlsplit(url).path or "/").lstrip("/") or "postgres"
        self.path = Path(f"/nonexistent/postgresql/{name}")  # no file: SQLite-only code fails loudly
        self._pool = pool
        self._sync_pool = sync_pool
        self._write_lock = asyncio.Lock()
        self.writes = 0
        self._queued: list[tuple[Callable[[SyncTx], Any], asyncio.Future[Any]]] = []
        self._handing: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str, *, max_size: int = 10) -> PgDatabase:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=max_size, kwargs=_connect_kwargs(), open=False, name="liaison",
            configure=_configure,
        )
        await pool.open(wait=True, timeout=30)
        sync_pool: ConnectionPool[Any] = ConnectionPool(
            url, min_size=1, max_size=4, kwargs=_connect_kwargs(), open=False, name="liaison-sync",
            configure=_configure_sync,
        )
        try:
            await asyncio.to_thread(sync_pool.open, True, 30)
        except BaseException:
            await pool.close()
            raise
        return cls(url, pool, sync_pool)

    async def close(self) -> None:
        if self._handing is not None:
            await asyncio.shield(self._handing)
        async with self._write_lock:
            await self._pool.close()
            await asyncio.to_thread(self._sync_pool.close)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._write_lock, self._pool.connection() as conn:
            tx = PgTx(conn, begin=True)  # BEGIN and the write lock travel with the first statement
            try:
                yield tx
            except BaseException:
                if not tx.begin_pending:
                    await conn.execute("ROLLBACK")
                raise
            if not tx.begin_pending:
                await conn.execute("COMMIT")
            self.writes += 1

    async def write(self, work: Callable[[SyncTx], T]) -> T:
        """`work` runs synchronously in a worker thread inside a write transaction.

        Group-committed as on SQLite: works queued while a batch is under way go together in the
        next one (one thread hop, one BEGIN and write lock, one COMMIT); if one of them raises, the
        batch is rolled back and each runs again alone, so no caller's write is lost or failed by
        another's. Each caller returns once its work is committed.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((work, future))
        if self._handing is None:
            self._handing = asyncio.create_task(self._hand_over())
        return await future

    async def _hand_over(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                try:
                    outcomes, commits = await asyncio.to_thread(self._run_batch, [work for work, _ in batch])
                except Exception as exc:  # noqa: BLE001 - the connection failed: every caller gets it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException:  # cancelled (shutting down): so are the callers
                    for _, future in batch:
                        future.cancel()
                    raise
                self.writes += commits
                for (_, future), (value, error) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if error is not None:
                        future.set_exception(error)
                    else:
                        future.set_result(value)
        finally:
            self._handing = None

    def _run_batch(self, works: list[Callable[[SyncTx], Any]]) -> tuple[list[tuple[Any, Exception | None]], int]:
        with self._sync_pool.connection() as conn:
            try:
                return [(value, None) for value in _transaction(conn, works)], 1
            except Exception as exc:  # noqa: BLE001 - handed to the caller of `write`
                if len(works) == 1:
                    return [(None, exc)], 0
            outcomes: list[tuple[Any, Exception | None]] = []
            commits = 0
            for work in works:  # one failed: each again on its own, so the others are not lost with it
                try:
                    outcomes.append((_transaction(conn, [work])[0], None))
                    commits += 1
                except Exception as exc:  # noqa: BLE001 - handed to the caller of `write`
                    outcomes.append((None, exc))
            return outcomes, commits

    async def execute_alone(self, sql: str, params: Params = ()) -> int:
        """An atomic statement on a pooled autocommit connection, without the write lock (leases)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(translate(sql), _params(params))
            return int(cursor.rowcount)

    # Reads (outside any write transaction) ---------------------------------------------------
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._pool.connection() as conn:
            row: PgRow | None = await (await conn.execute(translate(sql), _params(params))).fetchone()
            return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._pool.connection() as conn:
            return list(await (await conn.execute(translate(sql), _params(params))).fetchall())

    async def checkpoint(self) -> None:
        """Nothing to fold back: a committed PostgreSQL transaction is already in the server's care."""

    async def integrity_check(self) -> str:
        return "ok" if await self.fetchval("SELECT 1") == 1 else "unreachable"

    async def backup_to(self, target: str | Path) -> None:
        """A consistent SQLite copy of every table (the same file format as SQLite's backups)."""
        from storage.copy import copy_to_sqlite_file

        await copy_to_sqlite_file(self, Path(target))

    async def tables(self) -> list[str]:
        rows = await self.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        return [str(r[0]) for r in rows]

    async def columns(self, table: str) -> list[tuple[str, bool]]:
        rows = await self.fetchall(
            "SELECT column_name, is_nullable, column_default, is_identity FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [
            (str(r[0]), r[1] == "NO" and r[2] is None and r[3] != "YES") for r in rows
        ]

    async def run_script(self, statements: Sequence[str]) -> None:
        """Run statements outside any transaction (administration: CREATE DATABASE ...)."""
        async with self._pool.connection() as conn:
            for statement in statements:
                await conn.execute(statement)


# --- schema --------------------------------------------------------------------------------------
_DDL_TOKENS = re.compile(
    r"""'(?:[^']|'')*'"""
    r"|\bid\s+INTEGER\s+PRIMARY\s+KEY(?:\s+AUTOINCREMENT)?\b"
    r"|\bINTEGER\b|\bREAL\b|\bBLOB\b|\bAUTOINCREMENT\b",
    re.IGNORECASE,
)
_DDL_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA", "AUTOINCREMENT": ""}


def translate_ddl(statement: str) -> str:
    """A migration statement written for SQLite, in PostgreSQL's words.

    SQLite's INTEGER is 64-bit (Telegram ids need it): BIGINT. A table's `id INTEGER PRIMARY KEY`
    (SQLite's rowid alias, assigned on insert) becomes an identity column; other INTEGER PRIMARY
    KEYs (a user id, a chat id) are plain BIGINT keys, given by the application. REAL is float4 in
    PostgreSQL: DOUBLE PRECISION. Anything this cannot express goes in an `NNNN_name.pg.sql` file
    beside the SQLite one, which then replaces it on PostgreSQL.
    """

    def one(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.startswith("'"):
            return text
        if text.lower().startswith("id"):
            return "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        return _DDL_TYPES[text.upper()]

    return _DDL_TOKENS.sub(one, statement)
