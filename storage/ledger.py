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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.ledger.models import (
    ACTIVITY_STATUS,
    CATEGORY,
    FEEDBACK_KIND,
    FEEDBACK_STATUS,
    GROUP_KIND,
    MEMBER_STATUS,
    MEMBERSHIP_STATUS,
    NOTICE_STATUS,
    SIGNUP_STATUS,
    SURVEY_STATUS,
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
from storage.scope import Clause, Paths, activity_in, activity_within, feedback_in, member_in, path_in, survey_in
from storage.snapshot import ReadSnapshot
from storage.timefmt import from_db, opt_from_db, to_db

Row = tuple[Any, ...]


def _fast_time(text: str) -> datetime:
    """storage.timefmt.from_db without strptime (tens of thousands of rows per figure)."""
    return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)


def signups_in(paths: Paths, activity_column: str, member_column: str) -> Clause:
    """The sign-ups a scope sees (see the module's docstring): roster open, or the member in scope."""
    if paths is None:
        return "1 = 1", []
    within, wp = activity_within(paths, activity_column)
    member, mp = member_in(paths, member_column)
    return f"({within} OR {member})", [*wp, *mp]


class LedgerRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    # Members ---------------------------------------------------------------------------------
    async def member_figures(
        self, paths: Paths, start: datetime, end: datetime, stale_before: datetime
    ) -> MemberFigures:
        in_scope, sp = member_in(paths, "m.id")
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
        gcond, gp = path_in(paths, "g.path")
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
        """Activities in scope held in the period (not cancelled, started by now), counting the
        confirmed sign-ups and check-ins the scope sees (`signups_in`)."""
        cond, params = activity_in(paths, "a.id")
        seen, sp = signups_in(paths, "a.id", "s.member_id")
        rows = await self._db.fetchall(
            "SELECT a.id, a.title, a.starts_at, a.ends_at, COUNT(s.id) AS confirmed,"  # noqa: S608
            " COUNT(s.checked_in_at) AS attended FROM activities a"
            f" LEFT JOIN activity_signups s ON s.activity_id = a.id AND s.status = 'confirmed' AND {seen}"
            " WHERE a.status <> 'cancelled' AND a.starts_at >= ? AND a.starts_at < ? AND a.starts_at <= ?"
            f" AND {cond} GROUP BY a.id, a.title, a.starts_at, a.ends_at ORDER BY a.starts_at, a.id",
            [*sp, to_db(start), to_db(end), to_db(now), *params],
        )
        return [
            ActivityRow(
                int(r["id"]), str(r["title"]), from_db(r["starts_at"]), from_db(r["ends_at"]),
                int(r["confirmed"]), int(r["attended"]),
            )
            for r in rows
        ]

    async def next_change(
        self, paths: Paths, start: datetime, end: datetime, now: datetime, refresh: timedelta
    ) -> datetime | None:
        """The first instant after `now` at which a figure changes with time alone (no write):
        an activity of the period starts, an open item falls overdue, a profile turns stale."""
        acond, ap = activity_in(paths, "a.id")
        fcond, fp = feedback_in(paths, "f.id")
        mcond, mp = member_in(paths, "m.id")
        moments = [
            await self._db.fetchval(
                "SELECT MIN(a.starts_at) FROM activities a WHERE a.status <> 'cancelled'"  # noqa: S608
                f" AND a.starts_at > ? AND a.starts_at >= ? AND a.starts_at < ? AND {acond}",
                [to_db(now), to_db(start), to_db(end), *ap],
            ),
            await self._db.fetchval(
                "SELECT MIN(f.due_at) FROM feedback_items f"  # noqa: S608
                f" WHERE f.status IN ('new', 'assigned', 'in_progress') AND f.due_at >= ? AND {fcond}",
                [to_db(now), *fp],
            ),
            await self._db.fetchval(
                "SELECT MIN(COALESCE(m.profile_confirmed_at, m.registered_at)) FROM members m"  # noqa: S608
                f" WHERE m.status = 'active' AND COALESCE(m.profile_confirmed_at, m.registered_at) >= ? AND {mcond}",
                [to_db(now - refresh), *mp],
            ),
        ]
        starts, due, confirmed = (None if m is None else from_db(m) for m in moments)
        if confirmed is not None:
            confirmed += refresh  # the moment that profile turns stale
        return min((m for m in (starts, due, confirmed) if m is not None), default=None)

    # Notices -------------------------------------------------------------------------------
    async def notice_rows(self, paths: Paths, start: datetime, end: datetime) -> list[NoticeRow]:
        """Notices sent in the period, counted over their recipients who are in scope."""
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
        return [
            NoticeRow(
                int(r["id"]), str(r["text"]), from_db(r["sent_at"]), int(r["recipients"]), int(r["delivered"]),
                int(r["acked"]),
            )
            for r in rows
        ]

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


