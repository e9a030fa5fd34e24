"""How instants are written to and read from the database: UTC, fixed-width text."""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_WIDTH = len("2026-01-01T00:00:00.000000Z")


def to_db(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: store only aware instants")
    utc = moment.astimezone(UTC)
    if utc.year < 1000:  # isoformat and strftime pad years differently; keep strftime's form
        return utc.strftime(_FORMAT)
    # Same text as strftime(_FORMAT), several times faster (this runs on every update).
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_db(text: str) -> datetime:
    if len(text) == _WIDTH and text[10] == "T" and text[19] == "." and text[-1] == "Z":
        # The fixed-width form to_db writes: the C parser (strptime is ~10x slower).
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


def opt_from_db(text: str | None) -> datetime | None:
    return None if text is None else from_db(text)
