"""The one source of "now": real in production, controllable in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall clock in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock(Clock):
    """A clock tests move by hand (no sleeping for real minutes)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 22, 2, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment
