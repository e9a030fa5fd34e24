"""Questionnaires (调研): drafts built in the chat, publication, answering, reminders, results."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Settings
from bot.roles import AccessDenied, Actor, RoleService
from storage.surveys import MessageFactory, Progress, Question, Survey, SurveyRepo

KINDS = ("single", "multi", "rating", "text")
# The member categories (codes shared with the members feature).
CATEGORIES = ("enterprise", "intermediary", "freelancer", "new_media", "other")
MAX_TITLE = 200
MAX_QUESTION = 300
MAX_OPTION = 40
MAX_OPTIONS = 8
MAX_QUESTIONS = 20
MAX_FREE_TEXT = 1000
REMIND_BEFORE = timedelta(days=1)

__all__ = ["Progress", "Question", "QuestionResult", "Results", "Survey", "SurveyProblem", "SurveyService"]


class SurveyProblem(ValueError):
    """Bad builder or answer input; `reason` names the catalogue key suffix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    counts: tuple[int, ...]  # per option (single/multi) or per rating 1..5
    answered: int
    average: float | None
    texts: tuple[str, ...]

    def percent(self, index: int) -> int:
        return round(100 * self.counts[index] / self.answered) if self.answered else 0


@dataclass(frozen=True)
class Results:
    survey: Survey
    completed: int
    questions: tuple[QuestionResult, ...]

    @property
    def rate(self) -> int:
        return round(100 * self.completed / self.survey.invited) if self.survey.invited else 0


def parse_options(text: str) -> list[str]:
    options = [line.strip() for line in text.splitlines() if line.strip()]
    if len(options) < 2 or len(options) > MAX_OPTIONS:
        raise SurveyProblem("options_count")
    if any(len(o) > MAX_OPTION for o in options) or len(set(options)) != len(options):
        raise SurveyProblem("options_bad")
    return options


