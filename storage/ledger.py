"""All the counting SQL of the ledger (台账): figures, lists, export sheets, backup job rows.

Scope is given as `paths` (storage/scope.py, the one scope module): None means everything;
otherwise a tuple of group paths whose subtrees are covered. Every figure is one SQL aggregate
over the live tables: exact, never estimated. Erased members keep their status 'erased' and
their category, so they still count in aggregates. Rows come back as the dataclasses of
bot/ledger/models.py. Reads go through `Database`; writes take the service's `Tx`.

Sign-ups a scope sees (`signups_in`) follow the roster rule of the activities feature: every
sign-up of an activity whose groups all lie in the scope (its roster is open to the
coordinator), and otherwise only the sign-ups of members in the scope. The export's sheets and
the /stats figures count the same rows.

The export reads through `Snapshot`: one consistent read-only picture for a worker thread
(storage/snapshot.py holds the driver side).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.ledger.models import (
    ActivityRow,
    AnsweredItem,
    AttendedActivity,
    AuditRow,
    CategoryCount,
    FeedbackFigures,
    GroupCount,
    JobRow,
    MemberBasics,
    MemberFigures,
    NoticeRow,
)
from storage.db import Database, Tx

# The export (its sheets and snapshot) lives in storage/ledger_export.py; importable from here too.
from storage.ledger_export import Sheet, Snapshot, export_sheets
from storage.scope import (
    Paths,
    activity_in,
    feedback_in,
    member_in,
    path_in,
    signups_in,
)
from storage.timefmt import from_db, opt_from_db, to_db

Row = tuple[Any, ...]


def _fast_time(text: str) -> datetime:
    """storage.timefmt.from_db without strptime (tens of thousands of rows per figure)."""
    return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)


def _notice_row(r: Any) -> NoticeRow:
    return NoticeRow(int(r["id"]), str(r["text"]), from_db(r["sent_at"]), int(r["recipients"]),
                     int(r["delivered"]), int(r["acked"]))


class LedgerRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    # Members ---------------------------------------------------------------------------------
    async def member_figures(
        self, paths: Paths, start: datetime, end: datetime, stale_before: datetime
    ) -> MemberFigures:
        in_scope, sp = member_in(paths, "m.id")
        gcond, gp = path_in(paths, "g.path")
        # Five independent reads, side by side (separate connections on PostgreSQL).
        rows, blocked, groups, pending_members, pending_requests = await asyncio.gather(
            # One pass over the members in scope: counts by (category, status) plus the flags.
            # Active members who blocked the bot (and are not otherwise unreachable) are counted
            # apart, from the few bot_users rows that say so: joining every member to bot_users
            # doubled the cost of the pass at 1,000,000 members (bench/scale.py).
            self._db.fetchall(
                "SELECT m.category, m.status, COUNT(*) AS n,"  # noqa: S608
                " COUNT(CASE WHEN m.status = 'active' AND (m.unreachable_at IS NOT NULL OR m.user_id IS NULL)"
                " THEN 1 END) AS unreachable,"
                " COUNT(CASE WHEN m.status = 'active' AND COALESCE(m.profile_confirmed_at, m.registered_at) < ?"
                " THEN 1 END) AS stale,"
                " COUNT(CASE WHEN m.status <> 'pending' AND m.registered_at >= ? AND m.registered_at < ?"
                " THEN 1 END) AS joined"
                f" FROM members m WHERE {in_scope} GROUP BY m.category, m.status",
                [to_db(stale_before), to_db(start), to_db(end), *sp],
            ),
            self._db.fetchval(  # (few rows: from the blocked side)
                "SELECT COUNT(*) FROM bot_users b WHERE b.blocked_at IS NOT NULL AND EXISTS (SELECT 1 FROM members m"  # noqa: S608
                f" WHERE m.user_id = b.user_id AND m.status = 'active' AND m.unreachable_at IS NULL AND {in_scope})",
                sp,
            ),
            # Each group's active and pending memberships as kept by triggers with every write to
            # member_groups (group_tallies, migration 0613): one row per group, not a count of
            # 1,300,000 memberships; per group, so exact for any scope.
            self._db.fetchall(
                "SELECT g.id, g.name, g.path, g.kind, COALESCE(t.active, 0) AS active,"  # noqa: S608
                " COALESCE(t.pending, 0) AS pending FROM groups g LEFT JOIN group_tallies t ON t.group_id = g.id"
                f" WHERE g.archived_at IS NULL AND {gcond} ORDER BY g.path",
                gp,
            ),
            # Pending approvals: pending members, or pending requests to join a group in scope.
            self._db.fetchval(
                "SELECT COUNT(*) FROM members m WHERE m.status = 'pending' AND "  # noqa: S608
                f"{in_scope}",
                sp,
            ),
            self._db.fetchval(
                # (NOT IN the few pending members, not a join of every member: the planner hashed
                # all 1,000,000 members for a handful of pending requests; their ids are read from
                # the partial index members_pending, migration 0613)
                "SELECT COUNT(DISTINCT pmg.member_id) FROM member_groups pmg"  # noqa: S608
                " JOIN groups g ON g.id = pmg.group_id WHERE pmg.status = 'pending' AND pmg.member_id NOT IN"
                f" (SELECT pm.id FROM members pm WHERE pm.status = 'pending') AND {gcond}",
                gp,
            ),
        )
        cats: dict[str | None, dict[str, int]] = {}
        unreachable, stale, joined = int(blocked), 0, 0
        for r in rows:
            cats.setdefault(r["category"], {})[str(r["status"])] = int(r["n"])
            unreachable += int(r["unreachable"])
            stale += int(r["stale"])
            joined += int(r["joined"])
        by_category = [
            CategoryCount(cat, d.get("active", 0), d.get("pending", 0), d.get("left", 0), d.get("erased", 0))
            for cat, d in sorted(cats.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        ]
        by_group = [
            GroupCount(
                int(g["id"]), str(g["name"]), str(g["path"]), str(g["kind"]), int(g["active"]), int(g["pending"])
            )
            for g in groups
        ]
        pending = int(pending_members) + int(pending_requests)
        return MemberFigures(by_category, by_group, int(pending), int(unreachable), int(stale), int(joined))

    # Activities --------------------------------------------------------------------------------
    async def activity_rows(
        self, paths: Paths, start: datetime, end: datetime, now: datetime | None = None,
        ids: Sequence[int] | None = None,
    ) -> list[ActivityRow]:
        """Activities in scope of the period that are not cancelled (only those started by `now`
        when given; only `ids` when given), counting the confirmed sign-ups and check-ins the scope
        sees (`signups_in`)."""
        cond, params = activity_in(paths, "a.id")
        seen, sp = signups_in(paths, "a.id", "s.member_id")
        held, hp = ("a.starts_at <= ?", [to_db(now)]) if now is not None else ("1 = 1", list[Any]())
        if ids is not None:
            held = f"{held} AND a.id IN ({', '.join('?' for _ in ids)})" if ids else "1 = 0"
            hp = [*hp, *ids]
        rows = await self._db.fetchall(
            "SELECT a.id, a.title, a.starts_at, a.ends_at, COUNT(s.id) AS confirmed,"  # noqa: S608
            " COUNT(s.checked_in_at) AS attended FROM activities a"
            f" LEFT JOIN activity_signups s ON s.activity_id = a.id AND s.status = 'confirmed' AND {seen}"
            f" WHERE a.status <> 'cancelled' AND a.starts_at >= ? AND a.starts_at < ? AND {held}"
            f" AND {cond} GROUP BY a.id, a.title, a.starts_at, a.ends_at ORDER BY a.starts_at, a.id",
            [*sp, to_db(start), to_db(end), *hp, *params],
        )
        return [
            ActivityRow(
                int(r["id"]), str(r["title"]), from_db(r["starts_at"]), from_db(r["ends_at"]),
                int(r["confirmed"]), int(r["attended"]),
            )
            for r in rows
        ]

    async def activity_versions(self, start: datetime, end: datetime) -> dict[int, int]:
        """The sign-ups' data version of each activity of the period that has one (migration 0611)."""
        rows = await self._db.fetchall(
            "SELECT v.activity_id, v.version FROM ledger_activity_versions v JOIN activities a"
            " ON a.id = v.activity_id WHERE a.starts_at >= ? AND a.starts_at < ?",
            (to_db(start), to_db(end)),
        )
        return {int(r["activity_id"]): int(r["version"]) for r in rows}

    async def versions(self) -> dict[str, int]:
        """Each counted table's data version (bumped by triggers in every write: migration 0610)."""
        rows = await self._db.fetchall("SELECT name, version FROM ledger_versions")
        return {str(r["name"]): int(r["version"]) for r in rows}

    async def stale_change(self, paths: Paths, now: datetime, refresh: timedelta) -> datetime | None:
        """The first instant after `now` at which an active member's profile turns stale."""
        mcond, mp = member_in(paths, "m.id")
        # The first in the order of the index members_confirmed (not MIN: with a scope, MIN read
        # every active member of the district, 125-150 ms at 1,000,000; this stops at the first)
        first = await self._db.fetchval(
            "SELECT COALESCE(m.profile_confirmed_at, m.registered_at) FROM members m"  # noqa: S608
            f" WHERE m.status = 'active' AND COALESCE(m.profile_confirmed_at, m.registered_at) >= ? AND {mcond}"
            " ORDER BY COALESCE(m.profile_confirmed_at, m.registered_at) LIMIT 1",
            [to_db(now - refresh), *mp],
        )
        return None if first is None else from_db(first) + refresh

    async def overdue_change(self, paths: Paths, now: datetime) -> datetime | None:
        """The first instant after `now` at which an open feedback item falls overdue."""
        fcond, fp = feedback_in(paths, "f.id")
        first = await self._db.fetchval(
            "SELECT MIN(f.due_at) FROM feedback_items f"  # noqa: S608
            f" WHERE f.status IN ('new', 'assigned', 'in_progress') AND f.due_at >= ? AND {fcond}",
            [to_db(now), *fp],
        )
        return None if first is None else from_db(first)

    # Notices -------------------------------------------------------------------------------
    async def notice_rows(self, paths: Paths, start: datetime, end: datetime) -> list[NoticeRow]:
        """Notices sent in the period, counted over their recipients who are in scope.

        Everything: each notice's figures as kept by triggers with every write to the outbox and
        to notice_acks (notice_tallies, migration 0612): one row per notice, however many
        recipients (a city-wide notice has 1,000,000 outbox rows). A narrower scope is counted
        from the outbox: a member is in scope by their memberships of now, which no per-notice
        figure can know.
        """
        if paths is None:
            rows = await self._db.fetchall(
                "SELECT n.id, n.text, n.sent_at, t.recipients, t.delivered, t.acked FROM notices n"
                " JOIN notice_tallies t ON t.notice_id = n.id"
                " WHERE n.sent_at >= ? AND n.sent_at < ? AND t.recipients > 0 ORDER BY n.sent_at, n.id",
                (to_db(start), to_db(end)),
            )
            return [_notice_row(r) for r in rows]
        cond, params = member_in(paths, "o.member_id")
        rows = await self._db.fetchall(
            "SELECT n.id, n.text, n.sent_at, COUNT(o.id) AS recipients,"  # noqa: S608
            " COUNT(CASE WHEN o.status = 'sent' THEN 1 END) AS delivered,"
            " COUNT(CASE WHEN o.status = 'sent' THEN a.member_id END) AS acked"
            " FROM notices n JOIN outbox o ON o.kind = 'notice' AND o.ref_id = n.id AND o.member_id IS NOT NULL"
            " LEFT JOIN notice_acks a ON a.notice_id = n.id AND a.member_id = o.member_id"
            f" WHERE n.sent_at >= ? AND n.sent_at < ? AND {cond}"
            " GROUP BY n.id, n.text, n.sent_at ORDER BY n.sent_at, n.id",
            [to_db(start), to_db(end), *params],
        )
        return [_notice_row(r) for r in rows]

    # Feedback --------------------------------------------------------------------------------
    async def feedback_figures(self, paths: Paths, start: datetime, end: datetime, now: datetime) -> FeedbackFigures:
        cond, params = feedback_in(paths, "f.id")
        period = [to_db(start), to_db(end)]
        rows = await self._db.fetchall(
            "SELECT f.kind, f.status, COUNT(*) AS n FROM feedback_items f"  # noqa: S608
            f" WHERE f.created_at >= ? AND f.created_at < ? AND {cond} GROUP BY f.kind, f.status",
            [*period, *params],
        )
        # The first answer: answered_at, unless the item was reopened and answered again, in
        # which case the audit log holds the first 'feedback.answer' of the item.
        answers = await self._db.fetchall(
            "SELECT f.created_at, CASE WHEN f.reopened_at IS NULL THEN f.answered_at ELSE COALESCE(("  # noqa: S608
            " SELECT MIN(l.at) FROM audit_log l WHERE l.target_type = 'feedback'"
            " AND l.target_id = CAST(f.id AS TEXT) AND l.action = 'feedback.answer'), f.answered_at) END AS first"
            " FROM feedback_items f WHERE f.answered_at IS NOT NULL AND f.created_at >= ? AND f.created_at < ?"
            f" AND {cond}",
            [*period, *params],
        )
        overdue = await self._db.fetchval(
            "SELECT COUNT(*) FROM feedback_items f WHERE f.status IN ('new', 'assigned', 'in_progress')"  # noqa: S608
            f" AND f.due_at < ? AND {cond}",
            [to_db(now), *params],
        )
        seconds = sorted((_fast_time(r["first"]) - _fast_time(r["created_at"])).total_seconds() for r in answers)
        return FeedbackFigures(
            {(str(r["kind"]), str(r["status"])): int(r["n"]) for r in rows}, len(answers), seconds, int(overdue)
        )

    async def answered_suggestions(self, paths: Paths, start: datetime, end: datetime) -> list[AnsweredItem]:
        cond, params = feedback_in(paths, "f.id")
        rows = await self._db.fetchall(
            "SELECT f.ref, f.kind, f.body, f.answered_at FROM feedback_items f"  # noqa: S608
            " WHERE f.kind = 'suggestion' AND f.answered_at >= ? AND f.answered_at < ?"
            f" AND f.status IN ('answered', 'closed') AND {cond} ORDER BY f.answered_at, f.id",
            [to_db(start), to_db(end), *params],
        )
        return [AnsweredItem(str(r["ref"]), str(r["kind"]), str(r["body"]), from_db(r["answered_at"])) for r in rows]

    # A member's own record ---------------------------------------------------------------------
    async def attended(self, member_id: int) -> list[AttendedActivity]:
        rows = await self._db.fetchall(
            "SELECT a.title, a.starts_at, a.ends_at FROM activity_signups s JOIN activities a ON a.id = s.activity_id"
            " WHERE s.member_id = ? AND s.checked_in_at IS NOT NULL ORDER BY a.starts_at DESC",
            (member_id,),
        )
        return [AttendedActivity(str(r["title"]), from_db(r["starts_at"]), from_db(r["ends_at"])) for r in rows]

    async def signed_up(self, member_id: int) -> int:
        return int(await self._db.fetchval(
            "SELECT COUNT(*) FROM activity_signups WHERE member_id = ? AND status = 'confirmed'", (member_id,)
        ))

    async def feedback_given(self, member_id: int) -> dict[str, int]:
        """The member's own items by kind (member-facing: reads the author link)."""
        rows = await self._db.fetchall(
            "SELECT f.kind, COUNT(*) AS n FROM feedback_authors fa JOIN feedback_items f ON f.id = fa.feedback_id"
            " WHERE fa.member_id = ? GROUP BY f.kind ORDER BY f.kind",
            (member_id,),
        )
        return {str(r["kind"]): int(r["n"]) for r in rows}

    async def member_basics(self, member_id: int) -> MemberBasics | None:
        row = await self._db.fetchone(
            "SELECT id, name, category, status, registered_at FROM members WHERE id = ?", (member_id,)
        )
        if row is None:
            return None
        groups = await self._db.fetchall(
            "SELECT g.name FROM member_groups mg JOIN groups g ON g.id = mg.group_id"
            " WHERE mg.member_id = ? AND mg.status = 'active' ORDER BY g.path",
            (member_id,),
        )
        return MemberBasics(
            int(row["id"]), row["name"], row["category"], str(row["status"]), from_db(row["registered_at"]),
            [str(g["name"]) for g in groups],
        )

    # Audit ----------------------------------------------------------------------------------
    async def audit_page(
        self, limit: int, offset: int, action_prefix: str | None, actor: int | None
    ) -> tuple[list[AuditRow], int]:
        where = ["1 = 1"]
        params: list[Any] = []
        if action_prefix:
            where.append("action LIKE ?")
            params.append(action_prefix.replace("%", "").replace("_", "\\_") + "%")
        if actor is not None:
            where.append("actor_user_id = ?")
            params.append(actor)
        cond = " AND ".join(where).replace("action LIKE ?", "action LIKE ? ESCAPE '\\'")
        total = await self._db.fetchval(f"SELECT COUNT(*) FROM audit_log WHERE {cond}", params)  # noqa: S608
        rows = await self._db.fetchall(
            "SELECT id, at, actor_user_id, action, target_type, target_id, details FROM audit_log"  # noqa: S608
            f" WHERE {cond} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return (
            [
                AuditRow(
                    int(r["id"]), from_db(r["at"]), r["actor_user_id"], str(r["action"]), r["target_type"],
                    r["target_id"], str(r["details"] or ""),
                )
                for r in rows
            ],
            int(total),
        )

    # Scheduled jobs (backup) -------------------------------------------------------------------
    async def job(self, name: str) -> JobRow | None:
        row = await self._db.fetchone(
            "SELECT name, due_at, last_run_at, last_result FROM ledger_jobs WHERE name = ?", (name,)
        )
        if row is None:
            return None
        return JobRow(str(row["name"]), from_db(row["due_at"]), opt_from_db(row["last_run_at"]), row["last_result"])

    def open_snapshot(self) -> Snapshot:
        """The export's read-only picture (open it in the worker thread that reads it)."""
        return Snapshot(self._db)


# --- writes (the service's transaction) -----------------------------------------------------------
async def ensure_job(tx: Tx, name: str, due_at: datetime) -> None:
    await tx.execute(
        "INSERT INTO ledger_jobs (name, due_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, to_db(due_at))
    )


async def claim_job(tx: Tx, name: str, now: datetime, next_due: datetime) -> bool:
    """Move a due job to its next time; True for exactly one caller per due time."""
    changed = await tx.execute(
        "UPDATE ledger_jobs SET due_at = ?, last_run_at = ? WHERE name = ? AND due_at <= ?",
        (to_db(next_due), to_db(now), name, to_db(now)),
    )
    return changed == 1


async def set_job_result(tx: Tx, name: str, result: str) -> None:
    await tx.execute("UPDATE ledger_jobs SET last_result = ? WHERE name = ?", (result[:500], name))

__all__ = ["LedgerRepo", "Sheet", "Snapshot", "claim_job", "ensure_job", "export_sheets", "set_job_result"]
