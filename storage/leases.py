"""Leases through the database: at most one holder of a named lease at a time, across processes.

`acquire` takes the lease when it is free or expired, and renews it for its holder; it is one
statement (an upsert whose update applies only when the caller may take the row), so two
processes trying at once cannot both succeed on either backend. The holder's loop
(bot/leader.py) runs it with `take`/`give_up` on its own: on PostgreSQL beside the write
transactions, never waiting behind their write lock (a renewal stuck behind a long write could let
the lease expire under a live holder).

`held` lists the leases running now: who holds which role, and which processes are alive (each
process holds a `process:<holder>` presence lease while it runs; bot/leader.py `Peers`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.db import Database, Tx
from storage.timefmt import from_db, to_db

_ACQUIRE = (
    "INSERT INTO leases (name, holder, expires_at, acquired_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at,"
    " acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at"
    " ELSE excluded.acquired_at END, holder = excluded.holder"
    " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?"
)
_RELEASE = "DELETE FROM leases WHERE name = ? AND holder = ?"


async def acquire(tx: Tx, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew `name` for `holder` until now + ttl; False while another holder's lease runs."""
    changed = await tx.execute(_ACQUIRE, (name, holder, to_db(now + ttl), to_db(now), to_db(now)))
    return changed == 1


async def take(db: Database, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """`acquire` as one statement of its own (outside the write lock on PostgreSQL)."""
    changed = await db.execute_alone(_ACQUIRE, (name, holder, to_db(now + ttl), to_db(now), to_db(now)))
    return changed == 1


async def give_up(db: Database, name: str, holder: str) -> None:
    """`release` as one statement of its own."""
    await db.execute_alone(_RELEASE, (name, holder))


async def rows(db: Database, prefixes: tuple[str, ...]) -> dict[str, tuple[str, datetime]]:
    """The leases whose names start with one of `prefixes`, running or expired: name -> (holder,
    expires_at). (A clean stop deletes its rows; an expired row was left by a holder that stopped
    renewing: killed or stalled.)"""
    where = " OR ".join("name LIKE ?" for _ in prefixes)
    found = await db.fetchall(f"SELECT name, holder, expires_at FROM leases WHERE {where}",  # noqa: S608 - placeholders only
                              tuple(f"{p}%" for p in prefixes))
    return {str(r["name"]): (str(r["holder"]), from_db(r["expires_at"])) for r in found}


async def release(tx: Tx, name: str, holder: str) -> None:
    """Give the lease up at once (a clean stop), so a standby need not wait for it to expire."""
    await tx.execute(_RELEASE, (name, holder))


async def holder(db: Database, name: str, now: datetime) -> str | None:
    """Who holds `name` now (None when free or expired)."""
    row = await db.fetchone("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
    if row is None or from_db(row["expires_at"]) <= now:
        return None
    return str(row["holder"])
