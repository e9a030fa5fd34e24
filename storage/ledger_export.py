"""The ledger's export: its sheets (SQL per scope) and the one read-only snapshot they are read from.

Synchronous: used by the export's worker thread, never on the event loop. Split out of
storage/ledger.py (the figures and the backup schedule stay there).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
)
from storage.scope import Paths, activity_in, feedback_in, member_in, path_in, signups_in, survey_in
from storage.snapshot import ReadSnapshot

Row = tuple[Any, ...]


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
    # (column, id column, SQL of (id, value) pairs): the column (NULL in `sql`) is filled from a
    # dictionary read once, not by a join per row (a name or title of every sign-up).
    lookups: tuple[tuple[int, int, str], ...] = ()


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
        """The sheet's rows as stored (a lookup column is None: see `Sheet.lookups`)."""
        return self.rows(sheet.sql, sheet.params)

    def sheet_batches(self, sheet: Sheet, size: int) -> Iterator[list[Row]]:
        """The sheet's rows, `size` at a time (memory stays flat)."""
        return self.batches(sheet.sql, sheet.params, size)

    def lookup(self, sql: str) -> Iterator[Row]:
        """(id, value) pairs of a `Sheet.lookups` query."""
        return self.rows(sql)


MEMBER_NAMES = "SELECT id, name FROM members"
ACTIVITY_TITLES = "SELECT id, title FROM activities"

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
            "SELECT mg.member_id, NULL, g.id, g.name, mg.status, mg.requested_at, mg.decided_at"  # noqa: S608
            f" FROM member_groups mg JOIN groups g ON g.id = mg.group_id WHERE {gs} ORDER BY mg.member_id, g.path",
            gp,
            labelled=((4, MEMBERSHIP_STATUS),),
            times=(5, 6),
            lookups=((1, 0, MEMBER_NAMES),),
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
    sc, scp = activity_in(paths, "s.activity_id")
    seen, sp = signups_in(paths, "s.activity_id", "s.member_id")
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
            "SELECT s.activity_id, NULL, s.member_id, NULL, s.status, s.created_at, s.checked_in_at"  # noqa: S608
            f" FROM activity_signups s WHERE {sc} AND {seen} ORDER BY s.activity_id, s.id",
            [*scp, *sp],
            labelled=((4, SIGNUP_STATUS),),
            times=(5, 6),
            lookups=((1, 0, ACTIVITY_TITLES), (3, 2, MEMBER_NAMES)),
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
