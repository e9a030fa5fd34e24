"""Typed times of notices: a moment ('2026-12-05 14:00') or a repeat rule ('weekly mon 19:00 until ...')."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import when
from bot.notices.models import Recurrence
from bot.text import typed_int

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_WHEN = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})\s*$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_when(text: str, zone: ZoneInfo) -> datetime | None:
    """'2026-12-05 14:00' in the configured zone, or None."""
    match = _WHEN.match(text)
    if not match:
        return None
    year, month, day, hour, minute = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError:
        return None


def parse_repeat(text: str, zone: ZoneInfo, now: datetime | None = None) -> tuple[Recurrence, datetime] | None:
    """'daily 08:30 until 2026-12-31', 'weekly mon,thu 19:00 until ...', 'monthly 5 09:00 until ...', or as
    Chinese users write it (bot/when.py): 每天 08:30 到 12月31日, 每周一、周四 19:00 到 ..., 每月5日 09:00 到 ...
    (`now` places a date without a year: the next such day)."""
    english = _parse_english(text, zone)
    if english is not None:
        return english
    typed = when.parse_repeat(text, now or datetime.now(UTC), zone)
    if typed is None:
        return None
    until = datetime.combine(typed.until, time(23, 59), zone)
    if typed.freq == "weekly":
        return Recurrence("weekly", typed.at, typed.weekdays), until
    if typed.freq == "monthly":
        return Recurrence("monthly", typed.at, monthday=typed.monthday or 1), until
    return Recurrence("daily", typed.at), until


def _parse_english(text: str, zone: ZoneInfo) -> tuple[Recurrence, datetime] | None:
    words = text.lower().replace("，", ",").split()
    if len(words) < 4 or words[-2] != "until":
        return None
    date_match = _DATE.match(words[-1])
    time_match = _TIME.match(words[-3])
    if not date_match or not time_match:
        return None
    hour, minute = int(time_match.group(1)), int(time_match.group(2))
    if hour > 23 or minute > 59:
        return None
    try:
        until_day = date(*(int(g) for g in date_match.groups()))
    except ValueError:
        return None
    until = datetime.combine(until_day, time(23, 59), zone)
    at = time(hour, minute)
    freq, args = words[0], words[1:-3]
    if freq == "daily" and not args:
        return Recurrence("daily", at), until
    if freq == "weekly" and len(args) == 1:
        days: list[int] = []
        for part in args[0].split(","):
            if part in WEEKDAYS:
                days.append(WEEKDAYS.index(part))
            elif (day := typed_int(part, 1)) is not None and 1 <= day <= 7:
                days.append(day - 1)
            else:
                return None
        return Recurrence("weekly", at, tuple(sorted(set(days)))), until
    monthday = typed_int(args[0], 2) if freq == "monthly" and len(args) == 1 else None
    if monthday is not None and 1 <= monthday <= 31:
        return Recurrence("monthly", at, monthday=monthday), until
    return None


def out_of_quiet(moment: datetime, quiet: tuple[time, time] | None, zone: ZoneInfo) -> datetime:
    """A non-urgent send falling in quiet hours (`LIAISON_QUIET_HOURS`) moves to their end."""
    if quiet is None:
        return moment
    start, end = quiet
    local = moment.astimezone(zone)
    now = local.time()
    if start < end:  # e.g. 12:00-14:00 within one day
        if start <= now < end:
            return datetime.combine(local.date(), end, zone)
        return moment
    if now >= start:  # overnight, e.g. 22:00-08:00
        return datetime.combine(local.date() + timedelta(days=1), end, zone)
    if now < end:
        return datetime.combine(local.date(), end, zone)
    return moment
