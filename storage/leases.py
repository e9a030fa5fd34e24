"""Leases through the database: at most one holder of a named lease at a time, across processes.

`acquire` takes the lease when it is free or expired, and renews it for its holder; it is one
statement (an upsert whose update applies only when the caller may take the row), so two
processes trying at once cannot both succeed on either backend.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.db import Database, Tx
from storage.timefmt import from_db, to_db


async def acquire(tx: Tx, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew `name` for `holder` until now + ttl; False while another holder's lease runs."""
    changed = await tx.execute(
        "INSERT INTO leases (name, holder, expires_at, acquired_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at,"
        " acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at"
        " ELSE excluded.acquired_at END, holder = excluded.holder"
        " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
        (name, holder, to_db(now + ttl), to_db(now), to_db(now)),
    )
    return changed == 1


async def release(tx: Tx, name: str, holder: str) -> None:
    """Give the lease up at once (a clean stop), so a standby need not wait for it to expire."""
    await tx.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))


async def holder(db: Database, name: str, now: datetime) -> str | None:
    """Who holds `name` now (None when free or expired)."""
    row = await db.fetchone("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
    if row is None or from_db(row["expires_at"]) <= now:
        return None
    return str(row["holder"])
