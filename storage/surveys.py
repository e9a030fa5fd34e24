"""SQL of questionnaires: audience, progress, answers, results, jobs.

Reads are `SurveyRepo` methods; writes are functions taking the caller's `Tx` (the service owns
the transaction, its audit row and the invitations it queues). Scope conditions come from
storage/scope: the audience (`member_in`) and the answers a coordinator may see.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.surveys.models import Invitee, MemberResponse, Progress, Question, Survey
from storage.db import Database, Tx
from storage.scope import Clause, Paths, member_in, survey_in
from storage.timefmt import from_db, to_db


def visible_to(paths: Paths, user_id: int, survey: str) -> Clause:
    """The surveys (table alias `survey`) a coordinator may see: one targets a subtree of their scope
    (a survey of the whole association, '/', only for those who cover everything), or they made it."""
    cond, params = survey_in(paths, f"{survey}.id")
    return f"({cond} OR {survey}.created_by = ?)", [*params, user_id]


class SurveyRepo:
    """Reads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def survey(self, survey_id: int) -> Survey | None:
        row = await self._db.fetchone("SELECT * FROM surveys WHERE id = ?", (survey_id,))
        if row is None:
            return None
        paths = await self._db.fetchall(
            "SELECT path FROM survey_scopes WHERE survey_id = ? ORDER BY path", (survey_id,)
        )
        return Survey(
            int(row["id"]),
            row["title"],
            row["status"],
            int(row["created_by"]),
            int(row["invited"]),
            from_db(row["deadline_at"]),
            tuple(str(p["path"]) for p in paths),
        )

    async def visible(self, paths: Paths, user_id: int, limit: int = 20, survey_id: int | None = None) -> list[Survey]:
        """The newest surveys a coordinator may see: one of their subtrees is targeted, or they made it.

        A survey of the whole association ('/') is seen by those who cover everything and its author.
        """
        cond, params = visible_to(paths, user_id, "s")
        only = "" if survey_id is None else " AND s.id = ?"
        rows = await self._db.fetchall(
            f"SELECT s.id FROM surveys s WHERE {cond}{only} ORDER BY s.id DESC LIMIT ?",  # noqa: S608
            (*params, *(() if survey_id is None else (survey_id,)), limit),
        )
        found = [await self.survey(int(r["id"])) for r in rows]
        return [s for s in found if s is not None]

    async def questions(self, survey_id: int) -> list[Question]:
        rows = await self._db.fetchall(
            "SELECT id, position, kind, text, options FROM survey_questions WHERE survey_id = ? ORDER BY position",
            (survey_id,),
        )
        return [
            Question(int(r["id"]), int(r["position"]), r["kind"], r["text"], tuple(json.loads(r["options"])))
            for r in rows
        ]

    async def progress(self, survey_id: int, member_id: int) -> Progress:
        questions = await self.questions(survey_id)
        rows = await self._db.fetchall(
            "SELECT a.question_id, a.value, a.final FROM survey_answers a"
            " JOIN survey_responses r ON r.id = a.response_id WHERE r.survey_id = ? AND r.member_id = ?",
            (survey_id, member_id),
        )
        answered = {int(r["question_id"]): (json.loads(r["value"]), bool(r["final"])) for r in rows}
        for question in questions:
            value, final = answered.get(question.id, (None, False))
            if not final:
                partial = tuple(int(v) for v in value) if isinstance(value, list) else ()
                return Progress(question, partial, len(questions))
        return Progress(None, (), len(questions))

    async def invited(self, survey_id: int, paths: Paths) -> int:
        """Members invited to the survey, of those inside the scope."""
        cond, params = member_in(paths, "t.member_id")
        value = await self._db.fetchval(
            f"SELECT COUNT(*) FROM survey_targets t WHERE t.survey_id = ? AND {cond}",  # noqa: S608
            (survey_id, *params),
        )
        return int(value or 0)

    async def answers(self, survey_id: int, paths: Paths) -> tuple[int, dict[int, list[Any]]]:
        """(completed responses, question id -> values) of the completed responses of members in scope."""
        cond, params = member_in(paths, "r.member_id")
        completed = await self._db.fetchval(
            "SELECT COUNT(*) FROM survey_responses r"  # noqa: S608 - cond: fixed text from storage/scope
            f" WHERE r.survey_id = ? AND r.completed_at IS NOT NULL AND {cond}",
            (survey_id, *params),
        )
        rows = await self._db.fetchall(
            "SELECT a.question_id, a.value FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id"  # noqa: S608
            f" WHERE r.survey_id = ? AND r.completed_at IS NOT NULL AND {cond} ORDER BY r.id",
            (survey_id, *params),
        )
        found: dict[int, list[Any]] = {}
        for r in rows:
            found.setdefault(int(r["question_id"]), []).append(json.loads(r["value"]))
        return int(completed or 0), found

    async def responses_of(self, member_id: int) -> list[MemberResponse]:
        """The member's own responses, with their answers (their /mydata export)."""
        rows = await self._db.fetchall(
            "SELECT r.id, s.title, r.started_at, r.completed_at FROM survey_responses r"
            " JOIN surveys s ON s.id = r.survey_id WHERE r.member_id = ? ORDER BY r.id",
            (member_id,),
        )
        found = []
        for r in rows:
            answers = await self._db.fetchall(
                "SELECT q.kind, q.text, q.options, a.value FROM survey_answers a"
                " JOIN survey_questions q ON q.id = a.question_id WHERE a.response_id = ? ORDER BY q.position",
                (r["id"],),
            )
            found.append(
                MemberResponse(
                    str(r["title"]),
                    from_db(r["started_at"]),
                    None if r["completed_at"] is None else from_db(r["completed_at"]),
                    tuple(
                        (str(a["text"]), _shown(str(a["kind"]), json.loads(a["options"]), json.loads(a["value"])))
                        for a in answers
                    ),
                )
            )
        return found

    async def due_jobs(self, now: datetime) -> list[tuple[int, int, str]]:
        rows = await self._db.fetchall(
            "SELECT id, survey_id, kind FROM survey_jobs WHERE claimed_at IS NULL AND due_at <= ? ORDER BY due_at, id",
            (to_db(now),),
        )
        return [(int(r["id"]), int(r["survey_id"]), r["kind"]) for r in rows]


def _shown(kind: str, options: list[str], value: Any) -> str:
    """An answer as the member gave it: the option's text, the rating, or the text."""
    if kind in ("single", "multi"):
        picked = value if isinstance(value, list) else [value]
        return ", ".join(options[int(i)] for i in picked if 0 <= int(i) < len(options))
    return str(value)


# --- writes (inside the service's transaction) ------------------------------------------------------
async def insert_survey(
    tx: Tx,
    title: str,
    questions: Sequence[tuple[str, str, Sequence[str]]],
    paths: Paths,
    by_user: int,
    deadline: datetime,
    now: datetime,
) -> int:
    """The survey, its questions and the subtrees it targets ('/' for everything)."""
    survey_id = await tx.insert(
        "INSERT INTO surveys (title, created_by, deadline_at, created_at) VALUES (?, ?, ?, ?)",
        (title, by_user, to_db(deadline), to_db(now)),
    )
    await tx.executemany(
        "INSERT INTO survey_questions (survey_id, position, kind, text, options) VALUES (?, ?, ?, ?, ?)",
        [
            (survey_id, i, kind, text, json.dumps(list(opts), ensure_ascii=False))
            for i, (kind, text, opts) in enumerate(questions)
        ],
    )
    await tx.executemany(
        "INSERT INTO survey_scopes (survey_id, path) VALUES (?, ?)",
        [(survey_id, p) for p in (paths if paths is not None else ["/"])],
    )
    return survey_id


async def add_targets(tx: Tx, survey_id: int, paths: Paths, category: str | None) -> int:
    """Invite the active members of the audience (active memberships in scope, optionally one category)."""
    # everything ("/"): still only members with an active membership of a live group
    cond, scope_params = member_in(paths if paths is not None else ("/",), "m.id", active_only=True)
    params: list[Any] = [survey_id, *scope_params]
    if category is not None:
        cond += " AND m.category = ?"
        params.append(category)
    await tx.execute(
        "INSERT INTO survey_targets (survey_id, member_id)"  # noqa: S608 - cond: fixed text from storage/scope
        f" SELECT ?, m.id FROM members m WHERE m.status = 'active' AND {cond}",
        params,
    )
    invited = int(await tx.fetchval("SELECT COUNT(*) FROM survey_targets WHERE survey_id = ?", (survey_id,)))
    await tx.execute("UPDATE surveys SET invited = ? WHERE id = ?", (invited, survey_id))
    return invited


async def add_jobs(tx: Tx, survey_id: int, remind_at: datetime, deadline: datetime) -> None:
    await tx.executemany(
        "INSERT INTO survey_jobs (survey_id, kind, due_at) VALUES (?, ?, ?)",
        [(survey_id, "remind", to_db(remind_at)), (survey_id, "close", to_db(deadline))],
    )


