"""What the ledger reads and computes: rows from storage/ledger.py and the figures built on them.

Storage returns the row dataclasses below; the service combines them into `Stats`. The enum-like
values they carry (categories, statuses, kinds) are shown to people only through `bot.labels`
(`shown` below), in every output: messages, charts, the PDF summary, XLSX/CSV.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot import labels
from bot.ledger.periods import Period

# Label kinds (bot/labels.KINDS) of the values the ledger shows.
CATEGORY = "category"
MEMBER_STATUS = "member_status"
MEMBERSHIP_STATUS = "membership_status"
GROUP_KIND = "group_kind"
ACTIVITY_STATUS = "activity_status"
SIGNUP_STATUS = "signup_status"
FEEDBACK_KIND = "feedback_kind"
FEEDBACK_STATUS = "feedback_status"
SURVEY_STATUS = "survey_status"
NOTICE_STATUS = "notice_status"
LABELLED = (
    CATEGORY, MEMBER_STATUS, MEMBERSHIP_STATUS, GROUP_KIND, ACTIVITY_STATUS, SIGNUP_STATUS, FEEDBACK_KIND,
    FEEDBACK_STATUS, SURVEY_STATUS, NOTICE_STATUS,
)

Text = Callable[..., str]  # catalogue texts as plain strings (documents are not HTML)


def shown(text: Text, kind: str, value: str | None) -> str:
    """The people's word for a stored value: its label; a value no kind declares is free text, kept."""
    if value is None or value == "":
        return ""
    if value in labels.KINDS.get(kind, ()):
        return labels.label(text, kind, value)
    return value


# --- rows read by storage ------------------------------------------------------------------------
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
    """One activity of the period with its confirmed sign-ups and check-ins in scope (counted in SQL)."""

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


# --- figures --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivityFigures:
    """The period's activities that are not cancelled: held (started by `now`) and upcoming."""

    rows: list[ActivityRow]
    now: datetime

    @property
    def activities(self) -> list[ActivityRow]:
        """The activities held (started by `now`)."""
        return [a for a in self.rows if a.starts_at <= self.now]

    @property
    def upcoming(self) -> list[ActivityRow]:
        """The activities of the period still to come (#17: their sign-ups count too)."""
        return [a for a in self.rows if a.starts_at > self.now]

    @property
    def upcoming_signups(self) -> int:
        return sum(a.confirmed for a in self.upcoming)

    @property
    def held(self) -> int:
        return len(self.activities)

    @property
    def signups(self) -> int:
        return sum(a.confirmed for a in self.activities)

    @property
    def attended(self) -> int:
        return sum(a.attended for a in self.activities)

    @property
    def _ended(self) -> list[ActivityRow]:
        return [a for a in self.activities if a.ends_at <= self.now]

    @property
    def no_shows(self) -> int:
        """Confirmed but not checked in, at activities that have ended."""
        return sum(a.confirmed - a.attended for a in self._ended)

    @property
    def attendance_rate(self) -> float | None:
        """Checked in / confirmed, over activities that have ended (None: nothing to measure)."""
        confirmed = sum(a.confirmed for a in self._ended)
        return None if confirmed == 0 else sum(a.attended for a in self._ended) / confirmed

    def monthly(self, period: Period) -> list[tuple[date, int, int]]:
        """(month, sign-ups, attended) for each month of the period, in the configured zone."""
        buckets = {m: [0, 0] for m in period.months()}
        for a in self.activities:
            key = a.starts_at.astimezone(period.zone).date().replace(day=1)
            if key in buckets:
                buckets[key][0] += a.confirmed
                buckets[key][1] += a.attended
        return [(m, v[0], v[1]) for m, v in buckets.items()]


@dataclass(frozen=True)
class NoticeFigures:
    notices: list[NoticeRow]

    @property
    def sent(self) -> int:
        return len(self.notices)

    @property
    def recipients(self) -> int:
        return sum(n.recipients for n in self.notices)

    @property
    def delivered(self) -> int:
        return sum(n.delivered for n in self.notices)

    @property
    def acknowledged(self) -> int:
        return sum(n.acknowledged for n in self.notices)

    @property
    def delivery_rate(self) -> float | None:
        return None if self.recipients == 0 else self.delivered / self.recipients

    @property
    def ack_rate(self) -> float | None:
        """Acknowledged / delivered."""
        return None if self.delivered == 0 else self.acknowledged / self.delivered


def median_hours(seconds: list[float]) -> float | None:
    return None if not seconds else statistics.median(seconds) / 3600


@dataclass(frozen=True)
class Stats:
    period: Period
    members: MemberFigures
    activities: ActivityFigures
    feedback: FeedbackFigures
    notices: NoticeFigures


@dataclass(frozen=True)
class MemberRecord:
    basics: MemberBasics
    attended: list[AttendedActivity]
    signed_up: int
    feedback: dict[str, int]

    @property
    def hours(self) -> float:
        """Hours spent at the activities attended (their scheduled duration)."""
        return sum((a.ends_at - a.starts_at).total_seconds() for a in self.attended) / 3600


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class ExportFiles:
    xlsx: bytes
    csv_zip: bytes
    rows: dict[str, int]
    writer_peak_mb: float = 0.0  # peak resident memory of the workbook process (bench/ledger.py)


Section = tuple[str, list[str]]
