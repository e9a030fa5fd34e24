"""Ledger figures (台账): periods in the configured zone, scoped statistics, member records.

Domain rules only (no telegram import). The SQL is in storage/ledger.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.roles import Scope
from storage.ledger import AuditRow, LedgerRepo, MemberBasics, MemberFigures, Paths

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
class Stats:
    period: Period
    members: MemberFigures


@dataclass(frozen=True)
class MemberRecord:
    basics: MemberBasics


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
        members = await self.repo.member_figures(scope_paths(scope), period.start, period.end, stale_before)
        return Stats(period, members)

    async def member_record(self, member_id: int) -> MemberRecord | None:
        """A member's participation record (also used by the member card)."""
        basics = await self.repo.member_basics(member_id)
        if basics is None:
            return None
        return MemberRecord(basics)

    async def summary_sections(self, scope: Scope, period: Period, text: Callable[..., str]) -> list[Section]:
        """Lists for the period summary document (activities held, answered suggestions)."""
        return []

    async def audit_read(self, now: datetime, actor: int, action: str, details: dict[str, Any]) -> None:
        await self.repo.record_read(now, actor, action, details)

    async def audit(self, page: int, action_prefix: str | None, actor: int | None) -> AuditPage:
        page = max(page, 0)
        rows, total = await self.repo.audit_page(AUDIT_PAGE_SIZE, page * AUDIT_PAGE_SIZE, action_prefix, actor)
        pages = max(1, -(-total // AUDIT_PAGE_SIZE))
        return AuditPage(rows, total, page, pages)
