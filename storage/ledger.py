"""All the counting SQL of the ledger (台账): figures, lists, export rows, backup job rows.

Scope is given as `paths`: None means everything; otherwise a tuple of group paths whose
subtrees are covered (a path prefix, see 0001_core.sql). Every figure is one SQL aggregate
over the live tables: exact, never estimated. Erased members keep their status 'erased'
and their category, so they still count in aggregates.

The export iterators are synchronous and take a plain read-only `sqlite3.Connection`: the
export runs in a worker thread with its own connection and must not touch the event loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from storage.audit import record
from storage.db import Database
from storage.timefmt import from_db, opt_from_db, to_db

Paths = tuple[str, ...] | None
Row = tuple[Any, ...]


def _fast_time(text: str) -> datetime:
    """storage.timefmt.from_db without strptime (tens of thousands of rows per figure)."""
    return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)


def scope_sql(paths: Paths, column: str) -> tuple[str, list[Any]]:
    """A condition 'column is inside one of the subtrees' (always true for everything)."""
    if paths is None:
        return "1 = 1", []
    if not paths:
        return "1 = 0", []
    clause = " OR ".join(f"{column} LIKE ?" for _ in paths)
    return f"({clause})", [p.replace("%", "").replace("_", "") + "%" for p in paths]


def member_scope_sql(paths: Paths, member_column: str) -> tuple[str, list[Any]]:
    """A condition 'the member belongs (or belonged) to a group in scope'."""
    if paths is None:
        return "1 = 1", []
    cond, params = scope_sql(paths, "sg.path")
    return (
        f"{member_column} IN (SELECT smg.member_id FROM member_groups smg"  # noqa: S608 - fixed clauses
        " JOIN groups sg ON sg.id = smg.group_id"
        f" WHERE smg.status <> 'rejected' AND {cond})",
        params,
    )


def activity_scope_sql(paths: Paths, activity_column: str) -> tuple[str, list[Any]]:
    """An activity is in a group coordinator's scope when it is addressed to a group there."""
    if paths is None:
        return "1 = 1", []
    cond, params = scope_sql(paths, "ag_g.path")
    return (
        f"EXISTS (SELECT 1 FROM activity_groups ag JOIN groups ag_g ON ag_g.id = ag.group_id"  # noqa: S608
        f" WHERE ag.activity_id = {activity_column} AND {cond})",
        params,
    )


def feedback_scope_sql(paths: Paths, item_column: str) -> tuple[str, list[Any]]:
    """Feedback is in scope by the author's groups at submission time (feedback_groups)."""
    if paths is None:
        return "1 = 1", []
    cond, params = scope_sql(paths, "fg.path")
    return (
        f"EXISTS (SELECT 1 FROM feedback_groups fg WHERE fg.feedback_id = {item_column} AND {cond})",  # noqa: S608
        params,
    )


def survey_scope_sql(paths: Paths, survey_column: str) -> tuple[str, list[Any]]:
    if paths is None:
        return "1 = 1", []
    cond, params = scope_sql(paths, "ss.path")
    return (
        f"EXISTS (SELECT 1 FROM survey_scopes ss WHERE ss.survey_id = {survey_column} AND {cond})",  # noqa: S608
        params,
    )


# --- figures -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CategoryCount:
    category: str | None
    active: int
    pending: int
    left: int
    erased: int

    @property
    def total(self) -> int:
        return self.active + self.pending + self.left + self.erased


@dataclass(frozen=True)
class GroupCount:
    group_id: int
    name: str
    path: str
    kind: str
    active: int
    pending: int


@dataclass(frozen=True)
class MemberFigures:
    by_category: list[CategoryCount]
    by_group: list[GroupCount]
    pending_approvals: int
    unreachable: int
    stale_profiles: int
    joined_in_period: int

    @property
    def active(self) -> int:
        return sum(c.active for c in self.by_category)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.by_category)


