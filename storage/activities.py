"""SQL for activities: the activity rows, sign-ups (capacity and waitlist), due items, surveys.

Functions taking a `Tx` run inside the caller's write transaction; `ActivityRepo` reads.
Capacity is enforced by a conditional UPDATE of `activities.seats_taken` (and its CHECK
constraint), uniqueness by UNIQUE(activity_id, member_id); the waitlist order is the row id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, Row, SyncTx, Tx
from storage.segments import path_clause
from storage.timefmt import from_db, opt_from_db, to_db

HOLDING = ("confirmed", "offered")
ACTIVE = ("confirmed", "offered", "waiting")

_ACT_COLS = (
    "a.id, a.series_id, a.title, a.description, a.place, a.starts_at, a.ends_at, a.signup_deadline,"
    " a.capacity, a.seats_taken, a.offer_hours, a.survey, a.reminder_offsets, a.categories, a.has_groups,"
    " a.status, a.checkin_code, a.created_by"
)


@dataclass(frozen=True)
class Activity:
    id: int
    series_id: int | None
    title: str
    description: str
    place: str
    starts_at: datetime
    ends_at: datetime
    signup_deadline: datetime
    capacity: int | None
    seats_taken: int
    offer_hours: int | None
    survey: bool
    reminder_offsets: tuple[int, ...]
    categories: tuple[str, ...]
    has_groups: bool
    status: str
    checkin_code: str | None
    created_by: int


def _activity(r: Row) -> Activity:
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
    )


@dataclass(frozen=True)
class NewActivity:
    title: str
    description: str
    place: str
    starts_at: datetime
    ends_at: datetime
    signup_deadline: datetime
    capacity: int | None
    offer_hours: int | None
    survey: bool
    reminder_offsets: tuple[int, ...]
    categories: tuple[str, ...]
    group_ids: tuple[int, ...]
    series_id: int | None = None


@dataclass(frozen=True)
class SignupContext:
    """Everything a sign-up press needs, read in one query inside the write transaction."""

    activity: Activity
    member_id: int | None
    member_status: str | None
    category: str | None
    language: str | None
    signup_id: int | None
    signup_status: str | None


@dataclass(frozen=True)
class Signup:
    id: int
    activity_id: int
    member_id: int
    status: str
    offer_expires: datetime | None
    checked_in_at: datetime | None


@dataclass(frozen=True)
class RosterEntry:
    signup_id: int
    member_id: int
    user_id: int | None
    name: str
    status: str
    checked_in_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Recipient:
    member_id: int
    user_id: int
    language: str | None
    category: str | None
    paths: tuple[str, ...]


@dataclass(frozen=True)
class DueItem:
    id: int
    activity_id: int
    kind: str
    member_id: int
    tag: int
    due_at: datetime


# --- activities ------------------------------------------------------------------------------
async def create_series(tx: Tx, rule: str, created_by: int, now: datetime) -> int:
    return await tx.insert(
        "INSERT INTO activity_series (rule, created_by, created_at) VALUES (?, ?, ?)", (rule, created_by, to_db(now))
    )


async def insert_activity(tx: Tx, new: NewActivity, created_by: int, now: datetime) -> int:
    activity_id = await tx.insert(
        "INSERT INTO activities (series_id, title, description, place, starts_at, ends_at, signup_deadline,"
        " capacity, offer_hours, survey, reminder_offsets, categories, has_groups, status, created_by,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'published', ?, ?, ?)",
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
        ),
    )
    await tx.executemany(
        "INSERT INTO activity_groups (activity_id, group_id) VALUES (?, ?)", [(activity_id, g) for g in new.group_ids]
    )
    return activity_id


async def activity_in_tx(tx: Tx, activity_id: int) -> Activity | None:
    row = await tx.fetchone(f"SELECT {_ACT_COLS} FROM activities a WHERE a.id = ?", (activity_id,))  # noqa: S608
    return None if row is None else _activity(row)


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


# --- sign-ups (the hot path) -------------------------------------------------------------------
_SIGNUP_CONTEXT = (
    f"SELECT {_ACT_COLS}, m.id AS member_id, m.status AS member_status, m.category,"  # noqa: S608
    " COALESCE(u.language, u.tg_language) AS language, s.id AS signup_id, s.status AS signup_status"
    " FROM activities a"
    " LEFT JOIN members m ON m.user_id = ?"
    " LEFT JOIN bot_users u ON u.user_id = ?"
    " LEFT JOIN activity_signups s ON s.activity_id = a.id AND s.member_id = m.id"
    " WHERE a.id = ?"
)
_ELIGIBILITY_PATHS = (
    "SELECT 'a' AS side, g.path FROM activity_groups ag JOIN groups g ON g.id = ag.group_id"
    " WHERE ag.activity_id = ?"
    " UNION ALL SELECT 'm' AS side, g.path FROM member_groups mg JOIN groups g ON g.id = mg.group_id"
    " WHERE mg.member_id = ? AND mg.status = 'active'"
)


def _signup_context(row: Row | None) -> SignupContext | None:
    if row is None:
        return None
    return SignupContext(
        activity=_activity(row),
        member_id=row["member_id"],
        member_status=row["member_status"],
        category=row["category"],
        language=row["language"],
        signup_id=row["signup_id"],
        signup_status=row["signup_status"],
    )


def _paths(rows: Sequence[Row]) -> tuple[list[str], list[str]]:
    return [str(r["path"]) for r in rows if r["side"] == "a"], [str(r["path"]) for r in rows if r["side"] == "m"]


async def signup_context(tx: Tx, activity_id: int, user_id: int) -> SignupContext | None:
    return _signup_context(await tx.fetchone(_SIGNUP_CONTEXT, (user_id, user_id, activity_id)))


async def eligibility_paths(tx: Tx | Database, activity_id: int, member_id: int) -> tuple[list[str], list[str]]:
    """(paths of the activity's groups, paths of the member's active groups)."""
    return _paths(await tx.fetchall(_ELIGIBILITY_PATHS, (activity_id, member_id)))


_TAKE_SEAT = (
    "UPDATE activities SET seats_taken = seats_taken + 1 WHERE id = ?"
    " AND (capacity IS NULL OR seats_taken < capacity)"
    " AND NOT EXISTS (SELECT 1 FROM activity_signups w WHERE w.activity_id = ? AND w.status = 'waiting')"
)
_PUT_SIGNUP = (
    "INSERT INTO activity_signups (activity_id, member_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
)
_WAITING_POSITION = "SELECT COUNT(*) FROM activity_signups WHERE activity_id = ? AND status = 'waiting' AND id <= ?"


@dataclass(frozen=True)
class Ticket:
    """What a sign-up got: a seat ('confirmed') or a place on the waitlist ('waiting', position ≥ 1)."""

    status: str
    signup_id: int
    position: int = 0


def _seat_or_waitlist(
    conn: SyncTx, activity_id: int, member_id: int, stamp: str, old_id: int | None
) -> Ticket:
    """Hold a seat if one is free and nobody is waiting (first come, first served), else queue.

    Writes a fresh sign-up row (replacing the member's inactive old row `old_id`) and, when
    queued, counts the position.
    """
    status = "confirmed" if conn.execute(_TAKE_SEAT, (activity_id, activity_id)) == 1 else "waiting"
    if old_id is not None:
        conn.execute("DELETE FROM activity_signups WHERE id = ?", (old_id,))
    signup_id = conn.insert(_PUT_SIGNUP, (activity_id, member_id, status, stamp, stamp))
    if status == "confirmed":
        return Ticket(status, signup_id)
    return Ticket(status, signup_id, _count(conn, _WAITING_POSITION, (activity_id, signup_id)))


def _count(conn: SyncTx, sql: str, params: Sequence[Any]) -> int:
    row = conn.fetchone(sql, params)
    return 0 if row is None else int(row[0])


@dataclass(frozen=True)
class SignupAttempt:
    """What one sign-up found and did: the context, the refusal (a code of the judge's) or the ticket."""

    context: SignupContext | None
    refusal: str | None = None
    ticket: Ticket | None = None
    position: int = 0  # place on the waitlist of a member who was already waiting


# Decides whether a sign-up may go ahead: (context, (activity's group paths, member's group paths))
# -> None, or the reason it may not. Pure: it runs on the database thread, inside the transaction.
Judge = Callable[[SignupContext, tuple[list[str], list[str]]], str | None]


def _attempt(conn: SyncTx, activity_id: int, user_id: int, stamp: str, judge: Judge) -> SignupAttempt:
    ctx = _signup_context(conn.fetchone(_SIGNUP_CONTEXT, (user_id, user_id, activity_id)))
    if ctx is None:
        return SignupAttempt(None)
    paths: tuple[list[str], list[str]] = ([], [])
    if ctx.activity.has_groups and ctx.member_id is not None:
        paths = _paths(conn.fetchall(_ELIGIBILITY_PATHS, (activity_id, ctx.member_id)))
    refusal = judge(ctx, paths)
    if refusal is not None:
        position = 0
        if ctx.signup_status == "waiting" and ctx.signup_id is not None:
            position = _count(conn, _WAITING_POSITION, (activity_id, ctx.signup_id))
        return SignupAttempt(ctx, refusal, position=position)
    if ctx.member_id is None:
        raise ValueError("the judge let someone who is not a member sign up")
    return SignupAttempt(ctx, ticket=_seat_or_waitlist(conn, activity_id, ctx.member_id, stamp, ctx.signup_id))


async def sign_up(
    db: Database, activity_ids: Sequence[int], user_id: int, now: datetime, judge: Judge
) -> list[SignupAttempt]:
    """Sign the user up for each activity (all or nothing), in one write transaction and one trip.

    `judge` decides each one from what the database holds at that moment; an activity that does
    not exist gives an attempt without context.
    """
    stamp = to_db(now)

    def work(conn: SyncTx) -> list[SignupAttempt]:
        return [_attempt(conn, activity_id, user_id, stamp, judge) for activity_id in activity_ids]

    return await db.write(work)


async def add_seat(tx: Tx, activity_id: int) -> None:
    """Count one more seat taken (the caller checked that one is free)."""
    await tx.execute("UPDATE activities SET seats_taken = seats_taken + 1 WHERE id = ?", (activity_id,))


async def free_seat(tx: Tx, activity_id: int) -> None:
    await tx.execute("UPDATE activities SET seats_taken = seats_taken - 1 WHERE id = ?", (activity_id,))


async def put_signup(tx: Tx, activity_id: int, member_id: int, status: str, now: datetime, old_id: int | None) -> int:
    """A fresh sign-up row (a new queue ticket); replaces an inactive old row of the member."""
    if old_id is not None:
        await tx.execute("DELETE FROM activity_signups WHERE id = ?", (old_id,))
    return await tx.insert(_PUT_SIGNUP, (activity_id, member_id, status, to_db(now), to_db(now)))


async def waiting_position(tx: Tx | Database, activity_id: int, signup_id: int) -> int:
    return int(await tx.fetchval(_WAITING_POSITION, (activity_id, signup_id)))


async def set_signup_status(
    tx: Tx, signup_id: int, status: str, now: datetime, offer_expires: datetime | None = None, expect: str | None = None
) -> bool:
    sql = "UPDATE activity_signups SET status = ?, offer_expires = ?, updated_at = ? WHERE id = ?"
    params: list[Any] = [status, None if offer_expires is None else to_db(offer_expires), to_db(now), signup_id]
    if expect is not None:
        sql += " AND status = ?"
        params.append(expect)
    return await tx.execute(sql, params) == 1


async def signup_of(tx: Tx | Database, signup_id: int) -> Signup | None:
    row = await tx.fetchone(
        "SELECT id, activity_id, member_id, status, offer_expires, checked_in_at FROM activity_signups WHERE id = ?",
        (signup_id,),
    )
    return None if row is None else _signup(row)


async def member_signup(tx: Tx | Database, activity_id: int, member_id: int) -> Signup | None:
    row = await tx.fetchone(
        "SELECT id, activity_id, member_id, status, offer_expires, checked_in_at FROM activity_signups"
        " WHERE activity_id = ? AND member_id = ?",
        (activity_id, member_id),
    )
    return None if row is None else _signup(row)


def _signup(row: Row) -> Signup:
    return Signup(
        int(row["id"]),
        int(row["activity_id"]),
        int(row["member_id"]),
        str(row["status"]),
        opt_from_db(row["offer_expires"]),
        opt_from_db(row["checked_in_at"]),
    )


async def first_waiting(tx: Tx, activity_id: int) -> Signup | None:
    row = await tx.fetchone(
        "SELECT id, activity_id, member_id, status, offer_expires, checked_in_at FROM activity_signups"
        " WHERE activity_id = ? AND status = 'waiting' ORDER BY id LIMIT 1",
        (activity_id,),
    )
    return None if row is None else _signup(row)


async def holders(tx: Tx | Database, activity_id: int, statuses: tuple[str, ...]) -> list[Recipient]:
    marks = ", ".join("?" for _ in statuses)
    rows = await tx.fetchall(
        "SELECT m.id, m.user_id, m.category, COALESCE(u.language, u.tg_language) AS language"  # noqa: S608
        " FROM activity_signups s"
        " JOIN members m ON m.id = s.member_id LEFT JOIN bot_users u ON u.user_id = m.user_id"
        f" WHERE s.activity_id = ? AND s.status IN ({marks}) AND m.user_id IS NOT NULL ORDER BY s.id",
        (activity_id, *statuses),
    )
    return [Recipient(int(r["id"]), int(r["user_id"]), r["language"], r["category"], ()) for r in rows]


async def checked_in(tx: Tx | Database, activity_id: int) -> list[Recipient]:
    rows = await tx.fetchall(
        "SELECT m.id, m.user_id, COALESCE(u.language, u.tg_language) AS language"
        " FROM activity_signups s JOIN members m ON m.id = s.member_id"
        " LEFT JOIN bot_users u ON u.user_id = m.user_id"
        " WHERE s.activity_id = ? AND s.checked_in_at IS NOT NULL AND m.user_id IS NOT NULL ORDER BY s.id",
        (activity_id,),
    )
    return [Recipient(int(r["id"]), int(r["user_id"]), r["language"], None, ()) for r in rows]


async def mark_checked_in(tx: Tx, activity_id: int, member_id: int, now: datetime) -> bool:
    return (
        await tx.execute(
            "UPDATE activity_signups SET checked_in_at = ?, updated_at = ? WHERE activity_id = ? AND member_id = ?"
            " AND status = 'confirmed' AND checked_in_at IS NULL",
            (to_db(now), to_db(now), activity_id, member_id),
        )
        == 1
    )


async def member_recipient(tx: Tx | Database, member_id: int) -> Recipient | None:
    row = await tx.fetchone(
        "SELECT m.id, m.user_id, m.category, COALESCE(u.language, u.tg_language) AS language FROM members m"
        " LEFT JOIN bot_users u ON u.user_id = m.user_id WHERE m.id = ? AND m.user_id IS NOT NULL",
        (member_id,),
    )
    return None if row is None else Recipient(int(row["id"]), int(row["user_id"]), row["language"], row["category"], ())


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


async def group_paths(tx: Tx | Database, group_ids: tuple[int, ...]) -> dict[int, str]:
    if not group_ids:
        return {}
    marks = ", ".join("?" for _ in group_ids)
    rows = await tx.fetchall(f"SELECT id, path FROM groups WHERE id IN ({marks})", group_ids)  # noqa: S608
    return {int(r["id"]): str(r["path"]) for r in rows}


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


async def next_due_at(db: Database) -> datetime | None:
    value = await db.fetchval("SELECT MIN(due_at) FROM activity_due WHERE status = 'pending'")
    return None if value is None else from_db(str(value))


# --- surveys -----------------------------------------------------------------------------------
async def save_rating(tx: Tx, activity_id: int, member_id: int, rating: int, now: datetime) -> None:
    await tx.execute(
        "INSERT INTO activity_survey (activity_id, member_id, rating, answered_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (activity_id, member_id)"
        " DO UPDATE SET rating = excluded.rating, answered_at = excluded.answered_at",
        (activity_id, member_id, rating, to_db(now)),
    )


async def save_comment(tx: Tx, activity_id: int, member_id: int, comment: str) -> bool:
    return (
        await tx.execute(
            "UPDATE activity_survey SET comment = ? WHERE activity_id = ? AND member_id = ?",
            (comment, activity_id, member_id),
        )
        == 1
    )


def manageable_clause(scope_paths: Sequence[str] | None, user_id: int | None, params: list[Any]) -> str:
    """Activities (alias `a`) the coordinator may manage, as bot/activities.ActivityService.manageable
    decides: everything (`scope_paths` None), their own, or ones whose groups all lie inside the scope."""
    if scope_paths is None:
        return "1 = 1"
    mine = "a.created_by = ?"
    params.append(-1 if user_id is None else user_id)
    if not scope_paths:
        return mine
    inside = path_clause("g", scope_paths, params)
    return (
        f"({mine} OR (EXISTS (SELECT 1 FROM activity_groups ag WHERE ag.activity_id = a.id)"  # noqa: S608 - fixed clauses, values are parameters
        " AND NOT EXISTS (SELECT 1 FROM activity_groups ag JOIN groups g ON g.id = ag.group_id"
        f" WHERE ag.activity_id = a.id AND NOT {inside})))"
    )


class ActivityRepo:
    """Reads outside write transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, activity_id: int) -> Activity | None:
        row = await self.db.fetchone(f"SELECT {_ACT_COLS} FROM activities a WHERE a.id = ?", (activity_id,))  # noqa: S608
        return None if row is None else _activity(row)

    async def group_paths_of(self, activity_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT g.path FROM activity_groups ag JOIN groups g ON g.id = ag.group_id WHERE ag.activity_id = ?",
            (activity_id,),
        )
        return [str(r["path"]) for r in rows]

    async def upcoming(self, now: datetime, limit: int = 200) -> list[Activity]:
        rows = await self.db.fetchall(
            f"SELECT {_ACT_COLS} FROM activities a WHERE a.status IN ('published', 'closed') AND a.ends_at > ?"  # noqa: S608
            " ORDER BY a.starts_at, a.id LIMIT ?",
            (to_db(now), limit),
        )
        return [_activity(r) for r in rows]

    async def manageable_upcoming(
        self, since: datetime, scope_paths: Sequence[str] | None, user_id: int, limit: int = 500
    ) -> list[Activity]:
        """Published or closed activities ending after `since` that the coordinator may manage, in one query."""
        params: list[Any] = [to_db(since)]
        where = manageable_clause(scope_paths, user_id, params)
        rows = await self.db.fetchall(
            f"SELECT {_ACT_COLS} FROM activities a WHERE a.status IN ('published', 'closed') AND a.ends_at > ?"  # noqa: S608
            f" AND {where} ORDER BY a.starts_at, a.id LIMIT ?",
            (*params, limit),
        )
        return [_activity(r) for r in rows]

    async def series_members(self, series_id: int, now: datetime) -> list[Activity]:
        rows = await self.db.fetchall(
            f"SELECT {_ACT_COLS} FROM activities a WHERE a.series_id = ? AND a.status = 'published'"  # noqa: S608
            " AND a.signup_deadline > ? ORDER BY a.starts_at",
            (series_id, to_db(now)),
        )
        return [_activity(r) for r in rows]

    async def statuses_for_member(self, member_id: int, activity_ids: list[int]) -> dict[int, str]:
        if not activity_ids:
            return {}
        marks = ", ".join("?" for _ in activity_ids)
        rows = await self.db.fetchall(
            f"SELECT activity_id, status FROM activity_signups WHERE member_id = ? AND activity_id IN ({marks})",  # noqa: S608
            (member_id, *activity_ids),
        )
        return {int(r["activity_id"]): str(r["status"]) for r in rows}

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

    async def roster(self, activity_id: int) -> list[RosterEntry]:
        rows = await self.db.fetchall(
            "SELECT s.id, s.member_id, m.user_id, m.name, s.status, s.checked_in_at, s.created_at"
            " FROM activity_signups s JOIN members m ON m.id = s.member_id WHERE s.activity_id = ? ORDER BY s.id",
            (activity_id,),
        )
        return [
            RosterEntry(
                int(r["id"]),
                int(r["member_id"]),
                r["user_id"],
                str(r["name"] or ""),
                str(r["status"]),
                opt_from_db(r["checked_in_at"]),
                from_db(r["created_at"]),
            )
            for r in rows
        ]

    async def signups(self, activity_id: int) -> list[Signup]:
        rows = await self.db.fetchall(
            "SELECT id, activity_id, member_id, status, offer_expires, checked_in_at FROM activity_signups"
            " WHERE activity_id = ? ORDER BY id",
            (activity_id,),
        )
        return [_signup(r) for r in rows]

    async def member_signup(self, activity_id: int, member_id: int) -> Signup | None:
        return await member_signup(self.db, activity_id, member_id)

    async def confirmed_with_code(self, member_id: int, code: str) -> list[Activity]:
        rows = await self.db.fetchall(
            f"SELECT {_ACT_COLS} FROM activities a JOIN activity_signups s ON s.activity_id = a.id"  # noqa: S608
            " WHERE s.member_id = ? AND s.status = 'confirmed' AND a.checkin_code = ? AND a.status != 'cancelled'",
            (member_id, code),
        )
        return [_activity(r) for r in rows]

    async def survey_results(self, activity_id: int) -> list[tuple[int, str | None]]:
        rows = await self.db.fetchall(
            "SELECT rating, comment FROM activity_survey WHERE activity_id = ? ORDER BY answered_at", (activity_id,)
        )
        return [(int(r["rating"]), r["comment"]) for r in rows]

    async def due_items(self, activity_id: int) -> list[tuple[str, int, str, str | None]]:
        rows = await self.db.fetchall(
            "SELECT kind, tag, status, note FROM activity_due WHERE activity_id = ? ORDER BY id", (activity_id,)
        )
        return [(str(r["kind"]), int(r["tag"]), str(r["status"]), r["note"]) for r in rows]

    async def next_due_at(self) -> datetime | None:
        return await next_due_at(self.db)

    async def due_ids(self, now: datetime) -> list[int]:
        return await due_ids(self.db, now)


async def all_groups(db: Database) -> list[tuple[int, str, str]]:
    """(id, name, path) of every live group, in tree order."""
    rows = await db.fetchall("SELECT id, name, path FROM groups WHERE archived_at IS NULL ORDER BY path, id")
    return [(int(r["id"]), str(r["name"]), str(r["path"])) for r in rows]
