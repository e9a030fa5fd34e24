"""An activity's roster as a file for the person at the door (CSV or XLSX, issue #18).

Columns: 序号 (a number), name, organisation, phone (text: never a number, never an apostrophe),
status in words (bot/labels), checked in 是/否, check-in time and sign-up time (real date-times in
the configured zone in the XLSX), Telegram ID. An empty value is an empty cell. The formula guard
(`bot.ledger.export.guarded`) applies to member text in both files; a phone number is left alone.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.activities.models import RosterEntry
from bot.i18n import Translator
from bot.labels import label
from bot.ledger.export import guarded
from bot.ledger.workbook import write

COLUMNS = (
    "act.col.n", "act.col.name", "ledger.roster.organisation", "ledger.roster.phone", "act.col.status",
    "ledger.roster.checked", "act.col.checked_in", "act.col.signed_up", "act.col.user",
)
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def _text(value: str) -> str | None:
    return guarded(value) if value else None


def roster_rows(tr: Translator, entries: list[RosterEntry], zone: ZoneInfo) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows): numbers as numbers, times as naive local date-times, empty values as None."""
    yes, no = str(tr("ledger.bool.yes")), str(tr("ledger.bool.no"))
    rows = [
        [
            number,
            _text(e.name),
            _text(e.organisation),
            _text(e.phone),
            label(tr, "signup_status", e.status),
            yes if e.checked_in_at is not None else no,
            _local(e.checked_in_at, zone),
            _local(e.created_at, zone),
            e.user_id,
        ]
        for number, e in enumerate(entries, 1)
    ]
    return [str(tr(key)) for key in COLUMNS], rows


def roster_csv(tr: Translator, entries: list[RosterEntry], zone: ZoneInfo) -> bytes:
    """UTF-8 with a byte order mark (Excel opens it as UTF-8); times as `YYYY-MM-DD HH:MM`."""
    headers, rows = roster_rows(tr, entries, zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(
        [v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v for v in row] for row in rows
    )  # None: an empty field
    return buffer.getvalue().encode("utf-8-sig")


def roster_xlsx(tr: Translator, entries: list[RosterEntry], zone: ZoneInfo, title: str) -> bytes:
    """One sheet named after the activity: bold frozen header, filter, fitted widths, date cells."""
    headers, rows = roster_rows(tr, entries, zone)
    name = title.translate(_SHEET_FORBIDDEN).strip(" '")[:31].strip(" '") or "Roster"
    records = [dict(zip(headers, row, strict=True)) for row in rows] or [dict.fromkeys(headers)]
    out = io.BytesIO()
    write([(name, records)], out)
    return out.getvalue()
