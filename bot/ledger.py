"""Ledger figures (台账): periods in the configured zone, scoped statistics, member records.

Domain rules only (no telegram import). The SQL is in storage/ledger.py.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.roles import Scope
from storage.ledger import (
    ActivityRow,
    AnsweredItem,
    AttendedActivity,
    AuditRow,
    FeedbackFigures,
    LedgerRepo,
    MemberBasics,
    MemberFigures,
    NoticeRow,
    Paths,
)

MAX_PERIOD_DAYS = 3660
_DATE = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_PERIOD = re.compile(rf"^\s*{_DATE}\s*(?:\s|~|—|–|\u5230|\u81f3|to)\s*{_DATE}\s*$")
_CODE = re.compile(r"^(\d{8})-(\d{8})$")


class BadPeriod(ValueError):
    """The typed period could not be understood (or is backwards / too long)."""


@dataclass(frozen=True)
class Period:
    """Whole days `first`..`last` (inclusive) in `zone`."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """Exclusive end instant (midnight after the last day)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self.zone).astimezone(UTC)

    @property
    def code(self) -> str:
        """Compact ASCII form for callback data: 20260101-20260630."""
        return f"{self.first:%Y%m%d}-{self.last:%Y%m%d}"

    @property
    def label(self) -> str:
        return f"{self.first.isoformat()} – {self.last.isoformat()}"

    def months(self) -> list[date]:
        """First day of each calendar month the period touches."""
        out: list[date] = []
        cur = self.first.replace(day=1)
        while cur <= self.last:
            out.append(cur)
            cur = (cur + timedelta(days=32)).replace(day=1)
        return out


def _make(first: date, last: date, zone: ZoneInfo) -> Period:
    if last < first:
        raise BadPeriod("end before start")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise BadPeriod("period too long")
    return Period(first, last, zone)


def this_month(now: datetime, zone: ZoneInfo) -> Period:
    today = now.astimezone(zone).date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return Period(first, last, zone)


def this_year(now: datetime, zone: ZoneInfo) -> Period:
    today = now.astimezone(zone).date()
    return Period(date(today.year, 1, 1), date(today.year, 12, 31), zone)


def parse_period(text: str, zone: ZoneInfo) -> Period:
    """'2026-01-01 2026-06-30' (also with ~, 到, 至, to between) -> Period."""
    match = _PERIOD.match(text or "")
    if not match:
        raise BadPeriod("not two dates")
    y1, m1, d1, y2, m2, d2 = (int(g) for g in match.groups())
    try:
        return _make(date(y1, m1, d1), date(y2, m2, d2), zone)
    except ValueError as exc:
        raise BadPeriod(str(exc)) from exc


def period_from_code(code: str, zone: ZoneInfo) -> Period:
    match = _CODE.match(code or "")
    if not match:
        raise BadPeriod("bad code")
    try:
        first = datetime.strptime(match.group(1), "%Y%m%d").date()
        last = datetime.strptime(match.group(2), "%Y%m%d").date()
    except ValueError as exc:
        raise BadPeriod(str(exc)) from exc
    return _make(first, last, zone)


def scope_paths(scope: Scope) -> Paths:
    return None if scope.everything else scope.paths


@dataclass(frozen=True)
class ActivityFigures:
    activities: list[ActivityRow]
    now: datetime

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


AUDIT_PAGE_SIZE = 10
Section = tuple[str, list[str]]


class LedgerService:
    def __init__(self, repo: LedgerRepo, settings: Settings, clock: Clock) -> None:
        self.repo = repo
        self._settings = settings
        self._clock = clock

    @property
    def zone(self) -> ZoneInfo:
        return self._settings.zone

    def this_month(self) -> Period:
        return this_month(self._clock.now(), self.zone)

    def this_year(self) -> Period:
        return this_year(self._clock.now(), self.zone)

    async def stats(self, scope: Scope, period: Period) -> Stats:
        now = self._clock.now()
        stale_before = now - timedelta(days=self._settings.profile_refresh_days)
        paths = scope_paths(scope)
        members = await self.repo.member_figures(paths, period.start, period.end, stale_before)
        activities = await self.repo.activity_rows(paths, period.start, period.end, now)
        feedback = await self.repo.feedback_figures(paths, period.start, period.end, now)
        notices = await self.repo.notice_rows(paths, period.start, period.end)
        return Stats(period, members, ActivityFigures(activities, now), feedback, NoticeFigures(notices))

    async def member_record(self, member_id: int) -> MemberRecord | None:
        """A member's participation record (also used by the member card)."""
        basics = await self.repo.member_basics(member_id)
        if basics is None:
            return None
        return MemberRecord(
            basics,
            await self.repo.attended(member_id),
            await self.repo.signed_up(member_id),
            await self.repo.feedback_given(member_id),
        )

    async def summary_sections(self, scope: Scope, period: Period, text: Callable[..., str]) -> list[Section]:
        """Lists for the period summary document (activities held, answered suggestions)."""
        paths = scope_paths(scope)
        zone = period.zone
        held = await self.repo.activity_rows(paths, period.start, period.end, self._clock.now())
        answered: list[AnsweredItem] = await self.repo.answered_suggestions(paths, period.start, period.end)
        return [
            (
                text("ledger.doc.activities", count=len(held)),
                [
                    text("ledger.doc.activity_line", date=a.starts_at.astimezone(zone).date().isoformat(),
                         title=a.title[:60], attended=a.attended, confirmed=a.confirmed)
                    for a in held
                ],
            ),
            (
                text("ledger.doc.suggestions", count=len(answered)),
                [
                    text("ledger.doc.suggestion_line", ref=item.ref, body=" ".join(item.body.split())[:50],
                         date=item.answered_at.astimezone(zone).date().isoformat())
                    for item in answered
                ],
            ),
        ]

    async def audit_read(self, now: datetime, actor: int, action: str, details: dict[str, Any]) -> None:
        await self.repo.record_read(now, actor, action, details)

    async def audit(self, page: int, action_prefix: str | None, actor: int | None) -> AuditPage:
        page = max(page, 0)
        rows, total = await self.repo.audit_page(AUDIT_PAGE_SIZE, page * AUDIT_PAGE_SIZE, action_prefix, actor)
        pages = max(1, -(-total // AUDIT_PAGE_SIZE))
        return AuditPage(rows, total, page, pages)
