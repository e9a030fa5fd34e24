"""SQL behind role resolution: coordinator appointments and membership status."""

from __future__ import annotations

from bot.members.models import MemberStatus, ScopeGroup
from storage.db import Database


class RoleRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def coordinator_groups(self, user_id: int) -> list[ScopeGroup]:
        rows = await self._db.fetchall(
            "SELECT g.id, g.path, g.parent_id FROM coordinators c JOIN groups g ON g.id = c.group_id"
            " WHERE c.user_id = ? AND g.archived_at IS NULL ORDER BY g.path",
            (user_id,),
        )
        return [ScopeGroup(int(r["id"]), str(r["path"]), r["parent_id"] is None) for r in rows]

    async def active_coordinator_user_ids(self) -> list[int]:
        """Who coordinates a group that is not archived (`coordinator_groups` is not empty)."""
        rows = await self._db.fetchall(
            "SELECT DISTINCT c.user_id FROM coordinators c JOIN groups g ON g.id = c.group_id"
            " WHERE g.archived_at IS NULL"
        )
        return [int(r["user_id"]) for r in rows]

    async def coordinator_user_ids(self) -> list[int]:
        rows = await self._db.fetchall("SELECT DISTINCT user_id FROM coordinators ORDER BY user_id")
        return [int(r["user_id"]) for r in rows]

    async def member_status(self, user_id: int) -> MemberStatus | None:
        row = await self._db.fetchone("SELECT id, status FROM members WHERE user_id = ?", (user_id,))
        return None if row is None else MemberStatus(int(row["id"]), str(row["status"]))

    async def group_path(self, group_id: int) -> str | None:
        value = await self._db.fetchval("SELECT path FROM groups WHERE id = ?", (group_id,))
        return None if value is None else str(value)

    async def member_group_paths(self, member_id: int) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT g.path FROM member_groups mg JOIN groups g ON g.id = mg.group_id"
            " WHERE mg.member_id = ? AND mg.status IN ('active', 'pending')",
            (member_id,),
        )
        return [str(r["path"]) for r in rows]
