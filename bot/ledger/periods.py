"""Periods of the ledger: whole days in the configured zone, typed or carried in button data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import Refusal

MAX_PERIOD_DAYS = 3660
BAD_PERIOD = "ledger.period.bad"  # the refusal's catalogue key
_DATE = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_PERIOD = re.compile(rf"^\s*{_DATE}\s*(?:\s|~|—|–|\u5230|\u81f3|to)\s*{_DATE}\s*$", re.ASCII)
_CODE = re.compile(r"^(\d{8})-(\d{8})$", re.ASCII)


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
    if last < first or (last - first).days > MAX_PERIOD_DAYS:
        raise Refusal(BAD_PERIOD)
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
    """'2026-01-01 2026-06-30' (also with ~, 到, 至, to between) -> Period; Refusal when unreadable."""
    match = _PERIOD.match(text or "")
    if not match:
        raise Refusal(BAD_PERIOD)
    y1, m1, d1, y2, m2, d2 = (int(g) for g in match.groups())
    try:
        first, last = date(y1, m1, d1), date(y2, m2, d2)
    except ValueError as exc:
        raise Refusal(BAD_PERIOD) from exc
    return _make(first, last, zone)


def period_from_code(code: str, zone: ZoneInfo) -> Period:
    """The period of a button's data (`Period.code`); Refusal when forged or impossible."""
    match = _CODE.match(code or "")
    if not match:
        raise Refusal(BAD_PERIOD)
    try:
        first = datetime.strptime(match.group(1), "%Y%m%d").date()
        last = datetime.strptime(match.group(2), "%Y%m%d").date()
    except ValueError as exc:
        raise Refusal(BAD_PERIOD) from exc
    return _make(first, last, zone)