def clean(text: str | None, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise SurveyProblem("empty")
    if len(value) > limit:
        raise SurveyProblem("too_long")
    return value


@dataclass
class SurveyService:
    repo: SurveyRepo
    roles: RoleService
    clock: Clock
    settings: Settings
    message: MessageFactory | None = field(default=None)

    def _factory(self) -> MessageFactory:
        if self.message is None:
            raise RuntimeError("survey message factory not attached")
        return self.message

    async def publish(
        self,
        actor: Actor,
        title: str,
        questions: list[tuple[str, str, list[str]]],
        group_id: int | None,
        days: int,
        category: str | None = None,
    ) -> tuple[int, int]:
        self.roles.require_coordinator(actor)
        if (
            not questions
            or len(questions) > MAX_QUESTIONS
            or not 1 <= days <= 90
            or category not in (None, *CATEGORIES)
        ):
            raise SurveyProblem("incomplete")
        paths: list[str] | None = None if actor.scope.everything else list(actor.scope.paths)
        if group_id is not None:
            await self.roles.require_group(actor, group_id)
            path = await self.repo.group_path(group_id)
            paths = [path] if path else []
        now = self.clock.now()
        deadline = now + timedelta(days=days)
        return await self.repo.publish(
            clean(title, MAX_TITLE),
            questions,
            paths,
            category,
            actor.user_id,
            deadline,
            deadline - REMIND_BEFORE,
            now,
            self.settings.language,
            self._factory(),
        )

    def _member(self, actor: Actor) -> int:
        if actor.member_id is None or not actor.is_member:
            raise AccessDenied("members only")
        return actor.member_id

    async def begin(self, actor: Actor, survey_id: int) -> tuple[str, Progress | None]:
        member_id = self._member(actor)
        state = await self.repo.start(survey_id, member_id, self.clock.now())
        if state != "ok":
            return state, None
        return state, await self.repo.progress(survey_id, member_id)

    async def answer(self, actor: Actor, survey_id: int, question_id: int, raw: str) -> tuple[str, Progress | None]:
        """Apply one answer (choice index, rating, text, 'toggle:<i>' or 'done'); returns state and progress."""
        member_id = self._member(actor)
        progress = await self.repo.progress(survey_id, member_id)
        question = progress.question
        if question is None or question.id != question_id:
            state = await self.repo.start(survey_id, member_id, self.clock.now())
            return ("stale" if state == "ok" else state), progress
        value: Any
        final = True
        if question.kind == "single":
            index = _index(raw, len(question.options))
            value = index
        elif question.kind == "rating":
            value = _index(raw, 6)
            if value < 1:
                raise SurveyProblem("bad_choice")
        elif question.kind == "multi":
            if raw == "done":
                if not progress.partial:
                    raise SurveyProblem("pick_one")
                value = sorted(progress.partial)
            else:
                index = _index(raw.removeprefix("toggle:"), len(question.options))
                chosen = set(progress.partial) ^ {index}
                value, final = sorted(chosen), False
        else:
            value = clean(raw, MAX_FREE_TEXT)
        state = await self.repo.save(survey_id, member_id, question.id, value, final, self.clock.now())
        return state, await self.repo.progress(survey_id, member_id)

    async def visible(self, actor: Actor) -> list[Survey]:
        self.roles.require_coordinator(actor)
        return [s for s in await self.repo.surveys() if self._covers(actor, s)]

    def _covers(self, actor: Actor, survey: Survey) -> bool:
        return (
            actor.scope.everything
            or survey.created_by == actor.user_id
            or ("/" not in survey.paths and actor.scope.covers_any(list(survey.paths)))
        )

    async def results(self, actor: Actor, survey_id: int) -> Results:
        self.roles.require_coordinator(actor)
        survey = await self.repo.survey(survey_id)
        if survey is None or not self._covers(actor, survey):
            raise AccessDenied("survey outside scope")
        completed, answers = await self.repo.answers(survey_id)
        out = []
        for q in await self.repo.questions(survey_id):
            values = answers.get(q.id, [])
            if q.kind in ("single", "multi"):
                counts = [0] * len(q.options)
                for v in values:
                    for i in v if isinstance(v, list) else [v]:
                        if 0 <= int(i) < len(counts):
                            counts[int(i)] += 1
                out.append(QuestionResult(q, tuple(counts), len(values), None, ()))
            elif q.kind == "rating":
                counts = [sum(1 for v in values if v == n) for n in range(1, 6)]
                average = sum(int(v) for v in values) / len(values) if values else None
                out.append(QuestionResult(q, tuple(counts), len(values), average, ()))
            else:
                out.append(QuestionResult(q, (), len(values), None, tuple(str(v) for v in values)))
        return Results(survey, completed, tuple(out))

    @staticmethod
    def table(results: Results, label: Callable[[str], str]) -> list[list[str]]:
        """Rows for CSV/XLSX: question, answer/option, count, percent."""
        rows = [[label("question"), label("option"), label("count"), label("percent")]]
        for r in results.questions:
            if r.question.kind in ("single", "multi"):
                rows += [
                    [r.question.text, o, str(r.counts[i]), f"{r.percent(i)}%"] for i, o in enumerate(r.question.options)
                ]
            elif r.question.kind == "rating":
                rows += [[r.question.text, str(n + 1), str(r.counts[n]), f"{r.percent(n)}%"] for n in range(5)]
                rows.append([r.question.text, label("average"), f"{r.average:.2f}" if r.average else "", ""])
            else:
                rows += [[r.question.text, _safe(t), "", ""] for t in r.texts]
        rows.append([label("response_rate"), f"{results.completed}/{results.survey.invited}", "", f"{results.rate}%"])
        return rows

    def csv_bytes(self, results: Results, label: Callable[[str], str]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer).writerows([[_safe(c) for c in row] for row in self.table(results, label)])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")

    def xlsx_bytes(self, results: Results, label: Callable[[str], str]) -> bytes:
        # Imported here: openpyxl (and the numpy it loads) cost ~0.3 s of every start-up.
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "results"
        for row in self.table(results, label):
            sheet.append([_safe(c) for c in row])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    async def run_due(self) -> int:
        now = self.clock.now()
        done = 0
        for job_id, survey_id, kind in await self.repo.due_jobs(now):
            if (
                await self.repo.run_job(job_id, survey_id, kind, now, self.settings.language, self._factory())
                is not None
            ):
                done += 1
        return done


def _index(raw: str, size: int) -> int:
    if not raw.isdigit() or int(raw) >= size:
        raise SurveyProblem("bad_choice")
    return int(raw)


def _safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
