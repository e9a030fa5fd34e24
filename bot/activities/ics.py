"""An RFC 5545 calendar file for one activity (UTC times, escaped text, folded lines, a
reminder alarm), and its file name (the activity's title)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

ALARM_BEFORE = timedelta(hours=1)


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11): backslash, semicolon, comma, newline."""
    cleaned = "".join(ch for ch in value if ch in "\n\t" or ord(ch) >= 32).replace("\r\n", "\n")
    return cleaned.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> list[str]:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    out: list[str] = []
    current = ""
    limit = 75
    for ch in line:
        if len((current + ch).encode("utf-8")) > limit:
            out.append(current)
            current = " " + ch
            limit = 75
        else:
            current += ch
    out.append(current)
    return out


def activity_ics(
    *,
    uid: str,
    title: str,
    description: str,
    place: str,
    starts_at: datetime,
    ends_at: datetime,
    stamp: datetime,
    cancelled: bool = False,
    alarm_before: timedelta | None = ALARM_BEFORE,
) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//liaison-bot//activities//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART:{_utc(starts_at)}",
        f"DTEND:{_utc(ends_at)}",
        f"SUMMARY:{escape_text(title)}",
    ]
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    if place:
        lines.append(f"LOCATION:{escape_text(place)}")
    lines.append("STATUS:CANCELLED" if cancelled else "STATUS:CONFIRMED")
    if alarm_before is not None and not cancelled:
        minutes = int(alarm_before.total_seconds() // 60)
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(title)}",
            f"TRIGGER:-PT{minutes}M",
            "END:VALARM",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    folded = [part for line in lines for part in _fold(line)]
    return ("\r\n".join(folded) + "\r\n").encode("utf-8")


def file_name(title: str, activity_id: int) -> str:
    """The .ics file's name: the title (letters and digits of any script kept, the rest "_")."""
    kept = "".join(ch if ch.isalnum() else "_" for ch in title).strip("_")
    while "__" in kept:
        kept = kept.replace("__", "_")
    return f"{kept[:40] or f'activity-{activity_id}'}.ics"
