"""SQL of the feedback loop: items, author links, notes, deadline jobs, digests.

Anonymity rule: coordinator-facing reads (`queue`, `item`, `export_rows`, `notes`, ...) never
read `feedback_authors`; only member-facing reads (`for_member`, `author_of`) and the
daily-limit count do. Non-anonymous items carry `author_member_id` for the coordinators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import audit, outbox
from storage.db import Database, Tx
from storage.timefmt import from_db, opt_from_db, to_db

OPEN_STATUSES = ("new", "assigned", "in_progress")


class LimitReached(Exception):
    """The member already submitted the daily maximum."""


@dataclass(frozen=True)
class NewFeedback:
    member_id: int
    user_id: int
    kind: str
    body: str
    anonymous: bool
    attachments: tuple[tuple[str, str], ...]  # (type, file_id)


@dataclass(frozen=True)
class Created:
    id: int
    ref: str


@dataclass(frozen=True)
class MemberItem:
    id: int
    ref: str
    kind: str
    status: str
    body: str
    answer: str | None
    helpful: bool | None
    reopened: bool
    created_at: datetime


@dataclass(frozen=True)
class Item:
    """An item as a coordinator sees it: no author identity when anonymous."""

    id: int
    ref: str
    kind: str
    body: str
    anonymous: bool
    author_name: str | None
    status: str
    assignee_user_id: int | None
    answer: str | None
    helpful: bool | None
    reopen_comment: str | None
    due_at: datetime
    created_at: datetime
    group_names: tuple[str, ...]
    paths: tuple[str, ...]
    attachments: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Note:
    author_user_id: int
    body: str
    created_at: datetime


@dataclass(frozen=True)
class DueJob:
    id: int
    feedback_id: int
    kind: str


@dataclass(frozen=True)
class JobTarget:
    """What a claimed job acts on (no author identity)."""

    job_kind: str
    feedback_id: int
    ref: str
    kind: str
    status: str
    assignee_user_id: int | None
    due_at: datetime


@dataclass(frozen=True)
class DigestEntry:
    ref: str
    body: str
    answer: str


def _scope_clause(paths: Sequence[str] | None, alias: str = "f") -> tuple[str, list[Any]]:
    """SQL restricting items to a scope: None means everything."""
    if paths is None:
        return "1 = 1", []
    if not paths:
        return "1 = 0", []
    likes = " OR ".join("fg.path LIKE ?" for _ in paths)
    return (
        f"EXISTS (SELECT 1 FROM feedback_groups fg WHERE fg.feedback_id = {alias}.id AND ({likes}))",  # noqa: S608
        [p + "%" for p in paths],
    )


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


class FeedbackRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- members --------------------------------------------------------------------------------
    async def count_since(self, member_id: int, since: datetime) -> int:
        value = await self._db.fetchval(
            "SELECT COUNT(*) FROM feedback_authors WHERE member_id = ? AND created_at >= ?",
            (member_id, to_db(since)),
        )
        return int(value or 0)

    async def create(
        self,
        new: NewFeedback,
        now: datetime,
        since: datetime,
        limit: int,
        due_at: datetime,
        remind_at: datetime,
    ) -> Created:
        """Insert an item with its author link, scope groups and deadline jobs (limit checked here)."""
        async with self._db.transaction() as tx:
            used = await tx.fetchval(
                "SELECT COUNT(*) FROM feedback_authors WHERE member_id = ? AND created_at >= ?",
                (new.member_id, to_db(since)),
            )
            if int(used or 0) >= limit:
                raise LimitReached
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

    async def set_helpful(self, item_id: int, member_id: int, helpful: bool, now: datetime) -> bool:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE feedback_items SET helpful = ?, updated_at = ?"
                " WHERE id = ? AND status IN ('answered', 'closed')"
                " AND EXISTS (SELECT 1 FROM feedback_authors a WHERE a.feedback_id = feedback_items.id"
                " AND a.member_id = ?)",
                (int(helpful), to_db(now), item_id, member_id),
            )
        return changed == 1

    async def reopen(self, item_id: int, member_id: int, comment: str, now: datetime, due_at: datetime) -> str | None:
        """Reopen an answered item once; returns its ref, or None when not allowed."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE feedback_items SET status = CASE WHEN assignee_user_id IS NULL THEN 'new' ELSE 'in_progress'"
                " END, reopened_at = ?, reopen_comment = ?, due_at = ?, updated_at = ?, closed_at = NULL"
                " WHERE id = ? AND status IN ('answered', 'closed') AND reopened_at IS NULL"
                " AND EXISTS (SELECT 1 FROM feedback_authors a WHERE a.feedback_id = feedback_items.id"
                " AND a.member_id = ?)",
                (to_db(now), comment, to_db(due_at), to_db(now), item_id, member_id),
            )
            if changed != 1:
                return None
            await tx.execute(
                "UPDATE feedback_jobs SET due_at = ?, claimed_at = NULL, outcome = NULL"
                " WHERE feedback_id = ? AND kind = 'escalate'",
                (to_db(due_at), item_id),
            )
            ref = await tx.fetchval("SELECT ref FROM feedback_items WHERE id = ?", (item_id,))
        return str(ref)

    async def forget_member(self, member_id: int) -> int:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE feedback_items SET author_member_id = NULL WHERE author_member_id = ?", (member_id,)
            )
            return await tx.execute("DELETE FROM feedback_authors WHERE member_id = ?", (member_id,))

    # --- coordinators -------------------------------------------------------------------------------
    async def queue(
        self,
        paths: Sequence[str] | None,
        status: str | None,
        kind: str | None,
        group_path: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[int, str, str, str]], int]:
        """(id, ref, kind, status) of items in scope, newest first, and the total count."""
        clause, params = _scope_clause(paths)
        where = [clause]
        if status:
            where.append("f.status = ?")
            params.append(status)
        if kind:
            where.append("f.kind = ?")
            params.append(kind)
        if group_path:
            where.append("EXISTS (SELECT 1 FROM feedback_groups g2 WHERE g2.feedback_id = f.id AND g2.path LIKE ?)")
            params.append(group_path + "%")
        cond = " AND ".join(where)
        total = await self._db.fetchval(f"SELECT COUNT(*) FROM feedback_items f WHERE {cond}", params)  # noqa: S608
        rows = await self._db.fetchall(
            f"SELECT f.id, f.ref, f.kind, f.status FROM feedback_items f WHERE {cond}"  # noqa: S608
            " ORDER BY f.id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [(int(r["id"]), r["ref"], r["kind"], r["status"]) for r in rows], int(total or 0)

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

    async def export_rows(self, paths: Sequence[str] | None) -> list[Item]:
        clause, params = _scope_clause(paths)
        rows = await self._db.fetchall(f"SELECT f.id FROM feedback_items f WHERE {clause} ORDER BY f.id", params)  # noqa: S608
        items = [await self.item(int(r["id"])) for r in rows]
        return [i for i in items if i is not None]

    async def notes(self, item_id: int) -> list[Note]:
        rows = await self._db.fetchall(
            "SELECT author_user_id, body, created_at FROM feedback_notes WHERE feedback_id = ? ORDER BY id",
            (item_id,),
        )
        return [Note(int(r["author_user_id"]), r["body"], from_db(r["created_at"])) for r in rows]

    async def coordinator_groups(self) -> list[tuple[int, str, int | None]]:
        """(user_id, group path, parent_id) of every appointment to a live group."""
        rows = await self._db.fetchall(
            "SELECT c.user_id, g.path, g.parent_id FROM coordinators c JOIN groups g ON g.id = c.group_id"
            " WHERE g.archived_at IS NULL ORDER BY c.user_id"
        )
        return [(int(r["user_id"]), str(r["path"]), r["parent_id"]) for r in rows]

    async def group_path(self, group_id: int) -> str | None:
        value = await self._db.fetchval("SELECT path FROM groups WHERE id = ? AND archived_at IS NULL", (group_id,))
        return None if value is None else str(value)

    async def groups(self) -> list[tuple[int, str, str]]:
        """(id, name, path) of live groups, tree order."""
        rows = await self._db.fetchall("SELECT id, name, path FROM groups WHERE archived_at IS NULL ORDER BY path")
        return [(int(r["id"]), str(r["name"]), str(r["path"])) for r in rows]

    async def display_name(self, user_id: int) -> str | None:
        value = await self._db.fetchval("SELECT name FROM members WHERE user_id = ?", (user_id,))
        return None if value is None else str(value)

    async def _transition(
        self, tx: Tx, item_id: int, sql_set: str, params: Sequence[Any], allowed: Sequence[str]
    ) -> bool:
        marks = ", ".join("?" for _ in allowed)
        changed = await tx.execute(
            f"UPDATE feedback_items SET {sql_set} WHERE id = ? AND status IN ({marks})",  # noqa: S608
            (*params, item_id, *allowed),
        )
        return changed == 1

    async def assign(self, item_id: int, to_user: int, by_user: int, now: datetime, action: str) -> str | None:
        async with self._db.transaction() as tx:
            ok = await self._transition(
                tx,
                item_id,
                "assignee_user_id = ?, status = CASE WHEN status = 'new' THEN 'assigned' ELSE status END,"
                " updated_at = ?",
                (to_user, to_db(now)),
                OPEN_STATUSES,
            )
            if not ok:
                return None
            ref = str(await tx.fetchval("SELECT ref FROM feedback_items WHERE id = ?", (item_id,)))
            await audit.record(tx, now, by_user, action, "feedback", item_id, {"ref": ref, "assignee": to_user})
        return ref

    async def start_work(self, item_id: int, by_user: int, now: datetime) -> bool:
        async with self._db.transaction() as tx:
            ok = await self._transition(
                tx, item_id, "status = 'in_progress', updated_at = ?", (to_db(now),), ("assigned", "new")
            )
            if ok:
                await audit.record(tx, now, by_user, "feedback.in_progress", "feedback", item_id)
        return ok

    async def add_note(self, item_id: int, by_user: int, body: str, now: datetime) -> bool:
        async with self._db.transaction() as tx:
            exists = await tx.fetchval("SELECT 1 FROM feedback_items WHERE id = ?", (item_id,))
            if not exists:
                return False
            await tx.insert(
                "INSERT INTO feedback_notes (feedback_id, author_user_id, body, created_at) VALUES (?, ?, ?, ?)",
                (item_id, by_user, body, to_db(now)),
            )
            await audit.record(tx, now, by_user, "feedback.note", "feedback", item_id)
        return True

    async def answer(self, item_id: int, by_user: int, text: str, now: datetime) -> bool:
        async with self._db.transaction() as tx:
            ok = await self._transition(
                tx,
                item_id,
                "answer = ?, answered_at = ?, answered_by = ?, status = 'answered', helpful = NULL, updated_at = ?,"
                " assignee_user_id = COALESCE(assignee_user_id, ?)",
                (text, to_db(now), by_user, to_db(now), by_user),
                OPEN_STATUSES,
            )
            if ok:
                await audit.record(tx, now, by_user, "feedback.answer", "feedback", item_id)
        return ok

    async def close(self, item_id: int, by_user: int, now: datetime) -> bool:
        async with self._db.transaction() as tx:
            ok = await self._transition(
                tx,
                item_id,
                "status = 'closed', closed_at = ?, updated_at = ?",
                (to_db(now), to_db(now)),
                (*OPEN_STATUSES, "answered"),
            )
            if ok:
                await audit.record(tx, now, by_user, "feedback.close", "feedback", item_id)
        return ok

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

    async def claim(self, job_id: int, now: datetime) -> JobTarget | None:
        """Claim a due job (once: the UPDATE only succeeds for an unclaimed row)."""
        async with self._db.transaction() as tx:
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
            await tx.execute(
                "UPDATE feedback_jobs SET outcome = ? WHERE id = ?", ("fired" if open_ else "skipped", job_id)
            )
            if open_ and row["job_kind"] == "escalate":
                await audit.record(tx, now, None, "feedback.escalate", "feedback", int(row["id"]), {"ref": row["ref"]})
        if not open_:
            return None
        return JobTarget(
            row["job_kind"],
            int(row["id"]),
            row["ref"],
            row["kind"],
            row["status"],
            row["assignee_user_id"],
            from_db(row["due_at"]),
        )

    # --- digest ----------------------------------------------------------------------------------------
    async def answered_suggestions(self, paths: Sequence[str] | None, since: datetime, limit: int) -> list[DigestEntry]:
        clause, params = _scope_clause(paths)
        rows = await self._db.fetchall(
            f"SELECT f.ref, f.body, f.answer FROM feedback_items f WHERE {clause} AND f.kind = 'suggestion'"  # noqa: S608
            " AND f.status IN ('answered', 'closed') AND f.answer IS NOT NULL AND f.answered_at >= ?"
            " ORDER BY f.answered_at DESC LIMIT ?",
            (*params, to_db(since), limit),
        )
        return [DigestEntry(r["ref"], r["body"], r["answer"]) for r in rows]

    async def send_digest(
        self,
        by_user: int,
        group_path: str | None,
        paths: Sequence[str] | None,
        texts: dict[str, str],
        default_lang: str,
        items: int,
        now: datetime,
    ) -> int:
        """Queue the digest to active members of the segment; returns the number queued."""
        seg_paths: Sequence[str] | None = [group_path] if group_path else paths
        params: list[Any] = []
        if seg_paths is None:
            cond = "1 = 1"
        elif not seg_paths:
            cond = "1 = 0"
        else:
            cond = "(" + " OR ".join("g.path LIKE ?" for _ in seg_paths) + ")"
            params = [p + "%" for p in seg_paths]
        async with self._db.transaction() as tx:
            sql = (
                "SELECT DISTINCT m.id, m.user_id, COALESCE(b.language, b.tg_language) AS language FROM members m"  # noqa: S608 - cond: fixed text
                " JOIN member_groups mg ON mg.member_id = m.id AND mg.status = 'active'"
                " JOIN groups g ON g.id = mg.group_id LEFT JOIN bot_users b ON b.user_id = m.user_id"
                f" WHERE m.status = 'active' AND m.user_id IS NOT NULL AND {cond} ORDER BY m.id"
            )
            rows = await tx.fetchall(sql, params)
            digest_id = await tx.insert(
                "INSERT INTO feedback_digests (sent_by, group_id, items, recipients, created_at)"
                " VALUES (?, NULL, ?, ?, ?)",
                (by_user, items, len(rows), to_db(now)),
            )
            queued = await outbox.enqueue(
                tx,
                [
                    outbox.OutgoingMessage(
                        "feedback_digest",
                        digest_id,
                        int(r["user_id"]),
                        texts.get(r["language"] or default_lang, texts[default_lang]),
                        member_id=int(r["id"]),
                    )
                    for r in rows
                ],
                now,
            )
            await audit.record(
                tx,
                now,
                by_user,
                "feedback.digest",
                "feedback_digest",
                digest_id,
                {"items": items, "recipients": queued},
            )
        return queued
