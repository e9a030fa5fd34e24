"""Dates and times shown to people, and the legacy `parse_local` (a thin wrapper of bot/when.py,
the one reader of typed dates and times)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot import when


class DateError(ValueError):
    """The text is not a date and time we understand (``reason`` is a catalogue suffix)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_local(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """Parse `text` typed in `zone`; return an aware UTC datetime. Raises DateError (see bot/when.py)."""
    moment = when.parse(text, now, zone)
    if isinstance(moment, datetime):
        return moment
    raise DateError("format")


@lru_cache(maxsize=4096)  # pure; a few activity times are shown over and over (3 per sign-up card)
def show(moment: datetime, zone: ZoneInfo) -> str:
    """An instant in the configured zone, as users type it: '2026-12-05 14:00'."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
