"""Which database: PostgreSQL when `LIAISON_DATABASE_URL` is set, else the SQLite file `LIAISON_DB`."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from storage.db import Database


class DatabaseSettings(Protocol):
    @property
    def database(self) -> str | None: ...

    @property
    def db_path(self) -> Path: ...


async def open_database(settings: DatabaseSettings) -> Database:
    url = settings.database
    if url:
        from storage.pg import PgDatabase

        return await PgDatabase.connect(url)
    return await Database.open(settings.db_path)
