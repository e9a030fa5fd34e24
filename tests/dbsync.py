"""Plain synchronous access to the test bot's database (the bot stopped), on either backend."""

from __future__ import annotations

import sqlite3
from typing import Any, Protocol

from storage.pg import translate


class DbSettings(Protocol):
    @property
    def database(self) -> str | None: ...

    @property
    def db_path(self) -> Any: ...


def fetchone(settings: DbSettings, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    if settings.database:
        import psycopg

        with psycopg.connect(settings.database, autocommit=True) as conn:
            row = conn.execute(translate(sql), params).fetchone()
            return None if row is None else tuple(row)
    with sqlite3.connect(settings.db_path) as conn:
        found = conn.execute(sql, params).fetchone()
        return None if found is None else tuple(found)


def execute(settings: DbSettings, sql: str, params: tuple[Any, ...] = ()) -> int:
    """Run one statement, committed; return the rows changed."""
    if settings.database:
        import psycopg

        with psycopg.connect(settings.database, autocommit=True) as conn:
            return conn.execute(translate(sql), params).rowcount
    with sqlite3.connect(settings.db_path) as conn:
        return conn.execute(sql, params).rowcount


class _PgConnection:
    """A psycopg connection that takes SQLite-style statements (as the backend does)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self._conn = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self._conn.execute(translate(sql), tuple(params))

    def __enter__(self) -> _PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()


def connect(target: DbSettings | Any) -> Any:
    """A DB-API-like connection (execute/fetchone/fetchall, a context manager) to `target`: the
    database of a settings object (either backend), or an SQLite file path."""
    if hasattr(target, "db_path"):
        if target.database:
            return _PgConnection(target.database)
        target = target.db_path
    return sqlite3.connect(target)


def table_names(target: DbSettings | Any) -> set[str]:
    if hasattr(target, "db_path") and target.database:
        with _PgConnection(target.database) as conn:
            return {str(r[0]) for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    with connect(target) as conn:
        return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
