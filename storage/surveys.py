"""SQL of questionnaires: publishing (with outbox invitations), progress, answers, results, jobs."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import audit, outbox
from storage.db import Database, Tx
from storage.timefmt import from_db, to_db

# (survey id, title, deadline, language, reminder?) -> (html text, reply markup dict)
MessageFactory = Callable[[int, str, datetime, str, bool], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Question:
    id: int
    position: int
    kind: str
    text: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Survey:
    id: int
    title: str
    status: str
    created_by: int
    invited: int
    deadline_at: datetime
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Progress:
    """Where a member stands: the next question (None when finished) and a partial multi choice."""

    question: Question | None
    partial: tuple[int, ...]
    total: int


def _segment(paths: Sequence[str] | None) -> tuple[str, list[Any]]:
    if paths is None:
        return "1 = 1", []
    if not paths:
        return "1 = 0", []
    return "(" + " OR ".join("g.path LIKE ?" for _ in paths) + ")", [p + "%" for p in paths]


class SurveyRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def publish(
        self,
        title: str,
        questions: Sequence[tuple[str, str, Sequence[str]]],
        paths: Sequence[str] | None,
        category: str | None,
        by_user: int,
        deadline: datetime,
        remind_at: datetime,
        now: datetime,
        default_lang: str,
        message: MessageFactory,
    ) -> tuple[int, int]:
        """Create the survey, its audience and invitations in one transaction; (id, invited)."""
        cond, params = _segment(paths)
        if category is not None:
            cond += " AND m.category = ?"
            params.append(category)
        async with self._db.transaction() as tx:
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
            await tx.execute(
                "INSERT INTO survey_targets (survey_id, member_id)"  # noqa: S608 - cond: fixed text
                " SELECT DISTINCT ?, m.id FROM members m"
                " JOIN member_groups mg ON mg.member_id = m.id AND mg.status = 'active'"
                f" JOIN groups g ON g.id = mg.group_id WHERE m.status = 'active' AND {cond}",
                (survey_id, *params),
            )
            invited = int(await tx.fetchval("SELECT COUNT(*) FROM survey_targets WHERE survey_id = ?", (survey_id,)))
            await tx.execute("UPDATE surveys SET invited = ? WHERE id = ?", (invited, survey_id))
            await self._enqueue(tx, survey_id, "survey_invite", False, now, default_lang, message)
            await tx.executemany(
                "INSERT INTO survey_jobs (survey_id, kind, due_at) VALUES (?, ?, ?)",
                [(survey_id, "remind", to_db(remind_at)), (survey_id, "close", to_db(deadline))],
            )
            await audit.record(
                tx, now, by_user, "survey.publish", "survey", survey_id, {"invited": invited, "category": category}
            )
        return survey_id, invited

    async def _enqueue(
        self,
        tx: Tx,
        survey_id: int,
        kind: str,
        pending_only: bool,
        now: datetime,
        default_lang: str,
        message: MessageFactory,
    ) -> int:
        extra = (
            " AND NOT EXISTS (SELECT 1 FROM survey_responses r WHERE r.survey_id = t.survey_id"
            " AND r.member_id = t.member_id AND r.completed_at IS NOT NULL)"
            if pending_only
            else ""
        )
        sql = (
            "SELECT m.id, m.user_id, COALESCE(b.language, b.tg_language) AS language"  # noqa: S608
            " FROM survey_targets t JOIN members m ON m.id = t.member_id"
            " LEFT JOIN bot_users b ON b.user_id = m.user_id"
            " WHERE t.survey_id = ? AND m.user_id IS NOT NULL" + extra + " ORDER BY m.id"  # extra: fixed text
        )
        rows = await tx.fetchall(sql, (survey_id,))
        survey = await tx.fetchone("SELECT title, deadline_at FROM surveys WHERE id = ?", (survey_id,))
        assert survey is not None
        messages = []
        for r in rows:
            text, markup = message(
                survey_id, survey["title"], from_db(survey["deadline_at"]), r["language"] or default_lang, pending_only
            )
            messages.append(
                outbox.OutgoingMessage(
                    kind, survey_id, int(r["user_id"]), text, member_id=int(r["id"]), reply_markup=markup
                )
            )
        return await outbox.enqueue(tx, messages, now)

    async def group_path(self, group_id: int) -> str | None:
        value = await self._db.fetchval("SELECT path FROM groups WHERE id = ? AND archived_at IS NULL", (group_id,))
        return None if value is None else str(value)

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

    async def surveys(self, limit: int = 20) -> list[Survey]:
        rows = await self._db.fetchall("SELECT id FROM surveys ORDER BY id DESC LIMIT ?", (limit,))
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

    async def start(self, survey_id: int, member_id: int, now: datetime) -> str:
        """'ok' | 'closed' | 'not_invited' | 'done' (the response row is created once)."""
        async with self._db.transaction() as tx:
            state = await self._state(tx, survey_id, member_id, now)
            if state != "ok":
                return state
            await tx.execute(
                "INSERT INTO survey_responses (survey_id, member_id, started_at) VALUES (?, ?, ?)"
                " ON CONFLICT (survey_id, member_id) DO NOTHING",
                (survey_id, member_id, to_db(now)),
            )
        return "ok"

    async def _state(self, tx: Tx, survey_id: int, member_id: int, now: datetime) -> str:
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

    async def save(
        self, survey_id: int, member_id: int, question_id: int, value: Any, final: bool, now: datetime
    ) -> str:
        """Store one answer; 'saved' | 'completed' | 'closed' | 'done' | 'not_invited'."""
        async with self._db.transaction() as tx:
            state = await self._state(tx, survey_id, member_id, now)
            if state != "ok":
                return state
            response_id = await tx.fetchval(
                "SELECT id FROM survey_responses WHERE survey_id = ? AND member_id = ?", (survey_id, member_id)
            )
            if response_id is None:
                response_id = await tx.insert(
                    "INSERT INTO survey_responses (survey_id, member_id, started_at) VALUES (?, ?, ?)",
                    (survey_id, member_id, to_db(now)),
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
            if int(missing) == 0:
                await tx.execute(
                    "UPDATE survey_responses SET completed_at = ? WHERE id = ? AND completed_at IS NULL",
                    (to_db(now), response_id),
                )
                return "completed"
        return "saved"

    async def answers(self, survey_id: int) -> tuple[int, dict[int, list[Any]]]:
        """(completed responses, question id -> list of values of completed responses)."""
        completed = int(
            await self._db.fetchval(
                "SELECT COUNT(*) FROM survey_responses WHERE survey_id = ? AND completed_at IS NOT NULL", (survey_id,)
            )
        )
        rows = await self._db.fetchall(
            "SELECT a.question_id, a.value FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id"
            " WHERE r.survey_id = ? AND r.completed_at IS NOT NULL ORDER BY r.id",
            (survey_id,),
        )
        found: dict[int, list[Any]] = {}
        for r in rows:
            found.setdefault(int(r["question_id"]), []).append(json.loads(r["value"]))
        return completed, found

    # --- jobs ----------------------------------------------------------------------------------------
    async def due_jobs(self, now: datetime) -> list[tuple[int, int, str]]:
        rows = await self._db.fetchall(
            "SELECT id, survey_id, kind FROM survey_jobs WHERE claimed_at IS NULL AND due_at <= ? ORDER BY due_at, id",
            (to_db(now),),
        )
        return [(int(r["id"]), int(r["survey_id"]), r["kind"]) for r in rows]

    async def run_job(
        self, job_id: int, survey_id: int, kind: str, now: datetime, default_lang: str, message: MessageFactory
    ) -> int | None:
        """Claim and perform a job in one transaction; None if someone else claimed it."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE survey_jobs SET claimed_at = ? WHERE id = ? AND claimed_at IS NULL", (to_db(now), job_id)
            )
            if changed != 1:
                return None
            if kind == "close":
                return await tx.execute(
                    "UPDATE surveys SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'",
                    (to_db(now), survey_id),
                )
            status = await tx.fetchval("SELECT status FROM surveys WHERE id = ?", (survey_id,))
            if status != "open":
                return 0
            return await self._enqueue(tx, survey_id, "survey_reminder", True, now, default_lang, message)