async def invitees(tx: Tx, survey_id: int, pending_only: bool) -> list[Invitee]:
    """The invited members with a Telegram account (only those who have not finished: `pending_only`)."""
    extra = (
        " AND NOT EXISTS (SELECT 1 FROM survey_responses r WHERE r.survey_id = t.survey_id"
        " AND r.member_id = t.member_id AND r.completed_at IS NOT NULL)"
        if pending_only
        else ""
    )
    rows = await tx.fetchall(
        "SELECT m.id, m.user_id, COALESCE(b.language, b.tg_language) AS language"  # noqa: S608 - extra: fixed text
        " FROM survey_targets t JOIN members m ON m.id = t.member_id"
        " LEFT JOIN bot_users b ON b.user_id = m.user_id"
        " WHERE t.survey_id = ? AND m.user_id IS NOT NULL" + extra + " ORDER BY m.id",
        (survey_id,),
    )
    return [Invitee(int(r["id"]), int(r["user_id"]), r["language"]) for r in rows]


async def title_and_deadline(tx: Tx, survey_id: int) -> tuple[str, datetime]:
    row = await tx.fetchone("SELECT title, deadline_at FROM surveys WHERE id = ?", (survey_id,))
    if row is None:
        raise LookupError(f"survey {survey_id} not found")
    return str(row["title"]), from_db(row["deadline_at"])


async def state(tx: Tx, survey_id: int, member_id: int, now: datetime) -> str:
    """'ok' | 'closed' | 'not_invited' | 'done' for this member and survey."""
    row = await tx.fetchone("SELECT status, deadline_at FROM surveys WHERE id = ?", (survey_id,))
    if row is None:
        return "not_invited"
    invited = await tx.fetchval(
        "SELECT 1 FROM survey_targets WHERE survey_id = ? AND member_id = ?", (survey_id, member_id)
    )
    if not invited:
        return "not_invited"
    done = await tx.fetchval(
        "SELECT 1 FROM survey_responses WHERE survey_id = ? AND member_id = ? AND completed_at IS NOT NULL",
        (survey_id, member_id),
    )
    if done:
        return "done"
    if row["status"] != "open" or from_db(row["deadline_at"]) <= now:
        return "closed"
    return "ok"


async def start_response(tx: Tx, survey_id: int, member_id: int, now: datetime) -> None:
    await tx.execute(
        "INSERT INTO survey_responses (survey_id, member_id, started_at) VALUES (?, ?, ?)"
        " ON CONFLICT (survey_id, member_id) DO NOTHING",
        (survey_id, member_id, to_db(now)),
    )


async def save_answer(
    tx: Tx, survey_id: int, member_id: int, question_id: int, value: Any, final: bool, now: datetime
) -> bool:
    """Store one answer; True when it completed the response."""
    await start_response(tx, survey_id, member_id, now)
    response_id = await tx.fetchval(
        "SELECT id FROM survey_responses WHERE survey_id = ? AND member_id = ?", (survey_id, member_id)
    )
    await tx.execute(
        "INSERT INTO survey_answers (response_id, question_id, value, final) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (response_id, question_id) DO UPDATE SET value = excluded.value, final = excluded.final",
        (response_id, question_id, json.dumps(value, ensure_ascii=False), int(final)),
    )
    missing = await tx.fetchval(
        "SELECT COUNT(*) FROM survey_questions q WHERE q.survey_id = ? AND NOT EXISTS"
        " (SELECT 1 FROM survey_answers a WHERE a.response_id = ? AND a.question_id = q.id AND a.final = 1)",
        (survey_id, response_id),
    )
    if int(missing) != 0:
        return False
    await tx.execute(
        "UPDATE survey_responses SET completed_at = ? WHERE id = ? AND completed_at IS NULL", (to_db(now), response_id)
    )
    return True


async def claim_job(tx: Tx, job_id: int, now: datetime) -> bool:
    changed = await tx.execute(
        "UPDATE survey_jobs SET claimed_at = ? WHERE id = ? AND claimed_at IS NULL", (to_db(now), job_id)
    )
    return changed == 1


async def close(tx: Tx, survey_id: int, now: datetime) -> int:
    return await tx.execute(
        "UPDATE surveys SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'",
        (to_db(now), survey_id),
    )


async def status_of(tx: Tx, survey_id: int) -> str | None:
    value = await tx.fetchval("SELECT status FROM surveys WHERE id = ?", (survey_id,))
    return None if value is None else str(value)