@dataclass(frozen=True)
class ActivityRow:
    """One activity of the period with its confirmed sign-ups and check-ins (counted in SQL)."""

    activity_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    confirmed: int
    attended: int


@dataclass(frozen=True)
class FeedbackFigures:
    by_kind_status: dict[tuple[str, str], int]  # received in the period
    answered: int  # received in the period and answered since
    answer_seconds: list[float]  # time to the first answer of each answered item, ascending
    overdue: int  # open now and past its target time

    @property
    def received(self) -> int:
        return sum(self.by_kind_status.values())

    def by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (kind, _status), n in self.by_kind_status.items():
            out[kind] = out.get(kind, 0) + n
        return out


@dataclass(frozen=True)
class NoticeRow:
    """A notice sent in the period with its recipients in scope (outbox rows) and their results."""

    notice_id: int
    text: str
    sent_at: datetime
    recipients: int
    delivered: int
    acknowledged: int


@dataclass(frozen=True)
class AnsweredItem:
    ref: str
    kind: str
    body: str
    answered_at: datetime


@dataclass(frozen=True)
class AttendedActivity:
    title: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor_user_id: int | None
    action: str
    target_type: str | None
    target_id: str | None
    details: str


@dataclass(frozen=True)
class MemberBasics:
    member_id: int
    name: str | None
    category: str | None
    status: str
    registered_at: datetime
    groups: list[str]


@dataclass(frozen=True)
class JobRow:
    name: str
    due_at: datetime
    last_run_at: datetime | None
    last_result: str | None


class LedgerRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    # Members ---------------------------------------------------------------------------------
    async def member_figures(
        self, paths: Paths, start: datetime, end: datetime, stale_before: datetime
    ) -> MemberFigures:
        in_scope, sp = member_scope_sql(paths, "m.id")
        # One pass over the members in scope: counts by (category, status) plus the flags.
        rows = await self._db.fetchall(
            "SELECT m.category, m.status, COUNT(*) AS n,"  # noqa: S608
            " COUNT(CASE WHEN m.status = 'active' AND (m.unreachable_at IS NOT NULL OR m.user_id IS NULL"
            " OR b.blocked_at IS NOT NULL) THEN 1 END) AS unreachable,"
            " COUNT(CASE WHEN m.status = 'active' AND COALESCE(m.profile_confirmed_at, m.registered_at) < ?"
            " THEN 1 END) AS stale,"
            " COUNT(CASE WHEN m.status <> 'pending' AND m.registered_at >= ? AND m.registered_at < ?"
            " THEN 1 END) AS joined"
            " FROM members m LEFT JOIN bot_users b ON b.user_id = m.user_id"
            f" WHERE {in_scope} GROUP BY m.category, m.status",
            [to_db(stale_before), to_db(start), to_db(end), *sp],
        )
        cats: dict[str | None, dict[str, int]] = {}
        unreachable = stale = joined = 0
        for r in rows:
            cats.setdefault(r["category"], {})[str(r["status"])] = int(r["n"])
            unreachable += int(r["unreachable"])
            stale += int(r["stale"])
            joined += int(r["joined"])
        by_category = [
            CategoryCount(cat, d.get("active", 0), d.get("pending", 0), d.get("left", 0), d.get("erased", 0))
            for cat, d in sorted(cats.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        ]
        gcond, gp = scope_sql(paths, "g.path")
        groups = await self._db.fetchall(
            "SELECT g.id, g.name, g.path, g.kind,"  # noqa: S608
            " COUNT(CASE WHEN mg.status = 'active' THEN 1 END) AS active,"
            " COUNT(CASE WHEN mg.status = 'pending' THEN 1 END) AS pending"
            " FROM groups g LEFT JOIN member_groups mg ON mg.group_id = g.id"
            f" WHERE g.archived_at IS NULL AND {gcond}"
            " GROUP BY g.id, g.name, g.path, g.kind ORDER BY g.path",
            gp,
        )
        by_group = [
            GroupCount(
                int(g["id"]), str(g["name"]), str(g["path"]), str(g["kind"]), int(g["active"]), int(g["pending"])
            )
            for g in groups
        ]
        # Pending approvals: pending members, or pending requests to join a group in scope.
        pending = await self._db.fetchval(
            "SELECT COUNT(*) FROM members m WHERE m.status = 'pending' AND "  # noqa: S608
            f"{in_scope}",
            sp,
        )
        pending = int(pending) + int(await self._db.fetchval(
            "SELECT COUNT(DISTINCT pmg.member_id) FROM member_groups pmg JOIN groups g ON g.id = pmg.group_id"  # noqa: S608
            " JOIN members m ON m.id = pmg.member_id"
            f" WHERE pmg.status = 'pending' AND m.status <> 'pending' AND {gcond}",
            gp,
        ))
        return MemberFigures(by_category, by_group, int(pending), int(unreachable), int(stale), int(joined))

    # Activities --------------------------------------------------------------------------------
    async def activity_rows(self, paths: Paths, start: datetime, end: datetime, now: datetime) -> list[ActivityRow]:
        """Activities held in the period (not cancelled, started by now), with their counts."""
        cond, params = activity_scope_sql(paths, "a.id")
        rows = await self._db.fetchall(
            "SELECT a.id, a.title, a.starts_at, a.ends_at, COUNT(s.id) AS confirmed,"  # noqa: S608
            " COUNT(s.checked_in_at) AS attended"
            " FROM activities a LEFT JOIN activity_signups s ON s.activity_id = a.id AND s.status = 'confirmed'"
            " WHERE a.status <> 'cancelled' AND a.starts_at >= ? AND a.starts_at < ? AND a.starts_at <= ?"
            f" AND {cond} GROUP BY a.id, a.title, a.starts_at, a.ends_at ORDER BY a.starts_at, a.id",
            [to_db(start), to_db(end), to_db(now), *params],
        )
        return [
            ActivityRow(
                int(r["id"]), str(r["title"]), from_db(r["starts_at"]), from_db(r["ends_at"]),
                int(r["confirmed"]), int(r["attended"]),
            )
            for r in rows
        ]

    # Notices -------------------------------------------------------------------------------
    async def notice_rows(self, paths: Paths, start: datetime, end: datetime) -> list[NoticeRow]:
        """Notices sent in the period, counted over their recipients who are in scope."""
        cond, params = member_scope_sql(paths, "o.member_id")
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
        return [
            NoticeRow(
                int(r["id"]), str(r["text"]), from_db(r["sent_at"]), int(r["recipients"]), int(r["delivered"]),
                int(r["acked"]),
            )
            for r in rows
        ]

    # Feedback --------------------------------------------------------------------------------
    async def feedback_figures(self, paths: Paths, start: datetime, end: datetime, now: datetime) -> FeedbackFigures:
        cond, params = feedback_scope_sql(paths, "f.id")
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
        cond, params = feedback_scope_sql(paths, "f.id")
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

    async def record_read(self, now: datetime, actor: int, action: str, details: dict[str, Any]) -> None:
        """Audit a privileged read (an export or a summary of members' data)."""
        async with self._db.transaction() as tx:
            await record(tx, now, actor, action, "ledger", None, details)

    # Scheduled jobs (backup) -------------------------------------------------------------------
    async def job(self, name: str) -> JobRow | None:
        row = await self._db.fetchone(
            "SELECT name, due_at, last_run_at, last_result FROM ledger_jobs WHERE name = ?", (name,)
        )
        if row is None:
            return None
        return JobRow(str(row["name"]), from_db(row["due_at"]), opt_from_db(row["last_run_at"]), row["last_result"])

    async def ensure_job(self, name: str, due_at: datetime) -> JobRow:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO ledger_jobs (name, due_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, to_db(due_at)),
            )
        job = await self.job(name)
        assert job is not None
        return job

    async def claim_job(self, name: str, now: datetime, next_due: datetime) -> bool:
        """Move a due job to its next time; True for exactly one caller per due time."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE ledger_jobs SET due_at = ?, last_run_at = ? WHERE name = ? AND due_at <= ?",
                (to_db(next_due), to_db(now), name, to_db(now)),
            )
        return changed == 1

    async def finish_job(self, name: str, result: str, now: datetime, actor: int | None, action: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE ledger_jobs SET last_result = ? WHERE name = ?", (result[:500], name))
            await record(tx, now, actor, action, "job", name, {"result": result[:500]})


# --- export (synchronous, worker thread) --------------------------------------------------------
def readonly_uri(path: Path) -> str:
    return f"file:{quote(str(Path(path).resolve()))}?mode=ro"


def open_readonly(path: Path, *, snapshot: bool = False) -> sqlite3.Connection:
    """A separate read-only connection for a worker thread (WAL: reads beside the writer).

    With `snapshot`, every read on it sees the database as it was at the first one (one
    consistent picture for a whole export) until the connection is closed.
    """
    conn = sqlite3.connect(readonly_uri(path), uri=True, check_same_thread=True)
    conn.execute("PRAGMA busy_timeout=10000")
    if snapshot:
        conn.execute("BEGIN")
    return conn


@dataclass(frozen=True)
class Sheet:
    key: str  # catalogue key suffix for the sheet name and its column headers
    sql: str
    params: Sequence[Any]
    html_columns: tuple[int, ...] = ()  # columns holding Telegram HTML (exported as plain text)


def export_sheets(conn: sqlite3.Connection, paths: Paths) -> list[Sheet]:
    """The ledger's sheets for the scope, only for tables that exist."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    ms, mp = member_scope_sql(paths, "m.id")
    gs, gp = scope_sql(paths, "g.path")
    sheets = [
        Sheet(
            "members",
            "SELECT m.id, m.name, m.category, m.status, m.organisation, m.position, m.phone, m.registered_at,"  # noqa: S608
            f" m.profile_confirmed_at, m.unreachable_at FROM members m WHERE {ms} ORDER BY m.id",
            mp,
        ),
        Sheet(
            "groups",
            "SELECT g.id, g.parent_id, g.name, g.kind, g.path,"  # noqa: S608
            " (SELECT COUNT(*) FROM member_groups mg WHERE mg.group_id = g.id AND mg.status = 'active')"
            f" FROM groups g WHERE g.archived_at IS NULL AND {gs} ORDER BY g.path",
            gp,
        ),
        Sheet(
            "memberships",
            "SELECT mg.member_id, m.name, g.id, g.name, mg.status, mg.requested_at, mg.decided_at"  # noqa: S608
            " FROM member_groups mg JOIN groups g ON g.id = mg.group_id JOIN members m ON m.id = mg.member_id"
            f" WHERE {gs} ORDER BY mg.member_id, g.path",
            gp,
        ),
    ]
    sheets += _extra_sheets(tables, paths)
    return sheets


