"""The group tree (1 + 6 + N) and coordinator appointments: SQL only.

Reads go through `GroupRepo`; writes are functions over the caller's transaction (the service,
bot/members/org.py, opens it and writes the audit row in it).

`groups.path` is the materialised path of ids from the root ('/1/4/9/'); it is written
when a group is created and rewritten for the whole subtree when a group moves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.members.models import GROUP_KINDS, Appointment, Group, GroupSpec, TreeError
from storage.db import Database, Tx
from storage.timefmt import to_db

_COLUMNS = "id, parent_id, name, kind, path, requires_approval, archived_at"


def _group(row: Any) -> Group:
    return Group(
        id=int(row["id"]),
        parent_id=None if row["parent_id"] is None else int(row["parent_id"]),
        name=str(row["name"]),
        kind=str(row["kind"]),
        path=str(row["path"]),
        requires_approval=bool(row["requires_approval"]),
        archived=row["archived_at"] is not None,
    )


async def insert_group(
    tx: Tx, name: str, kind: str, parent_id: int | None, requires_approval: bool, now: datetime
) -> Group:
    """Create a group and write its path (inside the caller's transaction)."""
    if kind not in GROUP_KINDS:
        raise TreeError(f"unknown kind {kind!r}")
    parent_path = "/"
    if parent_id is not None:
        parent_path_value = await tx.fetchval(
            "SELECT path FROM groups WHERE id = ? AND archived_at IS NULL", (parent_id,)
        )
        if parent_path_value is None:
            raise TreeError("parent group not found")
        parent_path = str(parent_path_value)
    group_id = await tx.insert(
        "INSERT INTO groups (parent_id, name, kind, path, requires_approval, created_at) VALUES (?, ?, ?, '/', ?, ?)",
        (parent_id, name, kind, 1 if requires_approval else 0, to_db(now)),
    )
    path = f"{parent_path}{group_id}/"
    await tx.execute("UPDATE groups SET path = ? WHERE id = ?", (path, group_id))
    return Group(group_id, parent_id, name, kind, path, requires_approval, False)


class GroupRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, group_id: int) -> Group | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM groups WHERE id = ?", (group_id,))  # noqa: S608
        return None if row is None else _group(row)

    async def all(self, include_archived: bool = False) -> list[Group]:
        where = "" if include_archived else " WHERE archived_at IS NULL"
        rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM groups{where} ORDER BY path")  # noqa: S608
        return [_group(r) for r in rows]

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT COUNT(*) FROM groups"))

    async def appointments(self) -> list[Appointment]:
        rows = await self._db.fetchall(
            "SELECT c.user_id, c.group_id, g.name AS group_name, m.name AS member_name FROM coordinators c"
            " JOIN groups g ON g.id = c.group_id LEFT JOIN members m ON m.user_id = c.user_id"
            " ORDER BY c.user_id, g.path"
        )
        return [
            Appointment(int(r["user_id"]), int(r["group_id"]), str(r["group_name"]), r["member_name"]) for r in rows
        ]

    async def coordinators_of(self, path: str) -> list[int]:
        """User ids of coordinators whose scope covers a group with this path (ancestors included)."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT c.user_id FROM coordinators c JOIN groups g ON g.id = c.group_id"
            " WHERE ? LIKE g.path || '%' AND g.archived_at IS NULL ORDER BY c.user_id",
            (path,),
        )
        return [int(r["user_id"]) for r in rows]


# --- writes: each takes the caller's transaction ------------------------------------------------------
async def rename(tx: Tx, group_id: int, name: str) -> bool:
    return await tx.execute("UPDATE groups SET name = ? WHERE id = ?", (name, group_id)) == 1


async def set_approval(tx: Tx, group_id: int, required: bool) -> None:
    await tx.execute("UPDATE groups SET requires_approval = ? WHERE id = ?", (1 if required else 0, group_id))


async def move(tx: Tx, group_id: int, new_parent_id: int) -> Group:
    """Move a group (and its subtree) under another group; paths are rewritten. TreeError for a
    cycle or a group that is gone."""
    old = await tx.fetchval("SELECT path FROM groups WHERE id = ?", (group_id,))
    parent = await tx.fetchval("SELECT path FROM groups WHERE id = ? AND archived_at IS NULL", (new_parent_id,))
    if old is None or parent is None:
        raise TreeError("group not found")
    old_path, parent_path = str(old), str(parent)
    if parent_path.startswith(old_path):
        raise TreeError("cannot move a group under itself")
    new_path = f"{parent_path}{group_id}/"
    await tx.execute(
        "UPDATE groups SET path = ? || SUBSTR(path, ?) WHERE path LIKE ? || '%'",
        (new_path, len(old_path) + 1, old_path),
    )
    await tx.execute("UPDATE groups SET parent_id = ? WHERE id = ?", (new_parent_id, group_id))
    row = await tx.fetchone(f"SELECT {_COLUMNS} FROM groups WHERE id = ?", (group_id,))  # noqa: S608
    assert row is not None
    return _group(row)


async def archive(tx: Tx, group_id: int, now: datetime) -> int:
    """Archive a group and its whole subtree; returns how many groups were archived."""
    path = await tx.fetchval("SELECT path FROM groups WHERE id = ?", (group_id,))
    if path is None:
        return 0
    return await tx.execute(
        "UPDATE groups SET archived_at = ? WHERE path LIKE ? || '%' AND archived_at IS NULL", (to_db(now), str(path))
    )


async def insert_tree(tx: Tx, roots: list[GroupSpec], now: datetime) -> int | None:
    """Create a whole tree; None (and nothing written) if groups exist."""
    if int(await tx.fetchval("SELECT COUNT(*) FROM groups")):
        return None
    created = 0

    async def add(spec: GroupSpec, parent_id: int | None) -> None:
        nonlocal created
        group = await insert_group(tx, spec.name, spec.kind, parent_id, spec.requires_approval, now)
        created += 1
        for child in spec.children:
            await add(child, group.id)

    for root in roots:
        await add(root, None)
    return created


async def appoint(tx: Tx, actor_id: int, user_id: int, group_id: int, now: datetime) -> bool:
    added = await tx.execute(
        "INSERT INTO coordinators (user_id, group_id, appointed_by, appointed_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id, group_id) DO NOTHING",
        (user_id, group_id, actor_id, to_db(now)),
    )
    return added == 1


async def dismiss(tx: Tx, user_id: int, group_id: int) -> bool:
    return await tx.execute("DELETE FROM coordinators WHERE user_id = ? AND group_id = ?", (user_id, group_id)) == 1