# --- export (synchronous, worker thread) --------------------------------------------------------
@dataclass(frozen=True)
class Sheet:
    key: str  # catalogue key suffix for the sheet name and its column headers
    sql: str
    params: Sequence[Any]
    html_columns: tuple[int, ...] = ()  # columns holding Telegram HTML (exported as plain text)
    labelled: tuple[tuple[int, str], ...] = ()  # (column, label kind): stored values shown as words
    times: tuple[int, ...] = ()  # columns holding stored instants (shown as dates in the configured zone)
    flags: tuple[int, ...] = ()  # columns holding 0/1 (shown as yes/no)


class Snapshot(ReadSnapshot):
    """The export's one consistent picture of the database: the scope's sheets, their sizes, their rows.

    Synchronous: used by the worker thread that opened it, never on the event loop.
    """

    def sheets(self, paths: Paths) -> list[Sheet]:
        """The ledger's sheets for the scope (other features' sheets when their tables exist)."""
        return export_sheets(self.tables(), paths)

    def count_rows(self, sheet: Sheet) -> int:
        return int(self.fetchval(f"SELECT COUNT(*) FROM ({sheet.sql}) AS counted", sheet.params))  # noqa: S608

    def estimate_rows(self, sheet: Sheet) -> int:
        """About how many rows a whole-ledger sheet has (its table's size: no second pass over a join)."""
        table = SHEET_TABLES.get(sheet.key)
        if table is None:
            return self.count_rows(sheet)
        return int(self.fetchval(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608

    def iter_rows(self, sheet: Sheet) -> Iterator[Row]:
        return self.rows(sheet.sql, sheet.params)


SHEET_TABLES = {  # the table each whole-ledger sheet's rows come from (one row per table row)
    "members": "members", "memberships": "member_groups", "activities": "activities",
    "signups": "activity_signups", "feedback": "feedback_items", "surveys": "surveys",
}


def export_sheets(tables: set[str], paths: Paths) -> list[Sheet]:
    """The ledger's sheets for the scope, only for tables that exist."""
    ms, mp = member_in(paths, "m.id")
    gs, gp = path_in(paths, "g.path")
    sheets = [
        Sheet(
            "members",
            "SELECT m.id, m.name, m.category, m.status, m.organisation, m.position, m.phone, m.registered_at,"  # noqa: S608
            f" m.profile_confirmed_at, m.unreachable_at FROM members m WHERE {ms} ORDER BY m.id",
            mp,
            labelled=((2, CATEGORY), (3, MEMBER_STATUS)),
            times=(7, 8, 9),
        ),
        Sheet(
            "groups",
            "SELECT g.id, g.parent_id, g.name, g.kind,"  # noqa: S608
            " (SELECT COUNT(*) FROM member_groups mg WHERE mg.group_id = g.id AND mg.status = 'active')"
            f" FROM groups g WHERE g.archived_at IS NULL AND {gs} ORDER BY g.path",
            gp,
            labelled=((3, GROUP_KIND),),
        ),
        Sheet(
            "memberships",
            "SELECT mg.member_id, m.name, g.id, g.name, mg.status, mg.requested_at, mg.decided_at"  # noqa: S608
            " FROM member_groups mg JOIN groups g ON g.id = mg.group_id JOIN members m ON m.id = mg.member_id"
            f" WHERE {gs} ORDER BY mg.member_id, g.path",
            gp,
            labelled=((4, MEMBERSHIP_STATUS),),
            times=(5, 6),
        ),
    ]
    if {"activities", "activity_signups"} <= tables:
        sheets += _activity_sheets(paths)
    if {"notices", "notice_acks", "outbox"} <= tables:
        nc, np_ = member_in(paths, "o.member_id")
        sheets.append(Sheet(
            "notices",
            "SELECT n.id, n.sent_at, n.status, n.text, COUNT(o.id),"  # noqa: S608
            " COUNT(CASE WHEN o.status = 'sent' THEN 1 END), COUNT(CASE WHEN o.status = 'sent' THEN a.member_id END)"
            " FROM notices n JOIN outbox o ON o.kind = 'notice' AND o.ref_id = n.id AND o.member_id IS NOT NULL"
            " LEFT JOIN notice_acks a ON a.notice_id = n.id AND a.member_id = o.member_id"
            f" WHERE {nc} GROUP BY n.id, n.sent_at, n.status, n.text ORDER BY n.id",
            np_,
            html_columns=(3,),
            labelled=((2, NOTICE_STATUS),),
            times=(1,),
        ))
    if "feedback_items" in tables:
        fc, fp = feedback_in(paths, "f.id")
        # Anonymous items: no author at all (feedback_authors is never read here).
        sheets.append(Sheet(
            "feedback",
            "SELECT f.ref, f.kind, f.status, f.anonymous,"  # noqa: S608
            " CASE WHEN f.anonymous = 0 THEN f.author_member_id END,"
            " CASE WHEN f.anonymous = 0 THEN m.name END,"
            " f.body, f.created_at, f.due_at, f.answer, f.answered_at"
            " FROM feedback_items f LEFT JOIN members m ON m.id = f.author_member_id AND f.anonymous = 0"
            f" WHERE {fc} ORDER BY f.id",
            fp,
            labelled=((1, FEEDBACK_KIND), (2, FEEDBACK_STATUS)),
            flags=(3,),
            times=(7, 8, 10),
        ))
    if {"surveys", "survey_questions", "survey_responses", "survey_answers", "survey_targets"} <= tables:
        sheets += _survey_sheets(paths)
    return sheets


def _activity_sheets(paths: Paths) -> list[Sheet]:
    """Activities addressed to the scope; the sign-ups the scope sees (`signups_in`) and their counts."""
    ac, ap = activity_in(paths, "a.id")
    seen, sp = signups_in(paths, "a.id", "s.member_id")
    return [
        Sheet(
            "activities",
            "SELECT a.id, a.title, a.place, a.starts_at, a.ends_at, a.status, a.capacity,"  # noqa: S608
            " COUNT(s.id), COUNT(s.checked_in_at) FROM activities a"
            f" LEFT JOIN activity_signups s ON s.activity_id = a.id AND s.status = 'confirmed' AND {seen}"
            f" WHERE {ac} GROUP BY a.id, a.title, a.place, a.starts_at, a.ends_at, a.status, a.capacity"
            " ORDER BY a.starts_at, a.id",
            [*sp, *ap],
            labelled=((5, ACTIVITY_STATUS),),
            times=(3, 4),
        ),
        Sheet(
            "signups",
            "SELECT s.activity_id, a.title, s.member_id, m.name, s.status, s.created_at, s.checked_in_at"  # noqa: S608
            " FROM activity_signups s JOIN activities a ON a.id = s.activity_id JOIN members m ON m.id = s.member_id"
            f" WHERE {ac} AND {seen} ORDER BY s.activity_id, s.id",
            [*ap, *sp],
            labelled=((4, SIGNUP_STATUS),),
            times=(5, 6),
        ),
    ]


def _survey_sheets(paths: Paths) -> list[Sheet]:
    """Questionnaires addressed to the scope, counted and summed over the respondents in scope."""
    sc, sp = survey_in(paths, "v.id")
    targets, tp = member_in(paths, "t.member_id")
    started, rp = member_in(paths, "r.member_id")
    done, dp = member_in(paths, "r.member_id")
    invited = "v.invited" if paths is None else (
        f"(SELECT COUNT(*) FROM survey_targets t WHERE t.survey_id = v.id AND {targets})"  # noqa: S608
    )
    return [
        Sheet(
            "surveys",
            f"SELECT v.id, v.title, v.status, {invited},"  # noqa: S608
            f" (SELECT COUNT(*) FROM survey_responses r WHERE r.survey_id = v.id AND {started}),"
            " (SELECT COUNT(*) FROM survey_responses r WHERE r.survey_id = v.id AND r.completed_at IS NOT NULL"
            f" AND {done}), v.deadline_at FROM surveys v WHERE {sc} ORDER BY v.id",
            [*tp, *rp, *dp, *sp],
            labelled=((2, SURVEY_STATUS),),
            times=(6,),
        ),
        # Results without respondents: question, answer value (JSON), how many gave it.
        Sheet(
            "survey_results",
            "SELECT v.id, v.title, q.position, q.text, q.options, a.value, COUNT(*)"  # noqa: S608
            " FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id"
            " JOIN survey_questions q ON q.id = a.question_id JOIN surveys v ON v.id = q.survey_id"
            f" WHERE a.final = 1 AND {sc} AND {started} GROUP BY v.id, v.title, q.position, q.text, q.options, a.value"
            " ORDER BY v.id, q.position, a.value",
            [*sp, *rp],
        ),
    ]
