"""SQL of the feedback loop: items, author links, notes, deadline jobs, digests.

Reads are `FeedbackRepo` methods; writes are functions taking the caller's `Tx` (the service owns
the transaction, its audit row and its outbox messages). Scope conditions come from storage/scope.

Anonymity rule: coordinator-facing reads (`queue`, `item`, `export_ids`, `notes`, ...) never read
`feedback_authors`; only member-facing reads (`for_member`, `author_of`) and the daily-limit
count do. Non-anonymous items carry `author_member_id` for the coordinators.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.feedback.models import (
    OPEN_STATUSES,
    Appointment,
    Created,
    DigestEntry,
    DueJob,
    Item,
    JobTarget,
    MemberItem,
    NewFeedback,
    Note,
    QueueRow,
    Recipient,
)
from storage.db import Database, Row, Tx
from storage.scope import Paths, feedback_in, member_in
from storage.timefmt import from_db, opt_from_db, to_db


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


class FeedbackRepo:
    """Reads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- members --------------------------------------------------------------------------------
    async def count_since(self, member_id: int, since: datetime) -> int:
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM feedback_authors WHERE member_id = ? AND created_at >= ?",
            (member_id, to_db(since)),
        )
        return int(value or 0)

    async def for_member(self, member_id: int, limit: int = 20) -> list[MemberItem]:
        rows = await self._db.fetchall(
            "SELECT f.id, f.ref, f.kind, f.status, f.body, f.answer, f.helpful, f.reopened_at, f.created_at"
            " FROM feedback_items f JOIN feedback_authors a ON a.feedback_id = f.id"
            " WHERE a.member_id = ? ORDER BY f.id DESC LIMIT ?",
            (member_id, limit),
        )
        return [
            MemberItem(
                int(r["id"]),
                r["ref"],
                r["kind"],
                r["status"],
                r["body"],
                r["answer"],
                _opt_bool(r["helpful"]),
                r["reopened_at"] is not None,
                from_db(r["created_at"]),
            )
            for r in rows
        ]

    async def author_of(self, item_id: int) -> tuple[int, int] | None:
        """(member_id, user_id) of the author, for routing only; None once forgotten."""
        row = await self._db.fetchone(
            "SELECT member_id, user_id FROM feedback_authors WHERE feedback_id = ?", (item_id,)
        )
        return None if row is None else (int(row["member_id"]), int(row["user_id"]))

    # --- coordinators -------------------------------------------------------------------------------
    async def queue(
        self, paths: Paths, status: str | None, kind: str | None, group_path: str | None, limit: int, offset: int
    ) -> tuple[list[QueueRow], int]:
        """Items in scope (optionally of one group's subtree), newest first, and the total count."""
        clause, scope_params = feedback_in(paths, "f.id")
        params = list(scope_params)  # the builders' TRUE/FALSE share one list: never extend it in place
        where = [clause]
        if status:
            where.append("f.status = ?")
            params.append(status)
        if kind:
            where.append("f.kind = ?")
            params.append(kind)
        if group_path:
            group_clause, group_params = feedback_in([group_path], "f.id")
            where.append(group_clause)
            params.extend(group_params)
        cond = " AND ".join(where)
        total = await self._db.fetchval(f"SELECT COUNT(*) FROM feedback_items f WHERE {cond}", params)  # noqa: S608
        rows = await self._db.fetchall(
            f"SELECT f.id, f.ref, f.kind, f.status FROM feedback_items f WHERE {cond}"  # noqa: S608
            " ORDER BY f.id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [QueueRow(int(r["id"]), r["ref"], r["kind"], r["status"]) for r in rows], int(total or 0)

    async def item(self, item_id: int) -> Item | None:
        row = await self._db.fetchone(
            "SELECT f.*, m.name AS author_name FROM feedback_items f"
            " LEFT JOIN members m ON m.id = f.author_member_id AND f.anonymous = 0 WHERE f.id = ?",
            (item_id,),
        )
        if row is None:
            return None
        groups = await self._db.fetchall(
            "SELECT fg.path, g.name FROM feedback_groups fg LEFT JOIN groups g ON g.id = fg.group_id"
            " WHERE fg.feedback_id = ? ORDER BY fg.path",
            (item_id,),
        )
        files = await self._db.fetchall(
            "SELECT type, file_id FROM feedback_attachments WHERE feedback_id = ? ORDER BY id", (item_id,)
        )
        return _item(row, groups, files)

    async def export_items(self, paths: Paths) -> list[Item]:
        clause, params = feedback_in(paths, "f.id")
        rows = await self._db.fetchall(f"SELECT f.id FROM feedback_items f WHERE {clause} ORDER BY f.id", params)  # noqa: S608
        items = [await self.item(int(r["id"])) for r in rows]
        return [i for i in items if i is not None]

    async def notes(self, item_id: int) -> list[Note]:
        rows = await self._db.fetchall(
            "SELECT author_user_id, body, created_at FROM feedback_notes WHERE feedback_id = ? ORDER BY id",
            (item_id,),
        )
        return [Note(int(r["author_user_id"]), r["body"], from_db(r["created_at"])) for r in rows]

    async def appointments(self) -> list[Appointment]:
        """Every coordinator appointment to a live group."""
        rows = await self._db.fetchall(
            "SELECT c.user_id, g.path, g.parent_id FROM coordinators c JOIN groups g ON g.id = c.group_id"
            " WHERE g.archived_at IS NULL ORDER BY c.user_id"
        )
        return [Appointment(int(r["user_id"]), str(r["path"]), r["parent_id"]) for r in rows]

    async def display_name(self, user_id: int) -> str | None:
        value = await self._db.fetchval("SELECT name FROM members WHERE user_id = ?", (user_id,))
        return None if value is None else str(value)

    # --- deadline jobs -------------------------------------------------------------------------------
    async def due_jobs(self, now: datetime) -> list[DueJob]:
        rows = await self._db.fetchall(
            "SELECT id, feedback_id, kind FROM feedback_jobs WHERE claimed_at IS NULL AND due_at <= ?"
            " ORDER BY due_at, id",
            (to_db(now),),
        )
        return [DueJob(int(r["id"]), int(r["feedback_id"]), r["kind"]) for r in rows]

    async def next_due(self) -> datetime | None:
        value = await self._db.fetchval("SELECT MIN(due_at) FROM feedback_jobs WHERE claimed_at IS NULL")
        return opt_from_db(value)

    # --- digest ----------------------------------------------------------------------------------------
    async def answered_suggestions(self, paths: Paths, since: datetime, limit: int) -> list[DigestEntry]:
        clause, params = feedback_in(paths, "f.id")
        rows = await self._db.fetchall(
            f"SELECT f.ref, f.body, f.answer FROM feedback_items f WHERE {clause} AND f.kind = 'suggestion'"  # noqa: S608
            " AND f.status IN ('answered', 'closed') AND f.answer IS NOT NULL AND f.answered_at >= ?"
            " ORDER BY f.answered_at DESC LIMIT ?",
            (*params, to_db(since), limit),
        )
        return [DigestEntry(r["ref"], r["body"], r["answer"]) for r in rows]


def _item(row: Row, groups: Sequence[Row], files: Sequence[Row]) -> Item:
    return Item(
        id=int(row["id"]),
        ref=row["ref"],
        kind=row["kind"],
        body=row["body"],
        anonymous=bool(row["anonymous"]),
        author_name=None if row["anonymous"] else row["author_name"],
        status=row["status"],
        assignee_user_id=row["assignee_user_id"],
        answer=row["answer"],
        helpful=_opt_bool(row["helpful"]),
        reopen_comment=row["reopen_comment"],
        due_at=from_db(row["due_at"]),
        created_at=from_db(row["created_at"]),
        group_names=tuple(str(g["name"] or "") for g in groups),
        paths=tuple(str(g["path"]) for g in groups),
        attachments=tuple((str(f["type"]), str(f["file_id"])) for f in files),
    )


# --- writes (inside the service's transaction) ------------------------------------------------------
async def used_since(tx: Tx, member_id: int, since: datetime) -> int:
    """Items the member submitted since `since` (the daily limit, counted inside the transaction)."""
    value = await tx.fetchval(
        "SELECT COUNT(*) FROM feedback_authors WHERE member_id = ? AND created_at >= ?", (member_id, to_db(since))
    )
    return int(value or 0)


async def insert_item(tx: Tx, new: NewFeedback, now: datetime, due_at: datetime, remind_at: datetime) -> Created:
    """An item with its author link, its scope groups (the author's at submission) and deadline jobs."""
    year = now.year
    seq = int(await tx.fetchval("SELECT COALESCE(MAX(seq), 0) + 1 FROM feedback_items WHERE year = ?", (year,)))
    ref = f"FB-{year}-{seq:04d}"
    item_id = await tx.insert(
        "INSERT INTO feedback_items (year, seq, ref, kind, body, anonymous, author_member_id, status,"
        " due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?)",
        (
            year,
            seq,
            ref,
            new.kind,
            new.body,
            int(new.anonymous),
            None if new.anonymous else new.member_id,
            to_db(due_at),
            to_db(now),
            to_db(now),
        ),
    )
    await tx.execute(
        "INSERT INTO feedback_groups (feedback_id, group_id, path)"
        " SELECT ?, g.id, g.path FROM member_groups mg JOIN groups g ON g.id = mg.group_id"
        " WHERE mg.member_id = ? AND mg.status = 'active'",
        (item_id, new.member_id),
    )
    await tx.execute(
        "INSERT INTO feedback_authors (feedback_id, member_id, user_id, created_at) VALUES (?, ?, ?, ?)",
        (item_id, new.member_id, new.user_id, to_db(now)),
    )
    await tx.executemany(
        "INSERT INTO feedback_attachments (feedback_id, type, file_id) VALUES (?, ?, ?)",
        [(item_id, t, f) for t, f in new.attachments],
    )
    await tx.executemany(
        "INSERT INTO feedback_jobs (feedback_id, kind, due_at) VALUES (?, ?, ?)",
        [(item_id, "remind", to_db(remind_at)), (item_id, "escalate", to_db(due_at))],
    )
    return Created(item_id, ref)


async def ref_of(tx: Tx, item_id: int) -> str:
    return str(await tx.fetchval("SELECT ref FROM feedback_items WHERE id = ?", (item_id,)))


async def set_helpful(tx: Tx, item_id: int, member_id: int, helpful: bool, now: datetime) -> bool:
    changed = await tx.execute(
        "UPDATE feedback_items SET helpful = ?, updated_at = ?"
        " WHERE id = ? AND status IN ('answered', 'closed')"
        " AND EXISTS (SELECT 1 FROM feedback_authors a WHERE a.feedback_id = feedback_items.id"
        " AND a.member_id = ?)",
        (int(helpful), to_db(now), item_id, member_id),
    )
    return changed == 1


async def reopen(tx: Tx, item_id: int, member_id: int, comment: str, now: datetime, due_at: datetime) -> bool:
    """Reopen an answered item once (its author only); the escalation is re-armed for the new due time."""
    changed = await tx.execute(
        "UPDATE feedback_items SET status = CASE WHEN assignee_user_id IS NULL THEN 'new' ELSE 'in_progress'"
        " END, reopened_at = ?, reopen_comment = ?, due_at = ?, updated_at = ?, closed_at = NULL"
        " WHERE id = ? AND status IN ('answered', 'closed') AND reopened_at IS NULL"
        " AND EXISTS (SELECT 1 FROM feedback_authors a WHERE a.feedback_id = feedback_items.id"
        " AND a.member_id = ?)",
        (to_db(now), comment, to_db(due_at), to_db(now), item_id, member_id),
    )
    if changed != 1:
        return False
    await tx.execute(
        "UPDATE feedback_jobs SET due_at = ?, claimed_at = NULL, outcome = NULL"
        " WHERE feedback_id = ? AND kind = 'escalate'",
        (to_db(due_at), item_id),
    )
    return True


async def forget_member(tx: Tx, member_id: int) -> int:
    await tx.execute("UPDATE feedback_items SET author_member_id = NULL WHERE author_member_id = ?", (member_id,))
    return await tx.execute("DELETE FROM feedback_authors WHERE member_id = ?", (member_id,))


async def _transition(tx: Tx, item_id: int, sql_set: str, params: Sequence[Any], allowed: Sequence[str]) -> bool:
    marks = ", ".join("?" for _ in allowed)
    changed = await tx.execute(
        f"UPDATE feedback_items SET {sql_set} WHERE id = ? AND status IN ({marks})",  # noqa: S608
        (*params, item_id, *allowed),
    )
    return changed == 1


async def assign(tx: Tx, item_id: int, to_user: int, now: datetime) -> bool:
    return await _transition(
        tx,
        item_id,
        "assignee_user_id = ?, status = CASE WHEN status = 'new' THEN 'assigned' ELSE status END, updated_at = ?",
        (to_user, to_db(now)),
        OPEN_STATUSES,
    )


async def start_work(tx: Tx, item_id: int, now: datetime) -> bool:
    return await _transition(tx, item_id, "status = 'in_progress', updated_at = ?", (to_db(now),), ("assigned", "new"))


async def add_note(tx: Tx, item_id: int, by_user: int, body: str, now: datetime) -> bool:
    if not await tx.fetchval("SELECT 1 FROM feedback_items WHERE id = ?", (item_id,)):
        return False
    await tx.insert(
        "INSERT INTO feedback_notes (feedback_id, author_user_id, body, created_at) VALUES (?, ?, ?, ?)",
        (item_id, by_user, body, to_db(now)),
    )
    return True


async def answer(tx: Tx, item_id: int, by_user: int, text: str, now: datetime) -> bool:
    return await _transition(
        tx,
        item_id,
        "answer = ?, answered_at = ?, answered_by = ?, status = 'answered', helpful = NULL, updated_at = ?,"
        " assignee_user_id = COALESCE(assignee_user_id, ?)",
        (text, to_db(now), by_user, to_db(now), by_user),
        OPEN_STATUSES,
    )


async def close(tx: Tx, item_id: int, now: datetime) -> bool:
    return await _transition(
        tx, item_id, "status = 'closed', closed_at = ?, updated_at = ?", (to_db(now), to_db(now)),
        (*OPEN_STATUSES, "answered"),
    )


async def claim(tx: Tx, job_id: int, now: datetime) -> JobTarget | None:
    """Claim a due job (once: the UPDATE only succeeds for an unclaimed row); None when not to act.

    The job's outcome is 'fired' while its item is open, else 'skipped' (and None is returned).
    """
    changed = await tx.execute(
        "UPDATE feedback_jobs SET claimed_at = ? WHERE id = ? AND claimed_at IS NULL AND due_at <= ?",
        (to_db(now), job_id, to_db(now)),
    )
    if changed != 1:
        return None
    row = await tx.fetchone(
        "SELECT j.kind AS job_kind, f.id, f.ref, f.kind, f.status, f.assignee_user_id, f.due_at"
        " FROM feedback_jobs j JOIN feedback_items f ON f.id = j.feedback_id WHERE j.id = ?",
        (job_id,),
    )
    if row is None:
        return None
    open_ = row["status"] in OPEN_STATUSES
    await tx.execute("UPDATE feedback_jobs SET outcome = ? WHERE id = ?", ("fired" if open_ else "skipped", job_id))
    if not open_:
        return None
    return JobTarget(
        job_id,
        row["job_kind"],
        int(row["id"]),
        row["ref"],
        row["kind"],
        row["status"],
        row["assignee_user_id"],
        from_db(row["due_at"]),
    )


async def digest_recipients(tx: Tx, paths: Paths) -> list[Recipient]:
    """Active members of the segment with a Telegram account, and their resolved language."""
    # everything ("/"): still only members with an active membership of a live group
    cond, params = member_in(paths if paths is not None else ("/",), "m.id", active_only=True)
    rows = await tx.fetchall(
        "SELECT m.id, m.user_id, COALESCE(b.language, b.tg_language) AS language FROM members m"  # noqa: S608
        " LEFT JOIN bot_users b ON b.user_id = m.user_id"
        f" WHERE m.status = 'active' AND m.user_id IS NOT NULL AND {cond} ORDER BY m.id",
        params,
    )
    return [Recipient(int(r["id"]), int(r["user_id"]), r["language"]) for r in rows]


async def insert_digest(tx: Tx, by_user: int, items: int, recipients: int, now: datetime) -> int:
    return await tx.insert(
        "INSERT INTO feedback_digests (sent_by, group_id, items, recipients, created_at) VALUES (?, NULL, ?, ?, ?)",
        (by_user, items, recipients, to_db(now)),
    )
