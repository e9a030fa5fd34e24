"""SQL for sign-ups: the one-trip sign-up (capacity and waitlist), sign-up rows, the people
holding seats, check-in and the rating survey.

Capacity is enforced by a conditional UPDATE of `activities.seats_taken` (and its CHECK
constraint), uniqueness by UNIQUE(activity_id, member_id); the waitlist order is the row id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.activities.models import (
    Activity,
    MemberSignup,
    Recipient,
    RosterEntry,
    Signup,
    SignupAttempt,
    SignupContext,
    Ticket,
)
from storage.activities import ACT_COLS, activity_from_row
from storage.db import Database, Row, SyncTx, Tx
from storage.timefmt import from_db, opt_from_db, to_db

# --- sign-ups (the hot path) -------------------------------------------------------------------
_SIGNUP_CONTEXT = (
    f"SELECT {ACT_COLS}, m.id AS member_id, m.status AS member_status, m.category,"  # noqa: S608
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
        activity=activity_from_row(row),
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


_TAKE_SEAT = (
    "UPDATE activities SET seats_taken = seats_taken + 1 WHERE id = ?"
    " AND (capacity IS NULL OR seats_taken < capacity)"
    " AND NOT EXISTS (SELECT 1 FROM activity_signups w WHERE w.activity_id = ? AND w.status = 'waiting')"
)
_PUT_SIGNUP = (
    "INSERT INTO activity_signups (activity_id, member_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
)
_WAITING_POSITION = "SELECT COUNT(*) FROM activity_signups WHERE activity_id = ? AND status = 'waiting' AND id <= ?"


def _seat_or_waitlist(conn: SyncTx, activity_id: int, member_id: int, stamp: str, old_id: int | None) -> Ticket:
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


async def unmark_checked_in(tx: Tx, activity_id: int, member_id: int, now: datetime) -> bool:
    """Undo a check-in (a coordinator's second tap); False when the member was not checked in."""
    return (
        await tx.execute(
            "UPDATE activity_signups SET checked_in_at = NULL, updated_at = ? WHERE activity_id = ? AND member_id = ?"
            " AND checked_in_at IS NOT NULL",
            (to_db(now), activity_id, member_id),
        )
        == 1
    )


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


class SignupRepo:
    """Reads of sign-ups outside write transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def statuses_for_member(self, member_id: int, activity_ids: list[int]) -> dict[int, str]:
        if not activity_ids:
            return {}
        marks = ", ".join("?" for _ in activity_ids)
        rows = await self.db.fetchall(
            f"SELECT activity_id, status FROM activity_signups WHERE member_id = ? AND activity_id IN ({marks})",  # noqa: S608
            (member_id, *activity_ids),
        )
        return {int(r["activity_id"]): str(r["status"]) for r in rows}

    async def roster(self, activity_id: int) -> list[RosterEntry]:
        rows = await self.db.fetchall(
            "SELECT s.id, s.member_id, m.user_id, m.name, s.status, s.checked_in_at, s.created_at,"
            " m.organisation, m.phone"
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
                str(r["organisation"] or ""),
                str(r["phone"] or ""),
            )
            for r in rows
        ]

    async def member_signup(self, activity_id: int, member_id: int) -> Signup | None:
        return await member_signup(self.db, activity_id, member_id)

    async def confirmed_with_code(self, member_id: int, code: str) -> list[Activity]:
        rows = await self.db.fetchall(
            f"SELECT {ACT_COLS} FROM activities a JOIN activity_signups s ON s.activity_id = a.id"  # noqa: S608
            " WHERE s.member_id = ? AND s.status = 'confirmed' AND a.checkin_code = ? AND a.status != 'cancelled'",
            (member_id, code),
        )
        return [activity_from_row(r) for r in rows]

    async def survey_results(self, activity_id: int) -> list[tuple[int, str | None]]:
        rows = await self.db.fetchall(
            "SELECT rating, comment FROM activity_survey WHERE activity_id = ? ORDER BY answered_at", (activity_id,)
        )
        return [(int(r["rating"]), r["comment"]) for r in rows]

    async def history(self, member_id: int) -> list[MemberSignup]:
        """Every sign-up of the member, with the activity's title and their rating (for /mydata)."""
        rows = await self.db.fetchall(
            "SELECT a.title, a.starts_at, s.status, s.created_at, s.checked_in_at, r.rating, r.comment"
            " FROM activity_signups s JOIN activities a ON a.id = s.activity_id"
            " LEFT JOIN activity_survey r ON r.activity_id = s.activity_id AND r.member_id = s.member_id"
            " WHERE s.member_id = ? ORDER BY a.starts_at, a.id",
            (member_id,),
        )
        return [
            MemberSignup(
                str(r["title"]),
                from_db(r["starts_at"]),
                str(r["status"]),
                from_db(r["created_at"]),
                opt_from_db(r["checked_in_at"]),
                r["rating"],
                r["comment"],
            )
            for r in rows
        ]
