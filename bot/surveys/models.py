"""What questionnaires store and show: question kinds, statuses and the rows storage returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import labels

KINDS = ("single", "multi", "rating", "text")
STATUSES = ("open", "closed")
labels.register("survey_status", STATUSES)


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


@dataclass(frozen=True)
class MemberResponse:
    """A member's own response: the questionnaire, when, and each answer as (question, answer)."""

    title: str
    started_at: datetime
    completed_at: datetime | None
    answers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Invitee:
    """A member a questionnaire message goes to, with their resolved language."""

    member_id: int
    user_id: int
    language: str | None


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
    """A questionnaire's results as one coordinator may see them (answers inside their scope)."""

    survey: Survey
    invited: int
    completed: int
    questions: tuple[QuestionResult, ...]

    @property
    def rate(self) -> int:
        return round(100 * self.completed / self.invited) if self.invited else 0
