"""The audit log of privileged actions (who, what, when, on whom)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, Tx
from storage.timefmt import from_db, to_db


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_user_id: int | None
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]


async def record(
    tx: Tx,
    now: datetime,
    actor_user_id: int | None,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write one audit row inside the caller's transaction (same commit as the action)."""
    await tx.execute(
        "INSERT INTO audit_log (at, actor_user_id, action, target_type, target_id, details)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            to_db(now),
            actor_user_id,
            action,
            target_type,
            None if target_id is None else str(target_id),
            json.dumps(details or {}, ensure_ascii=False),
        ),
    )


class AuditRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def recent(
        self, limit: int = 20, offset: int = 0, action_prefix: str | None = None, actor: int | None = None
    ) -> list[AuditEntry]:
        where = ["1 = 1"]
        params: list[Any] = []
        if action_prefix:
            where.append("action LIKE ?")
            params.append(action_prefix.replace("%", "") + "%")
        if actor is not None:
            where.append("actor_user_id = ?")
            params.append(actor)
        sql = (
            "SELECT id, at, actor_user_id, action, target_type, target_id, details FROM audit_log"  # noqa: S608
            f" WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ? OFFSET ?"  # (clauses are fixed strings)
        )
        rows = await self._db.fetchall(
            sql,
            (*params, limit, offset),
        )
        return [
            AuditEntry(
                id=int(r["id"]),
                at=from_db(r["at"]),
                actor_user_id=r["actor_user_id"],
                action=r["action"],
                target_type=r["target_type"],
                target_id=r["target_id"],
                details=json.loads(r["details"] or "{}"),
            )
            for r in rows
        ]
