"""The export's column conversions (bot/ledger/export.py) and its writer processes (bot/ledger/workbook.py, csvzip.py).

The fast paths (one regex search per text column, one UTC offset per batch of instants) must give
exactly what the cell-by-cell rules give: `guarded` for every text, `local_time` for every instant.
"""

from __future__ import annotations

import io
import random
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.ledger.export import (
    Progress,
    csv_text,
    csv_times_column,
    guard_column,
    guarded,
    local_time,
    times_column,
)
from bot.ledger.workbook import CsvZipProcess, WorkbookProcess
from storage.timefmt import to_db


def _stored(moment: datetime) -> str:
    return to_db(moment)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_times_column_equals_the_value_by_value_rule(zone: str) -> None:
    """Batches spanning daylight-saving changes (and days without one) convert exactly."""
    tz = ZoneInfo(zone)
    rng = random.Random(7)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for span_days in (0.2, 3, 40, 400):
        base = start + timedelta(days=rng.uniform(0, 365))
        values: list[str | None] = [
            _stored(base + timedelta(seconds=rng.uniform(0, span_days * 86400))) for _ in range(500)
        ]
        values += [None] * 20
        rng.shuffle(values)
        expected = [None if v is None else local_time(v, tz) for v in values]
        assert times_column(values, tz) == expected


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                  "Asia/Kolkata", "Antarctica/Casey", "UTC"])
def test_csv_times_column_writes_what_the_date_times_write(zone: str) -> None:
    """The CSV's instants made without date-times (an hour's local text looked up once) are the very
    text the csv module writes for the value-by-value local date-times, across daylight-saving changes,
    half-hour zones and a change in the middle of a UTC hour; anything else (a date alone, no such day,
    a driver's date-times) too."""
    tz = ZoneInfo(zone)
    rng = random.Random(11)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    columns: list[list[Any]] = [
        ["2026-03-29T00:59:59.000000Z", "2026-03-29T01:00:00.000000Z", None, "2026-11-01T05:30:00.000000Z"],
        ["2026-02-30T01:00:00.000000Z", None], ["2026-03-01", None], [datetime(2026, 3, 1, 12, tzinfo=UTC), None],
        [None, None], [],
        # Casey changed its whole-hour offset in the middle of a UTC hour (2020-10-03, 16:xx UTC).
        [_stored(datetime(2020, 10, 3, 16, tzinfo=UTC) + timedelta(seconds=30 * i)) for i in range(120)],
    ]
    for span_days in (0.2, 3, 40, 400):
        base = start + timedelta(days=rng.uniform(0, 365))
        values: list[Any] = [_stored(base + timedelta(seconds=rng.uniform(0, span_days * 86400))) for _ in range(500)]
        columns.append([*values, None])
    for values in columns:
        expected = [None if v is None else local_time(v, tz) if isinstance(v, str) else times_column([v], tz)[0]
                    for v in values]
        assert csv_text([csv_times_column(values, tz)]) == csv_text([expected])


def test_times_column_at_a_transition_hour() -> None:
    """Instants around the Berlin spring change: 00:59:59 UTC is 01:59:59, 01:00:00 UTC is 03:00:00."""
    tz = ZoneInfo("Europe/Berlin")
    values = ["2026-03-29T00:59:59.000000Z", "2026-03-29T01:00:00.000000Z", None]
    assert times_column(values, tz) == [datetime(2026, 3, 29, 1, 59, 59), datetime(2026, 3, 29, 3, 0, 0), None]


def test_guard_column_equals_guarded_cell_by_cell() -> None:
    texts = ["张伟", "=SUM(A1)", "+8613900000001", "-5", "@x", "a\nb", "\tTab", "bell\x07", "", "ok"]
    column = [*texts, None]
    assert list(guard_column(column)) == [*map(guarded, texts), None]
    assert guard_column((1, 2, None)) == (1, 2, None)  # numbers untouched
    assert list(guard_column([1, "=1+1", None])) == [1, "'=1+1", None]  # mixed
    clean = ("a", "b", None)
    assert guard_column(clean) is clean  # nothing to change: the column itself


def test_guarded_leaves_phones_and_empty_cells_alone() -> None:
    assert guarded("+8613900000001") == "+8613900000001"
    assert guarded("") == ""
    assert guarded("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"


def test_workbook_process_writes_dates_and_headers() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    book = WorkbookProcess(tz, [("One", ["n", "when"], (1,)), ("Empty", ["x"], ())])
    book.send([[1, 2], ["2026-11-05T02:00:00.000000Z", None]])
    book.end_sheet()
    book.end_sheet()
    workbook = load_workbook(io.BytesIO(book.result()))
    rows = list(workbook["One"].iter_rows(values_only=True))
    assert rows == [("n", "when"), (1, datetime(2026, 11, 5, 10, 0)), (2, None)]
    assert workbook["One"]["B2"].is_date and workbook["One"].freeze_panes == "A2"
    assert list(workbook["Empty"].iter_rows(values_only=True)) == [("x",)]
    assert book.peak_mb > 0


def test_workbook_process_failure_is_an_error_not_a_hang() -> None:
    book = WorkbookProcess(ZoneInfo("UTC"), [("One", ["a", "b"], ())])
    book.send([[1, 2], [3]])  # columns of different lengths: the child fails
    book.end_sheet()
    with pytest.raises(RuntimeError, match="workbook writer"):
        book.result()


def test_csv_zip_process_writes_local_times_and_the_header() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    csvs = CsvZipProcess(tz, [("one.csv", ["n", "when", "note"], (1,)), ("empty.csv", ["x"], ())])
    csvs.send([[1, 2], ["2026-11-05T02:00:00.000000Z", None], ["a,b", "+8613900000001"]])
    csvs.end_sheet()
    csvs.end_sheet()
    archive = zipfile.ZipFile(io.BytesIO(csvs.result()))
    assert archive.namelist() == ["one.csv", "empty.csv"]
    assert archive.read("one.csv").decode("utf-8-sig") == (
        'n,when,note\r\n1,2026-11-05 10:00:00,"a,b"\r\n2,,+8613900000001\r\n'
    )
    assert archive.read("empty.csv").decode("utf-8-sig") == "x\r\n"
    assert csvs.peak_mb > 0


def test_csv_zip_process_failure_is_an_error_not_a_hang() -> None:
    csvs = CsvZipProcess(ZoneInfo("UTC"), [("one.csv", ["a", "b"], ())])
    csvs.send([[1, 2], [3]])  # columns of different lengths: the child fails
    csvs.end_sheet()
    with pytest.raises(RuntimeError, match="CSV writer"):
        csvs.result()


def test_progress_reaches_100_only_when_the_files_are_written() -> None:
    progress = Progress(total=10)
    progress.add(10)
    assert progress.percent == 99  # every row read; the workbook process may still be writing
    progress.finish()
    assert progress.percent == 100
