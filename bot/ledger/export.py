"""The ledger's export: the XLSX workbook and the CSV zip, written in one pass over each sheet's rows.

Runs in a worker thread (`asyncio.to_thread`) on the storage's read-only `Snapshot` (one consistent
picture for every sheet) and reports progress through a thread-safe `Progress` the handler polls.

Speed (bench/ledger.py, bench/RESULTS.md): rows are read and converted a batch at a time and column
by column, so the per-cell work runs in C where it can — label and yes/no columns through a memo's
`__getitem__`, names and titles through a dictionary read once (`Sheet.lookups`, no join per row),
text columns checked for formula starts and XML-illegal characters with one regex search over the
whole column; only a column with a hit is guarded cell by cell. Stored instants become local
date-times with one cached UTC offset per hour. Every stored enum-like value (category, status,
kind) is written as its label (`models.shown`).
"""

from __future__ import annotations

import csv
import functools
import html
import io
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.ledger.models import ExportFiles, Text, shown
from bot.ledger.workbook import CsvZipProcess, WorkbookProcess, frame
from bot.text import export_safe

if TYPE_CHECKING:
    from storage.ledger import Sheet, Snapshot

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
_PHONE_LIKE = re.compile(r"^\+?\d+$")
# A text column needs cell-by-cell work only when some value starts like a formula or holds a
# character XML forbids (bot.text.export_safe); searched once over the column joined by newlines
# (a value with a newline followed by "=" is a false alarm: the cells are then checked one by one).
_SUSPECT = re.compile("(?m)^[=+\\-@\t\r]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
BATCH = 5000
_TAG = re.compile(r"<[^>]*>")


@dataclass
class Progress:
    """Rows written so far out of the total (shared between the worker and the handler)."""

    total: int = 0
    done: int = 0
    finished: bool = False  # both files written (the workbook process finishes after the last row is read)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, rows: int) -> None:
        with self._lock:
            self.done += rows

    def finish(self) -> None:
        with self._lock:
            self.finished = True

    @property
    def percent(self) -> int:
        """Rows read so far, at most 99 % until both files are written."""
        with self._lock:
            if self.finished:
                return 100
            return 0 if self.total <= 0 else min(99, self.done * 100 // self.total)


def html_to_text(value: Any) -> Any:
    """Telegram HTML (notices) as plain text for documents."""
    if not isinstance(value, str):
        return value
    return html.unescape(_TAG.sub("", value)).strip()


def guarded(value: str) -> str:
    """A stored text as a cell: XML-safe, and never read as a formula (phone numbers stay as they are)."""
    value = export_safe(value)
    if value and value.startswith(_FORMULA_START) and not _PHONE_LIKE.match(value):
        return "'" + value  # never let a member's text become a spreadsheet formula
    return value


def _guard_any(value: Any) -> Any:
    return guarded(value) if isinstance(value, str) else value


def guard_column(column: Sequence[Any]) -> Sequence[Any]:
    """A column of stored values as cells: texts guarded (`guarded`), everything else as it is."""
    try:
        joined = "\n".join(filter(None, column))
    except TypeError:  # not only texts: numbers (an id column), perhaps mixed
        if str not in set(map(type, column)):
            return column
        return list(map(_guard_any, column))
    if _SUSPECT.search(joined) is None:
        return column
    return list(map(_guard_any, column))


def local_time(stored: str, zone: ZoneInfo) -> datetime | None:
    """A stored instant (storage/timefmt) as a naive local date-time (to the second) for a cell."""
    try:
        moment = datetime.fromisoformat(stored[:19]).replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment.astimezone(zone).replace(tzinfo=None)


class _Times:
    """Stored instants -> naive local date-times (to the second), a column at a time.

    The zone's UTC offset is looked up once per UTC day; a batch whose days all share one offset
    (nearly every batch) is converted by one comprehension, the rest value by value.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone
        self._offsets: dict[int, timedelta | None] = {}

    def _day(self, day: int) -> timedelta | None:
        """The offset of a day (its ordinal), or None when the zone's offset changes that day."""
        start = datetime.combine(date.fromordinal(day), datetime.min.time(), UTC)
        first = start.astimezone(self._zone).utcoffset()
        last = (start + timedelta(days=1, microseconds=-1)).astimezone(self._zone).utcoffset()
        offset = self._offsets[day] = first if first == last else None
        return offset

    def _offset(self, low: str, high: str) -> timedelta | None:
        """One offset for every instant from `low` to `high` (stored texts), or None."""
        try:
            first, last = date.fromisoformat(low[:10]).toordinal(), date.fromisoformat(high[:10]).toordinal()
        except ValueError:
            return None
        offsets = self._offsets
        offset = offsets[first] if first in offsets else self._day(first)
        for day in range(first + 1, last + 1):
            if (offsets[day] if day in offsets else self._day(day)) != offset:
                return None
        return offset

    def one(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, datetime):  # a driver that returns date-times
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            return aware.astimezone(self._zone).replace(tzinfo=None, microsecond=0)
        return local_time(value, self._zone) if isinstance(value, str) else value

    def column(self, values: Sequence[Any]) -> list[Any]:
        stored = [v for v in values if v is not None]
        if stored and all(isinstance(v, str) for v in (stored[0], stored[-1])):
            try:
                offset = self._offset(min(stored), max(stored))
            except TypeError:  # not only texts
                offset = None
            if offset is not None:
                parse = datetime.fromisoformat
                try:
                    return [None if v is None else parse(v[:19]) + offset for v in values]
                except (TypeError, ValueError):
                    pass
        return list(map(self.one, values))


@functools.lru_cache(maxsize=8)
def _times(zone_key: str) -> _Times:
    return _Times(ZoneInfo(zone_key))


def times_column(values: Sequence[Any], zone: ZoneInfo) -> list[Any]:
    """A column of stored instants as naive local date-times in `zone` (to the second)."""
    return _times(zone.key).column(values)


# Stored instants (storage/timefmt) as far as a CSV cell needs them: date, hour, minutes, seconds.
_STORED_LINES = re.compile(r"(?:\d{4}-\d\d-\d\d[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d[^\n]*\n)*")


class _HourTexts(dict[str, str | None]):
    """A stored instant's UTC hour ("YYYY-MM-DDTHH") -> its local "YYYY-MM-DD HH", or None when the
    zone's offset changes within that hour or is not a whole number of hours."""

    def __init__(self, zone: ZoneInfo) -> None:
        super().__init__()
        self._zone = zone

    def __missing__(self, hour: str) -> str | None:
        start = datetime.fromisoformat(f"{hour[:10]}T{hour[11:13]}:00:00").replace(tzinfo=UTC)
        offset = start.astimezone(self._zone).utcoffset()
        last = (start + timedelta(minutes=59, seconds=59)).astimezone(self._zone).utcoffset()
        text = None
        if offset is not None and offset == last and offset % timedelta(hours=1) == timedelta(0):
            text = str(start.replace(tzinfo=None) + offset)[:13]
        self[hour] = text
        return text


@functools.lru_cache(maxsize=8)
def _hour_texts(zone_key: str) -> _HourTexts:
    return _HourTexts(ZoneInfo(zone_key))


def csv_times_column(values: Sequence[Any], zone: ZoneInfo) -> Sequence[Any]:
    """A column of stored instants as CSV cells: exactly what `times_column` gives once written by the
    csv module (`YYYY-MM-DD HH:MM:SS` local), made without date-times — each UTC hour's local hour
    looked up once, minutes and seconds copied — when every value is a stored instant."""
    try:
        joined = "\n".join(filter(None, values)) + "\n"
    except TypeError:  # not only texts (a driver's date-times)
        return times_column(values, zone)
    if _STORED_LINES.fullmatch(joined) is not None:
        hours = _hour_texts(zone.key)
        try:
            return [None if v is None else hours[v[:13]] + v[13:19] for v in values]
        except (TypeError, ValueError):  # an hour without one whole-hour offset, or no such date
            pass
    return times_column(values, zone)


class _Memo(dict[Any, Any]):
    """value -> cell, computed once per distinct value; `__getitem__` is what `map` calls (in C)."""

    def __init__(self, make: Callable[[Any], Any]) -> None:
        super().__init__({None: None})
        self._make = make

    def __missing__(self, value: Any) -> Any:
        cell = self[value] = self._make(value)
        return cell


def _labelled(text: Text, kind: str, value: Any) -> Any:
    return _guard_any(shown(text, kind, value) if isinstance(value, str) else value)


def csv_text(columns: Sequence[Sequence[Any]]) -> str:
    """Columns of cells as CSV lines (local times as `YYYY-MM-DD HH:MM:SS`, None an empty field)."""
    out = io.StringIO()
    csv.writer(out).writerows(zip(*columns, strict=True))
    return out.getvalue()


class Columns:
    """How each column of a sheet becomes a cell: lookups, labels, yes/no, local times, plain text."""

    def __init__(self, sheet: Sheet, text: Text, zone: ZoneInfo, lookups: dict[int, dict[Any, Any]]) -> None:
        yes, no = text("ledger.bool.yes"), text("ledger.bool.no")
        self.lookups = [(target, source, lookups[target]) for target, source, _sql in sheet.lookups]
        self.times = sorted(sheet.times)
        self._zone = zone
        self._memos: dict[int, _Memo] = {i: _Memo(lambda v: yes if v else no) for i in sheet.flags}
        for column, kind in sheet.labelled:
            self._memos[column] = _Memo(functools.partial(_labelled, text, kind))
        self._html = set(sheet.html_columns)
        self._done = {t for t, _s, _d in self.lookups} | set(self.times) | set(self._memos)

    def stored(self, batch: Sequence[tuple[Any, ...]], width: int) -> list[Any]:
        """A batch of stored rows -> its columns of cells with the stored instants left as stored (what
        the writer processes are sent; each turns the instants into local date-times itself)."""
        columns: list[Any] = list(zip(*batch, strict=True)) or [()] * width
        for target, source, values in self.lookups:
            columns[target] = list(map(values.get, columns[source]))
        for i, memo in self._memos.items():
            columns[i] = list(map(memo.__getitem__, columns[i]))
        for i in range(width):
            if i in self._html:
                columns[i] = list(map(_guard_any, map(html_to_text, columns[i])))
            elif i not in self._done:
                columns[i] = guard_column(columns[i])
        return columns

    def convert(self, batch: Sequence[tuple[Any, ...]], width: int) -> tuple[list[Any], list[Any]]:
        """A batch of stored rows -> its columns of cells (lists or tuples, `width` of them), and the
        same columns with the stored instants left as stored (what the workbook process is sent)."""
        stored = self.stored(batch, width)
        columns = list(stored)
        for i in self.times:
            columns[i] = times_column(columns[i], self._zone)
        return columns, stored



def build_export(
    open_snapshot: Callable[[], Snapshot], paths: Sequence[str] | None, text: Text, zone: ZoneInfo,
    progress: Progress,
) -> ExportFiles:
    """The whole ledger of the scope as one XLSX workbook and a zip of CSV files (worker thread).

    One pass over each sheet's rows feeds both files: each batch is read, converted (all but the
    instants) and pickled here once, and the same frames go to the workbook process
    (bot/ledger/workbook.py: rustpy-xlsxwriter) and the CSV zip process (bot/ledger/csvzip.py), so
    this thread only reads while both writers run beside it. See bench/RESULTS.md.
    """
    with open_snapshot() as snapshot:  # one consistent picture for every sheet
        sheets = snapshot.sheets(paths)
        # The progress total: exact per scope; for the whole ledger each table's size (no second pass).
        count = snapshot.count_rows if paths is not None else snapshot.estimate_rows
        progress.total = sum(count(s) for s in sheets)
        known: dict[str, dict[Any, Any]] = {}

        def looked_up(sql: str) -> dict[Any, Any]:
            """A lookup's dictionary (id -> guarded cell), read once per export."""
            if sql not in known:
                pairs = list(snapshot.lookup(sql))
                keys = [k for k, _v in pairs]
                known[sql] = dict(zip(keys, guard_column([v for _k, v in pairs]), strict=True))
            return known[sql]

        specs = [
            (
                text(f"ledger.sheet.{sheet.key}").translate(_SHEET_FORBIDDEN)[:31],
                [h.strip() for h in text(f"ledger.cols.{sheet.key}").split("|")],
                tuple(sorted(sheet.times)),
            )
            for sheet in sheets
        ]
        rows: dict[str, int] = {}
        book = WorkbookProcess(zone, specs)
        csvs: CsvZipProcess | None = None
        try:
            files = [(f"{s.key}.csv", headers, times) for s, (_n, headers, times) in zip(sheets, specs, strict=True)]
            csvs = CsvZipProcess(zone, files)
            for sheet, (_name, headers, _times) in zip(sheets, specs, strict=True):
                columns = Columns(sheet, text, zone, {t: looked_up(sql) for t, _s, sql in sheet.lookups})
                rows[sheet.key] = 0
                for batch in snapshot.sheet_batches(sheet, BATCH):
                    data = frame(columns.stored(batch, len(headers)))  # pickled once, sent to both
                    book.put(data)
                    csvs.put(data)
                    rows[sheet.key] += len(batch)
                    progress.add(len(batch))
                book.end_sheet()
                csvs.end_sheet()
            book.finish()  # both children see the end now, then the longer one is waited for first
            csvs.finish()
            xlsx = book.result()
            csv_zip = csvs.result()
            progress.finish()
        except BaseException:
            book.close()
            if csvs is not None:
                csvs.close()
            raise
    return ExportFiles(xlsx, csv_zip, rows, max(book.peak_mb, csvs.peak_mb))