def _extra_sheets(tables: set[str], paths: Paths) -> list[Sheet]:
    """Sheets over other features' tables (added when those tables exist)."""
    out: list[Sheet] = []
    if {"activities", "activity_signups"} <= tables:
        ac, ap = activity_scope_sql(paths, "a.id")
        out.append(Sheet(
            "activities",
            "SELECT a.id, a.title, a.place, a.starts_at, a.ends_at, a.status, a.capacity,"  # noqa: S608
            " COUNT(s.id), COUNT(s.checked_in_at) FROM activities a"
            " LEFT JOIN activity_signups s ON s.activity_id = a.id AND s.status = 'confirmed'"
            f" WHERE {ac} GROUP BY a.id, a.title, a.place, a.starts_at, a.ends_at, a.status, a.capacity"
            " ORDER BY a.starts_at, a.id",
            ap,
        ))
        out.append(Sheet(
            "signups",
            "SELECT s.activity_id, a.title, s.member_id, m.name, s.status, s.checked_in_at, s.created_at"  # noqa: S608
            " FROM activity_signups s JOIN activities a ON a.id = s.activity_id JOIN members m ON m.id = s.member_id"
            f" WHERE {ac} ORDER BY s.activity_id, s.id",
            ap,
        ))
    if {"notices", "notice_acks", "outbox"} <= tables:
        nc, np_ = member_scope_sql(paths, "o.member_id")
        out.append(Sheet(
            "notices",
            "SELECT n.id, n.sent_at, n.status, n.text, COUNT(o.id),"  # noqa: S608
            " COUNT(CASE WHEN o.status = 'sent' THEN 1 END), COUNT(CASE WHEN o.status = 'sent' THEN a.member_id END)"
            " FROM notices n JOIN outbox o ON o.kind = 'notice' AND o.ref_id = n.id AND o.member_id IS NOT NULL"
            " LEFT JOIN notice_acks a ON a.notice_id = n.id AND a.member_id = o.member_id"
            f" WHERE {nc} GROUP BY n.id, n.sent_at, n.status, n.text ORDER BY n.id",
            np_,
            html_columns=(3,),
        ))
    if "feedback_items" in tables:
        fc, fp = feedback_scope_sql(paths, "f.id")
        # Anonymous items: no author at all (feedback_authors is never read here).
        out.append(Sheet(
            "feedback",
            "SELECT f.ref, f.kind, f.status, f.anonymous,"  # noqa: S608
            " CASE WHEN f.anonymous = 0 THEN f.author_member_id END,"
            " CASE WHEN f.anonymous = 0 THEN m.name END,"
            " f.body, f.created_at, f.due_at, f.answer, f.answered_at"
            " FROM feedback_items f LEFT JOIN members m ON m.id = f.author_member_id AND f.anonymous = 0"
            f" WHERE {fc} ORDER BY f.id",
            fp,
        ))
    if {"surveys", "survey_questions", "survey_responses", "survey_answers"} <= tables:
        sc, sp = survey_scope_sql(paths, "v.id")
        out.append(Sheet(
            "surveys",
            "SELECT v.id, v.title, v.status, v.invited,"  # noqa: S608
            " (SELECT COUNT(*) FROM survey_responses r WHERE r.survey_id = v.id),"
            " (SELECT COUNT(*) FROM survey_responses r WHERE r.survey_id = v.id AND r.completed_at IS NOT NULL),"
            f" v.deadline_at FROM surveys v WHERE {sc} ORDER BY v.id",
            sp,
        ))
        # Results without respondents: question, answer value (JSON), how many gave it.
        out.append(Sheet(
            "survey_results",
            "SELECT v.id, v.title, q.position, q.text, q.options, a.value, COUNT(*)"  # noqa: S608
            " FROM survey_answers a JOIN survey_questions q ON q.id = a.question_id"
            " JOIN surveys v ON v.id = q.survey_id"
            f" WHERE a.final = 1 AND {sc} GROUP BY v.id, v.title, q.position, q.text, q.options, a.value"
            " ORDER BY v.id, q.position, a.value",
            sp,
        ))
    return out


def iter_rows(conn: sqlite3.Connection, sheet: Sheet, batch: int = 5000) -> Iterator[Row]:
    cur = conn.execute(sheet.sql, list(sheet.params))
    while True:
        chunk = cur.fetchmany(batch)
        if not chunk:
            return
        yield from chunk


def count_rows(conn: sqlite3.Connection, sheet: Sheet) -> int:
    row = conn.execute(f"SELECT COUNT(*) FROM ({sheet.sql}) AS counted", list(sheet.params)).fetchone()  # noqa: S608
    return int(row[0])
