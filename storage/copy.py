"""Copy every table of one database into another, empty one, and verify the row counts.

`liaison-bot copy-to postgresql://...` moves an association from its SQLite file to PostgreSQL;
`PgDatabase.backup_to` uses the same copy the other way (a PostgreSQL database into a fresh SQLite
file, the backup format the restore drill knows). Both sides are migrated to the same version
first, so they have the same tables and columns; tables go parents first (foreign keys), rows in
id order (a group's parent, a notice's template come before them), and PostgreSQL's identity
sequences are moved past the copied ids.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.db import Database, private_file
from storage.migrations import MIGRATIONS_DIR, discover, migrate

BATCH = 5000
SKIP = frozenset({"schema_migrations", "ledger_versions", "ledger_activity_versions",  # ledger_*versions: triggers
                  # derived, kept by the target's triggers (migrations 0293, 0612, 0613)
                  "reachable_memberships", "notice_tallies", "group_tallies"})


class CopyError(Exception):
    """The copy cannot be made (target not empty, versions differ) or its counts do not match."""


@dataclass(frozen=True)
class CopyReport:
    counts: dict[str, int]  # rows per table, equal on both sides

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def table_order(directory: Path = MIGRATIONS_DIR) -> list[str]:
    """The application's tables, every table after the ones its foreign keys point to."""
    conn = sqlite3.connect(":memory:")
    try:
        for migration in discover(directory):
            for statement in migration.statements():
                conn.execute(statement)
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        parents = {n: {r[2] for r in conn.execute(f"PRAGMA foreign_key_list({n})")} - {n} for n in names}
    finally:
        conn.close()
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        if not ready:
            raise CopyError("foreign keys form a cycle")
        ordered.extend(ready)
    return [n for n in ordered if n not in SKIP]


async def copy_database(source: Database, target: Database) -> CopyReport:
    """Copy `source` into the empty `target` (both migrated here); raise CopyError on any mismatch."""
    await migrate(source)
    await migrate(target)
    tables = table_order()
    present = set(await target.tables())
    for table in tables:
        if table in present and await target.fetchval(f"SELECT COUNT(*) FROM {table}"):  # noqa: S608 - schema names
            raise CopyError(f"the target is not empty: {table} has rows")
    counts: dict[str, int] = {}
    for table in tables:
        columns = [name for name, _ in await source.columns(table)]
        has_id = "id" in columns
        select = f"SELECT {', '.join(columns)} FROM {table}"  # noqa: S608 - schema names
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"  # noqa: S608
        copied = 0
        last_id: int | None = None
        while True:
            if has_id:
                rows = await source.fetchall(
                    f"{select} WHERE id > ? ORDER BY id LIMIT {BATCH}", (-(2**62) if last_id is None else last_id,)
                )
            else:
                rows = await source.fetchall(select) if copied == 0 else []
            if not rows:
                break
            async with target.transaction() as tx:
                await tx.executemany(insert, [tuple(r) for r in rows])
            copied += len(rows)
            if not has_id:
                break
            last_id = int(rows[-1]["id"])
        counts[table] = copied
        if has_id and target.dialect == "postgresql" and copied:
            async with target.transaction() as tx:
                await tx.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
                )
    for table in tables:
        theirs = int(await target.fetchval(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608 - schema names
        ours = int(await source.fetchval(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608 - schema names
        if theirs != counts[table] or ours != counts[table]:
            raise CopyError(f"{table}: {ours} rows in the source, {counts[table]} copied, {theirs} in the target")
    return CopyReport(counts)


def _fresh_file(target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    private_file(target)


async def copy_to_sqlite_file(source: Database, target: Path) -> CopyReport:
    """A fresh SQLite file `target` (replaced) holding a copy of `source`."""
    _fresh_file(target)
    copy = await Database.open(target)
    try:
        report = await copy_database(source, copy)
        await copy.checkpoint()
    finally:
        await copy.close()
    return report
