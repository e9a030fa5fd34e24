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
