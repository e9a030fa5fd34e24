"""SQL behind the demo data loader (``bot/demo.py``).

Core tables (groups, members, member_groups, member_expertise, coordinators) are written with
fixed statements. Feature tables (activities, feedback, ...) are written only if they exist in the
migrated schema, and only with the columns that exist there: other features evolve their tables
independently, and the demo loader must keep working while they do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from storage.db import Database, StorageError, Tx

log = logging.getLogger(__name__)


class DemoSkippedError(Exception):
    """A feature table does not fit the demo data; its section is rolled back and skipped."""


@dataclass(frozen=True)
class Column:
    name: str
    required: bool  # NOT NULL without a default and not the integer primary key


class DemoRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def is_empty(self) -> bool:
        """True when no group exists yet (the demo is loaded only into an empty association)."""
        return int(await self._db.fetchval("SELECT COUNT(*) FROM groups")) == 0

    async def tables(self) -> set[str]:
        return set(await self._db.tables())

    async def columns(self, table: str) -> list[Column]:
        if not table.replace("_", "").isalnum():
            raise ValueError(f"bad table name {table!r}")
        return [Column(name, required) for name, required in await self._db.columns(table)]

    # ----- core tables ------------------------------------------------------------------------------
    async def add_group(self, tx: Tx, name: str, kind: str, parent_id: int | None, parent_path: str,
                        requires_approval: bool, now: str) -> int:
        group_id = await tx.insert(
            "INSERT INTO groups (parent_id, name, kind, requires_approval, created_at) VALUES (?, ?, ?, ?, ?)",
            (parent_id, name, kind, int(requires_approval), now),
        )
        await tx.execute("UPDATE groups SET path = ? WHERE id = ?", (f"{parent_path}{group_id}/", group_id))
        return group_id

    async def add_member(self, tx: Tx, *, user_id: int | None, status: str, name: str, category: str,
                         organisation: str, position: str, phone: str | None, now: str) -> int:
        return await tx.insert(
            "INSERT INTO members (user_id, status, name, category, organisation, position, phone, consent_at,"
            " registered_at, updated_at, profile_confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (user_id, status, name, category, organisation, position, phone, now, now, now, now),
        )

    async def add_bot_user(self, tx: Tx, user_id: int, tg_language: str, now: str) -> None:
        """The member has started the bot (messages reach them), speaking ``tg_language``."""
        await tx.execute(
            "INSERT INTO bot_users (user_id, started_at, last_seen_at, tg_language) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO NOTHING",
            (user_id, now, now, tg_language),
        )

    async def add_expertise(self, tx: Tx, member_id: int, tag: str) -> None:
        await tx.execute(
            "INSERT INTO member_expertise (member_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING", (member_id, tag)
        )

    async def join_group(self, tx: Tx, member_id: int, group_id: int, status: str, now: str) -> None:
        await tx.execute(
            "INSERT INTO member_groups (member_id, group_id, status, requested_at, decided_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (member_id, group_id, status, now, now if status == "active" else None),
        )

    async def appoint(self, tx: Tx, user_id: int, group_id: int, appointed_by: int, now: str) -> None:
        await tx.execute(
            "INSERT INTO coordinators (user_id, group_id, appointed_by, appointed_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (user_id, group_id, appointed_by, now),
        )

    async def group_path(self, tx: Tx, group_id: int) -> str:
        return str(await tx.fetchval("SELECT path FROM groups WHERE id = ?", (group_id,)))

    # ----- feature tables (schema discovered at load time) --------------------------------------------
    async def insert_flexible(self, tx: Tx, table: str, row: dict[str, Any], columns: list[Column]) -> int | None:
        """Insert the part of ``row`` that ``table`` has columns for.

        Returns the new row's id (0 for a table without an ``id`` column, such as a link table),
        ``None`` if a required column is missing; raises :class:`DemoSkippedError` if the
        database refuses the row (a constraint the demo does not know about).
        """
        names = {c.name for c in columns}
        values = {k: v for k, v in row.items() if k in names}
        missing = [c.name for c in columns if c.required and c.name not in values]
        if missing:
            log.info("demo: not filling %s (unknown required columns %s)", table, missing)
            return None
        keys = list(values)
        placeholders = ", ".join("?" for _ in keys)
        sql = f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({placeholders})"  # noqa: S608 - schema names
        try:
            if "id" in names:
                return await tx.insert(sql, [values[k] for k in keys])
            # Only a table with an id column has an id to return: SQLite would hand back its hidden
            # rowid, PostgreSQL's `INSERT ... RETURNING id` fails (the link tables activity_groups,
            # feedback_authors: the demo's activities and feedback were skipped on PostgreSQL).
            await tx.execute(sql, [values[k] for k in keys])
            return 0
        except StorageError as exc:
            raise DemoSkippedError(f"{table}: {exc}") from exc

    async def add_to_count(self, tx: Tx, table: str, column: str, row_id: int, amount: int) -> None:
        await tx.execute(f"UPDATE {table} SET {column} = {column} + ? WHERE id = ?", (amount, row_id))  # noqa: S608
