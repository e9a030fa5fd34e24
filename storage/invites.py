"""Invite links: a token per link, counted uses, expiry and revocation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.members.models import Invite
from storage.db import Database, Tx
from storage.timefmt import opt_from_db, to_db

_SELECT = (
    "SELECT i.id, i.token, i.group_id, g.name AS group_name, i.created_by, i.expires_at, i.max_uses, i.uses,"
    " i.revoked_at, g.archived_at FROM invites i JOIN groups g ON g.id = i.group_id"
)


def _invite(row: Any) -> Invite:
    return Invite(
        id=int(row["id"]),
        token=str(row["token"]),
        group_id=int(row["group_id"]),
        group_name=str(row["group_name"]),
        created_by=int(row["created_by"]),
        expires_at=opt_from_db(row["expires_at"]),
        max_uses=None if row["max_uses"] is None else int(row["max_uses"]),
        uses=int(row["uses"]),
        revoked=row["revoked_at"] is not None or row["archived_at"] is not None,
    )


class InviteRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, invite_id: int) -> Invite | None:
        row = await self._db.fetchone(_SELECT + " WHERE i.id = ?", (invite_id,))
        return None if row is None else _invite(row)

    async def by_token(self, token: str) -> Invite | None:
        row = await self._db.fetchone(_SELECT + " WHERE i.token = ?", (token,))
        return None if row is None else _invite(row)

    async def active(self, now: datetime) -> list[Invite]:
        rows = await self._db.fetchall(
            _SELECT + " WHERE i.revoked_at IS NULL AND g.archived_at IS NULL"
            " AND (i.expires_at IS NULL OR i.expires_at > ?) ORDER BY i.id",
            (to_db(now),),
        )
        return [_invite(r) for r in rows]


# --- writes: each takes the caller's transaction ------------------------------------------------------
async def insert_invite(
    tx: Tx, actor_id: int, token: str, group_id: int, expires_at: datetime | None, max_uses: int | None, now: datetime
) -> int:
    return await tx.insert(
        "INSERT INTO invites (token, group_id, created_by, created_at, expires_at, max_uses) VALUES (?, ?, ?, ?, ?, ?)",
        (token, group_id, actor_id, to_db(now), None if expires_at is None else to_db(expires_at), max_uses),
    )


async def revoke(tx: Tx, invite_id: int, now: datetime) -> bool:
    changed = await tx.execute(
        "UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (to_db(now), invite_id)
    )
    return changed == 1
