"""SQL for activities: the activity rows, their groups, due items (reminders, offers, surveys),
and which activities a coordinator may manage (through storage/scope).

Functions taking a `Tx` run inside the caller's write transaction; `ActivityRepo` reads.
Sign-ups (the hot path, capacity and waitlist) are in storage/signups.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.activities.models import Activity, DueItem, Group, NewActivity, Recipient
from storage.db import Database, Row, Tx
from storage.scope import Paths, activity_within
from storage.timefmt import from_db, to_db

ACT_COLS = (
    "a.id, a.series_id, a.title, a.description, a.place, a.starts_at, a.ends_at, a.signup_deadline,"
    " a.capacity, a.seats_taken, a.offer_hours, a.survey, a.reminder_offsets, a.categories, a.has_groups,"
    " a.status, a.checkin_code, a.created_by, a.checkin_opens"
)


def activity_from_row(r: Row) -> Activity:
    return Activity(
        id=int(r["id"]),
        series_id=r["series_id"],
        title=str(r["title"]),
        description=str(r["description"]),
        place=str(r["place"]),
        starts_at=from_db(r["starts_at"]),
        ends_at=from_db(r["ends_at"]),
        signup_deadline=from_db(r["signup_deadline"]),
        capacity=r["capacity"],
        seats_taken=int(r["seats_taken"]),
        offer_hours=r["offer_hours"],
        survey=bool(r["survey"]),
        reminder_offsets=tuple(int(x) for x in str(r["reminder_offsets"]).split(",") if x),
        categories=tuple(c for c in str(r["categories"]).split("|") if c),
        has_groups=bool(r["has_groups"]),
        status=str(r["status"]),
        checkin_code=r["checkin_code"],
        created_by=int(r["created_by"]),
        checkin_opens=int(r["checkin_opens"]),
    )


# --- activities ------------------------------------------------------------------------------
async def create_series(tx: Tx, rule: str, created_by: int, now: datetime) -> int:
    return await tx.insert(
        "INSERT INTO activity_series (rule, created_by, created_at) VALUES (?, ?, ?)", (rule, created_by, to_db(now))
    )


async def insert_activity(tx: Tx, new: NewActivity, created_by: int, now: datetime) -> int:
    activity_id = await tx.insert(
        "INSERT INTO activities (series_id, title, description, place, starts_at, ends_at, signup_deadline,"
        " capacity, offer_hours, survey, reminder_offsets, categories, has_groups, status, created_by,"
        " created_at, updated_at, checkin_opens)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'published', ?, ?, ?, ?)",
        (
            new.series_id,
            new.title,
            new.description,
            new.place,
            to_db(new.starts_at),
            to_db(new.ends_at),
            to_db(new.signup_deadline),
            new.capacity,
            new.offer_hours,
            int(new.survey),
            ",".join(str(o) for o in new.reminder_offsets),
            "|".join(new.categories),
            int(bool(new.group_ids)),
            created_by,
            to_db(now),
            to_db(now),
            new.checkin_opens,
        ),
    )
    await tx.executemany(
        "INSERT INTO activity_groups (activity_id, group_id) VALUES (?, ?)", [(activity_id, g) for g in new.group_ids]
    )
    return activity_id


async def activity_in_tx(tx: Tx, activity_id: int) -> Activity | None:
    row = await tx.fetchone(f"SELECT {ACT_COLS} FROM activities a WHERE a.id = ?", (activity_id,))  # noqa: S608
    return None if row is None else activity_from_row(row)


async def set_status(tx: Tx, activity_id: int, status: str, now: datetime) -> None:
    await tx.execute("UPDATE activities SET status = ?, updated_at = ? WHERE id = ?", (status, to_db(now), activity_id))


async def set_capacity(tx: Tx, activity_id: int, capacity: int | None, now: datetime) -> bool:
    """Change the capacity; refused (False) when fewer seats than are already held."""
    changed = await tx.execute(
        "UPDATE activities SET capacity = ?, updated_at = ? WHERE id = ? AND (? IS NULL OR seats_taken <= ?)",
        (capacity, to_db(now), activity_id, capacity, capacity),
    )
    return changed == 1


async def update_fields(tx: Tx, activity_id: int, fields: dict[str, Any], now: datetime) -> int:
    """Change the given columns and bump the revision; returns the new revision number."""
    allowed = {"title", "description", "place", "starts_at", "ends_at", "signup_deadline"}
    sets = []
    params: list[Any] = []
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(name)
        sets.append(f"{name} = ?")
        params.append(to_db(value) if isinstance(value, datetime) else value)
    sql = f"UPDATE activities SET {', '.join(sets)}, revision = revision + 1, updated_at = ? WHERE id = ?"  # noqa: S608 - fixed names
    await tx.execute(sql, (*params, to_db(now), activity_id))
    return int(await tx.fetchval("SELECT revision FROM activities WHERE id = ?", (activity_id,)))


async def set_checkin_code(tx: Tx, activity_id: int, code: str) -> None:
    await tx.execute(
        "UPDATE activities SET checkin_code = ? WHERE id = ? AND checkin_code IS NULL", (code, activity_id)
    )


async def group_paths(tx: Tx | Database, group_ids: tuple[int, ...]) -> dict[int, str]:
    if not group_ids:
        return {}
    marks = ", ".join("?" for _ in group_ids)
    rows = await tx.fetchall(f"SELECT id, path FROM groups WHERE id IN ({marks})", group_ids)  # noqa: S608
    return {int(r["id"]): str(r["path"]) for r in rows}


async def active_members(tx: Tx | Database) -> list[Recipient]:
    rows = await tx.fetchall(
        "SELECT m.id, m.user_id, m.category, COALESCE(u.language, u.tg_language) AS language, g.path FROM members m"
        " LEFT JOIN bot_users u ON u.user_id = m.user_id"
        " LEFT JOIN member_groups mg ON mg.member_id = m.id AND mg.status = 'active'"
        " LEFT JOIN groups g ON g.id = mg.group_id"
        " WHERE m.status = 'active' AND m.user_id IS NOT NULL ORDER BY m.id"
    )
    out: dict[int, Recipient] = {}
    for r in rows:
        mid = int(r["id"])
        prev = out.get(mid)
        paths = (prev.paths if prev else ()) + ((str(r["path"]),) if r["path"] else ())
        out[mid] = Recipient(mid, int(r["user_id"]), r["language"], r["category"], paths)
    return list(out.values())


async def member_recipient(tx: Tx | Database, member_id: int) -> Recipient | None:
    row = await tx.fetchone(
        "SELECT m.id, m.user_id, m.category, COALESCE(u.language, u.tg_language) AS language FROM members m"
        " LEFT JOIN bot_users u ON u.user_id = m.user_id WHERE m.id = ? AND m.user_id IS NOT NULL",
        (member_id,),
    )
    return None if row is None else Recipient(int(row["id"]), int(row["user_id"]), row["language"], row["category"], ())


# --- due items ---------------------------------------------------------------------------------
async def add_due(tx: Tx, activity_id: int, kind: str, due_at: datetime, member_id: int = 0, tag: int = 0) -> None:
    await tx.execute(
        "INSERT INTO activity_due (activity_id, kind, member_id, tag, due_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (activity_id, kind, member_id, tag) DO UPDATE SET due_at = excluded.due_at, status = 'pending'",
        (activity_id, kind, member_id, tag, to_db(due_at)),
    )


async def cancel_due(tx: Tx, activity_id: int, kind: str | None = None, tag: int | None = None) -> None:
    sql = "UPDATE activity_due SET status = 'cancelled' WHERE activity_id = ? AND status = 'pending'"
    params: list[Any] = [activity_id]
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    if tag is not None:
        sql += " AND tag = ?"
        params.append(tag)
    await tx.execute(sql, params)


async def due_ids(db: Database, now: datetime, limit: int = 200) -> list[int]:
    rows = await db.fetchall(
        "SELECT id FROM activity_due WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
        (to_db(now), limit),
    )
    return [int(r["id"]) for r in rows]


async def claim_due(tx: Tx, due_id: int, now: datetime) -> DueItem | None:
    """Claim a pending due item (status 'done'); None when someone else already did."""
    if (
        await tx.execute(
            "UPDATE activity_due SET status = 'done', done_at = ? WHERE id = ? AND status = 'pending'",
            (to_db(now), due_id),
        )
        != 1
    ):
        return None
    row = await tx.fetchone(
        "SELECT id, activity_id, kind, member_id, tag, due_at FROM activity_due WHERE id = ?", (due_id,)
    )
    assert row is not None
    return DueItem(
        int(row["id"]),
        int(row["activity_id"]),
        str(row["kind"]),
        int(row["member_id"]),
        int(row["tag"]),
        from_db(row["due_at"]),
    )


async def mark_due_skipped(tx: Tx, due_id: int, note: str) -> None:
    await tx.execute("UPDATE activity_due SET status = 'skipped', note = ? WHERE id = ?", (note, due_id))


def manageable(paths: Paths, alias: str = "a") -> tuple[str, list[Any]]:
    """Activities (alias `alias`) a coordinator with scope `paths` may manage: every group the
    activity is addressed to lies in scope (everything for the head association and owners)."""
    return activity_within(paths, f"{alias}.id")


def manageable_clause(scope_paths: Sequence[str] | None, user_id: int | None, params: list[Any]) -> str:
    """Activities (alias `a`) a coordinator may address a notice about: their own, or `manageable`.

    Kept for storage/audiences.py (the notices feature) until it builds its condition from
    storage/scope itself; the scope part comes from storage/scope.
    """
    if scope_paths is None:
        return "1 = 1"
    params.append(-1 if user_id is None else user_id)
    within, extra = activity_within(scope_paths, "a.id")
    params.extend(extra)
    return f"(a.created_by = ? OR {within})"


class ActivityRepo:
    """Reads outside write transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, activity_id: int) -> Activity | None:
        row = await self.db.fetchone(f"SELECT {ACT_COLS} FROM activities a WHERE a.id = ?", (activity_id,))  # noqa: S608
        return None if row is None else activity_from_row(row)

    async def group_paths_of(self, activity_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT g.path FROM activity_groups ag JOIN groups g ON g.id = ag.group_id WHERE ag.activity_id = ?",
            (activity_id,),
        )
        return [str(r["path"]) for r in rows]

    async def upcoming(self, now: datetime, limit: int = 200) -> list[Activity]:
        rows = await self.db.fetchall(
            f"SELECT {ACT_COLS} FROM activities a WHERE a.status IN ('published', 'closed') AND a.ends_at > ?"  # noqa: S608
            " ORDER BY a.starts_at, a.id LIMIT ?",
            (to_db(now), limit),
        )
        return [activity_from_row(r) for r in rows]

    async def manageable_upcoming(self, since: datetime, paths: Paths, limit: int = 500) -> list[Activity]:
        """Published or closed activities ending after `since` that a coordinator may manage, in one query."""
        where, params = manageable(paths)
        rows = await self.db.fetchall(
            f"SELECT {ACT_COLS} FROM activities a WHERE a.status IN ('published', 'closed') AND a.ends_at > ?"  # noqa: S608
            f" AND {where} ORDER BY a.starts_at, a.id LIMIT ?",
            (to_db(since), *params, limit),
        )
        return [activity_from_row(r) for r in rows]

    async def manageable_one(self, activity_id: int, paths: Paths) -> Activity | None:
        """The activity if a coordinator with scope `paths` may manage it (one query), else None."""
        where, params = manageable(paths)
        row = await self.db.fetchone(
            f"SELECT {ACT_COLS} FROM activities a WHERE a.id = ? AND {where}",  # noqa: S608 - fixed clauses
            (activity_id, *params),
        )
        return None if row is None else activity_from_row(row)

    async def series_members(self, series_id: int, now: datetime) -> list[Activity]:
        rows = await self.db.fetchall(
            f"SELECT {ACT_COLS} FROM activities a WHERE a.series_id = ? AND a.status = 'published'"  # noqa: S608
            " AND a.signup_deadline > ? ORDER BY a.starts_at",
            (series_id, to_db(now)),
        )
        return [activity_from_row(r) for r in rows]

    async def member_paths(self, member_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT g.path FROM member_groups mg JOIN groups g ON g.id = mg.group_id"
            " WHERE mg.member_id = ? AND mg.status = 'active'",
            (member_id,),
        )
        return [str(r["path"]) for r in rows]

    async def member_category(self, member_id: int) -> str | None:
        value = await self.db.fetchval("SELECT category FROM members WHERE id = ?", (member_id,))
        return None if value is None else str(value)

    async def due_items(self, activity_id: int) -> list[tuple[str, int, str, str | None]]:
        rows = await self.db.fetchall(
            "SELECT kind, tag, status, note FROM activity_due WHERE activity_id = ? ORDER BY id", (activity_id,)
        )
        return [(str(r["kind"]), int(r["tag"]), str(r["status"]), r["note"]) for r in rows]

    async def due_ids(self, now: datetime) -> list[int]:
        return await due_ids(self.db, now)


async def all_groups(db: Database) -> list[Group]:
    """Every live group, in tree order."""
    rows = await db.fetchall("SELECT id, name, path FROM groups WHERE archived_at IS NULL ORDER BY path, id")
    return [Group(int(r["id"]), str(r["name"]), str(r["path"])) for r in rows]
