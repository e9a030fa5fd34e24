"""Numbered SQL migrations in `storage/migrations/NNNN_name.sql`, applied in order.

Each file runs in its own write transaction and is recorded in `schema_migrations`;
applying again changes nothing. The files are written for SQLite; on PostgreSQL each statement
goes through `storage.pg.translate_ddl` (INTEGER -> BIGINT, `id INTEGER PRIMARY KEY` -> identity),
unless a file `NNNN_name.pg.sql` beside `NNNN_name.sql` gives that migration's PostgreSQL text.
Write transactions are serialised across processes on both backends (SQLite's write lock,
PostgreSQL's advisory write lock: storage/pg.py), and each migration re-checks inside its
transaction that it is still pending, so processes starting together apply each one once.
Features own number ranges so they never collide:
0001-0099 core, 0100 members, 0200 delivery/notices, 0300 activities, 0400 feedback,
0500 questionnaires, 0600 ledger.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.db import Database
from storage.pg import translate_ddl

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)(\.pg)?\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    pg_path: Path | None = None  # the PostgreSQL text, when it differs beyond `translate_ddl`

    def statements(self, dialect: str = "sqlite") -> list[str]:
        if dialect == "sqlite":
            return split_statements(self.path.read_text(encoding="utf-8"))
        if self.pg_path is not None:
            return split_statements(self.pg_path.read_text(encoding="utf-8"))
        return [translate_ddl(s) for s in split_statements(self.path.read_text(encoding="utf-8"))]


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    overrides: dict[tuple[int, str], Path] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"badly named migration file: {path.name}")
        if match.group(3):
            overrides[(int(match.group(1)), match.group(2))] = path
            continue
        found.append(Migration(int(match.group(1)), match.group(2), path))
    for key, pg_path in overrides.items():
        index = next((i for i, m in enumerate(found) if (m.version, m.name) == key), None)
        if index is None:
            raise ValueError(f"{pg_path.name} overrides no migration")
        found[index] = Migration(found[index].version, found[index].name, found[index].path, pg_path)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migration files share a number")
    return found


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (triggers' BEGIN...END stay whole)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.strip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement: {buffer[:80]!r}")
    return statements


async def applied_versions(db: Database) -> set[int]:
    async with db.transaction() as tx:
        create = (
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        await tx.execute(create if db.dialect == "sqlite" else translate_ddl(create))
        rows = await tx.fetchall("SELECT version FROM schema_migrations")
    return {int(r["version"]) for r in rows}


async def migrate(db: Database, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply every pending migration; return the versions applied now."""
    done = await applied_versions(db)
    applied: list[int] = []
    for migration in discover(directory):
        if migration.version in done:
            continue
        async with db.transaction() as tx:
            # Another process may have applied it since `done` was read: re-check inside the
            # write transaction (BEGIN IMMEDIATE holds the database's write lock from here on).
            if await tx.fetchval("SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)):
                continue
            for statement in migration.statements(db.dialect):
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
        applied.append(migration.version)
    return applied
