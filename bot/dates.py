"""Typed dates and times in the configured zone, turned into UTC instants.

Accepted forms (the time part ``HH:MM`` is required):
``2026-12-05 14:00``, ``2026/12/05 14:00``, ``12-05 14:00``, ``12/05 14:00``,
``12月5日 14:00`` (optionally with a year ``2026年``), ``明天 14:00`` / ``tomorrow 14:00``,
``今天``/``today``, ``后天``/``day after tomorrow``. A date without a year is the next such
date that is not in the past.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# Chinese date words, spelled by code point so that code holds no Chinese literals.
# Words of the date grammar (what people type), not user-facing sentences.
_YEAR, _MONTH, _DAY, _DAY2 = "年", "月", "日", "号"
_TODAY = "今天"
_TOMORROW = "明天"
_AFTER_TOMORROW = "后天"
_FULLWIDTH_COLON = "："

_RELATIVE = {
    "today": 0,
    _TODAY: 0,
    "tomorrow": 1,
    _TOMORROW: 1,
    "day after tomorrow": 2,
    _AFTER_TOMORROW: 2,
}
_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{2})"
_ISO = re.compile(r"^(?:(?P<y>\d{4})[-/.])?(?P<m>\d{1,2})[-/.](?P<d>\d{1,2})\s+" + _TIME + "$")
_CN = re.compile(
    rf"^(?:(?P<y>\d{{4}}){_YEAR})?\s*(?P<m>\d{{1,2}}){_MONTH}\s*(?P<d>\d{{1,2}})[{_DAY}{_DAY2}]?\s*" + _TIME + "$"
)
_REL = re.compile(r"^(?P<word>[^\d]+?)\s*" + _TIME + "$")


class DateError(ValueError):
    """The text is not a date and time we understand (``reason`` is a catalogue suffix)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_local(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """Parse `text` typed in `zone`; return an aware UTC datetime. Raises DateError."""
    cleaned = " ".join(text.strip().replace(_FULLWIDTH_COLON, ":").split())
    if not cleaned or len(cleaned) > 40:
        raise DateError("format")
    today = now.astimezone(zone).date()
    match = _ISO.match(cleaned) or _CN.match(cleaned)
    found: re.Match[str] | None = match
    if match:
        year = match.group("y")
        day = _make_date(int(year) if year else today.year, int(match.group("m")), int(match.group("d")))
        if year is None and day < today:
            day = _make_date(today.year + 1, day.month, day.day)
    else:
        rel = _REL.match(cleaned)
        if rel is None:
            raise DateError("format")
        word = rel.group("word").strip().lower()
        if word not in _RELATIVE:
            raise DateError("format")
        day = today + timedelta(days=_RELATIVE[word])
        found = rel
    assert found is not None
    groups = found.groupdict()
    hour, minute = int(groups["h"]), int(groups["mi"])
    if hour > 23 or minute > 59:
        raise DateError("format")
    local = datetime.combine(day, time(hour, minute), tzinfo=zone)
    return local.astimezone(UTC)


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateError("format") from None


@lru_cache(maxsize=4096)  # pure; a few activity times are shown over and over (3 per sign-up card)
def show(moment: datetime, zone: ZoneInfo) -> str:
    """An instant in the configured zone, as users type it: '2026-12-05 14:00'."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
