"""Questionnaires (调研): publication, answering, reminders and closing, results by scope.

The service owns each write's transaction and audit row; invitations and reminders go through the
outbox in the same transaction, each in its recipient's language (choice, else the Telegram
language last seen, else the default), built from the catalogue (`invitation`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Language, Settings
from bot.errors import Refusal
from bot.i18n import Catalog
from bot.roles import AccessDenied, Actor, RoleService
from bot.surveys import callbacks as cb
from bot.surveys.models import MemberResponse, Progress, QuestionResult, Results, Survey
from storage import audit, outbox
from storage import surveys as st
from storage.db import Database, Tx
from storage.groups import GroupRepo

MAX_TITLE = 200
MAX_QUESTION = 300
MAX_OPTION = 40
MAX_OPTIONS = 8
MAX_QUESTIONS = 20
MAX_FREE_TEXT = 1000
REMIND_BEFORE = timedelta(days=1)
SCOPE_GROUPS_SHOWN = 12


def parse_options(text: str) -> list[str]:
    options = [line.strip() for line in text.splitlines() if line.strip()]
    if len(options) < 2 or len(options) > MAX_OPTIONS:
        raise Refusal("sv.problem.options_count")
    if any(len(o) > MAX_OPTION for o in options) or len(set(options)) != len(options):
        raise Refusal("sv.problem.options_bad")
    return options


def clean(text: str | None, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise Refusal("sv.problem.empty")
    if len(value) > limit:
        raise Refusal("sv.problem.too_long", limit=MAX_FREE_TEXT)
    return value


def _index(raw: str, size: int) -> int:
    if not (raw.isascii() and raw.isdigit()) or int(raw) >= size:
        raise Refusal("sv.problem.bad_choice")
    return int(raw)


@dataclass
class SurveyService:
    db: Database
    roles: RoleService
    clock: Clock
    settings: Settings
    catalog: Catalog
    wake: Callable[[], None] = lambda: None  # the outbox worker looks at once after a commit
    repo: st.SurveyRepo = field(init=False)
    groups: GroupRepo = field(init=False)

    def __post_init__(self) -> None:
        self.repo = st.SurveyRepo(self.db)
        self.groups = GroupRepo(self.db)

    # --- messages --------------------------------------------------------------------------------
    def invitation(
        self, survey_id: int, title: str, deadline: datetime, lang: Language, reminder: bool
    ) -> tuple[str, dict[str, Any]]:
        """The invitation (or reminder) text and its Start button, in `lang`."""
        due = deadline.astimezone(self.settings.zone).strftime("%Y-%m-%d %H:%M")
        text = str(self.catalog.text(lang, "sv.reminder" if reminder else "sv.invite", title=title, due=due))
        label = str(self.catalog.text(lang, "sv.start_button"))
        return text, {"inline_keyboard": [[{"text": label, "callback_data": cb.START.data(id=survey_id)}]]}

    async def _invite(self, tx: Tx, survey_id: int, reminder: bool, now: datetime) -> int:
        title, deadline = await st.title_and_deadline(tx, survey_id)
        kind = "survey_reminder" if reminder else "survey_invite"
        messages = []
        for person in await st.invitees(tx, survey_id, pending_only=reminder):
            lang: Language = "en" if (person.language or self.settings.language) == "en" else "zh-Hans"
            text, markup = self.invitation(survey_id, title, deadline, lang, reminder)
            messages.append(
                outbox.OutgoingMessage(kind, survey_id, person.user_id, text, member_id=person.member_id,
                                       reply_markup=markup)
            )
        return await outbox.enqueue(tx, messages, now)

    # --- coordinators: publishing -------------------------------------------------------------------
    async def scope_groups(self, actor: Actor) -> list[tuple[int, str]]:
        """(group id, name) of the live groups the coordinator covers (tree order, the first few)."""
        self.roles.require_coordinator(actor)
        return [(g.id, g.name) for g in await self.groups.all() if actor.scope.covers_path(g.path)][:SCOPE_GROUPS_SHOWN]

    async def publish(
        self,
        actor: Actor,
        title: str,
        questions: Sequence[tuple[str, str, Sequence[str]]],
        group_id: int | None,
        days: int,
        category: str | None = None,
    ) -> tuple[int, int]:
        """Create the survey, its audience and invitations in one transaction; (id, invited)."""
        self.roles.require_coordinator(actor)
        if (
            not questions
            or len(questions) > MAX_QUESTIONS
            or not 1 <= days <= 90
            or category not in (None, *cb.CATEGORIES)
        ):
            raise Refusal("sv.problem.incomplete")
        paths = actor.scope.paths_or_none
        if group_id is not None:
            await self.roles.require_group(actor, group_id)
            group = await self.groups.get(group_id)
            paths = (group.path,) if group is not None and not group.archived else ()
        name = clean(title, MAX_TITLE)
        now = self.clock.now()
        deadline = now + timedelta(days=days)
        async with self.db.transaction() as tx:
            survey_id = await st.insert_survey(tx, name, questions, paths, actor.user_id, deadline, now)
            invited = await st.add_targets(tx, survey_id, paths, category)
            await self._invite(tx, survey_id, False, now)
            await st.add_jobs(tx, survey_id, deadline - REMIND_BEFORE, deadline)
            details = {"invited": invited, "category": category}
            await audit.record(tx, now, actor.user_id, "survey.publish", "survey", survey_id, details)
        self.wake()
        return survey_id, invited

    # --- members: answering -------------------------------------------------------------------------
    @staticmethod
    def _member(actor: Actor) -> int:
        if actor.member_id is None or not actor.is_member:
            raise AccessDenied("members only")
        return actor.member_id

    async def begin(self, actor: Actor, survey_id: int) -> tuple[str, Progress | None]:
        """'ok' with the member's progress, or 'closed' | 'not_invited' | 'done'."""
        member_id = self._member(actor)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            state = await st.state(tx, survey_id, member_id, now)
            if state != "ok":
                return state, None
            await st.start_response(tx, survey_id, member_id, now)
        return state, await self.repo.progress(survey_id, member_id)

    async def answer(self, actor: Actor, survey_id: int, question_id: int, raw: str) -> tuple[str, Progress | None]:
        """Apply one answer (choice index, rating, text, 'toggle:<i>' or 'done').

        Returns 'saved' | 'completed' | 'stale' (not the current question) | 'closed' | 'done' |
        'not_invited', and the progress.
        """
        member_id = self._member(actor)
        progress = await self.repo.progress(survey_id, member_id)
        question = progress.question
        if question is None or question.id != question_id:
            state, _ = await self.begin(actor, survey_id)
            return ("stale" if state == "ok" else state), progress
        value: Any
        final = True
        if question.kind == "single":
            value = _index(raw, len(question.options))
        elif question.kind == "rating":
            value = _index(raw, 6)
            if value < 1:
                raise Refusal("sv.problem.bad_choice")
        elif question.kind == "multi":
            if raw == "done":
                if not progress.partial:
                    raise Refusal("sv.problem.pick_one")
                value = sorted(progress.partial)
            else:
                index = _index(raw.removeprefix("toggle:"), len(question.options))
                value, final = sorted(set(progress.partial) ^ {index}), False
        else:
            value = clean(raw, MAX_FREE_TEXT)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            state = await st.state(tx, survey_id, member_id, now)
            if state != "ok":
                return state, await self.repo.progress(survey_id, member_id)
            completed = await st.save_answer(tx, survey_id, member_id, question.id, value, final, now)
        return ("completed" if completed else "saved"), await self.repo.progress(survey_id, member_id)

    async def responses_of(self, member_id: int) -> list[MemberResponse]:
        """The member's own responses (their /mydata export)."""
        return await self.repo.responses_of(member_id)

    # --- coordinators: results ----------------------------------------------------------------------
    async def visible(self, actor: Actor) -> list[Survey]:
        self.roles.require_coordinator(actor)
        return await self.repo.visible(actor.scope.paths_or_none, actor.user_id)

    async def results(self, actor: Actor, survey_id: int) -> Results:
        """The results the coordinator may see: only invitations and answers of members in their scope."""
        self.roles.require_coordinator(actor)
        found = await self.repo.visible(actor.scope.paths_or_none, actor.user_id, 1, survey_id)
        if not found:
            raise AccessDenied("survey outside scope")
        survey = found[0]
        paths = actor.scope.paths_or_none
        invited = await self.repo.invited(survey_id, paths)
        completed, answers = await self.repo.answers(survey_id, paths)
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
        return Results(survey, invited, completed, tuple(out))

    # --- due work ------------------------------------------------------------------------------------
    async def run_due(self) -> int:
        """Send due reminders (to those who have not finished) and close surveys past their deadline."""
        now = self.clock.now()
        done = 0
        for job_id, survey_id, kind in await self.repo.due_jobs(now):
            async with self.db.transaction() as tx:
                if not await st.claim_job(tx, job_id, now):
                    continue
                done += 1
                if kind == "close":
                    await st.close(tx, survey_id, now)
                elif await st.status_of(tx, survey_id) == "open":
                    await self._invite(tx, survey_id, True, now)
        if done:
            self.wake()
        return done
