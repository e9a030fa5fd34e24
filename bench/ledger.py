"""Ledger benchmark: /stats figures, a group segment selection, the full export, memory.

    python bench/ledger.py            # 100,000 members, 2,000 activities, 500,000 sign-ups, 50,000 feedback
    python bench/ledger.py --quick    # 5,000 members (CI smoke run)

Targets (issue 18): /stats of the head association ≤ 100 ms on a busy bot (`stats_s`: right after a
sign-up; `stats_cold_s` counts everything from scratch, `stats_hit_s` is a cache hit); the full
export (XLSX + CSV zip) ≤ 10 s with resident memory < 300 MB (`rss_mb` this process, `writer_rss_mb`
the larger writer process; `export_cpu_s` all three processes' CPU, what a loaded machine does not
inflate; `export_others_cores` how many cores other processes took meanwhile);
the XLSX writers side by side on the same rows (`writers`). A group segment under 100 ms (selection
at send time; `segment_count_ms` is the count-only path a notice preview uses). Last line: one
JSON object of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import FakeClock
from bot.config import load_settings
from bot.i18n import Catalog
from bot.ledger import reports
from bot.ledger.models import Text
from bot.ledger.service import LedgerService
from bot.roles import Actor, Role, Scope
from storage.db import Database

SEGMENT_SQL = (
    "SELECT m.id, m.user_id FROM members m WHERE m.status = 'active' AND m.user_id IS NOT NULL"
    " AND m.unreachable_at IS NULL AND m.id IN (SELECT mg.member_id FROM member_groups mg"
    " JOIN groups g ON g.id = mg.group_id WHERE mg.status = 'active' AND g.path LIKE ?)"
)


async def select_segment(db: Database, group_id: int, path: str) -> list[Any]:
    """The notices feature's resolver for a group segment when it exists, else the same SQL."""
    try:
        from bot.notices import Segment
        from bot.notices.segments import SegmentResolver
        from storage.segments import SegmentRepo
    except ImportError:
        return list(await db.fetchall(SEGMENT_SQL, (path + "%",)))
    resolver = SegmentResolver(SegmentRepo(db))
    return list(await resolver.resolve(db, Segment(group_ids=(group_id,)), Scope(everything=True)))


async def count_segment(db: Database, group_id: int, path: str) -> int:
    """What a notice preview runs: the count-only path (the full selection where it does not exist)."""
    from bot.notices import Segment
    from bot.notices.segments import SegmentResolver
    from storage.segments import SegmentRepo

    resolver = SegmentResolver(SegmentRepo(db))
    if not hasattr(resolver, "count"):
        return len(await select_segment(db, group_id, path))
    return int(await resolver.count(db, Segment(group_ids=(group_id,)), Scope(everything=True)))


WRITER_ROWS = 100_000
SIGNUP_WRITE = (
    "UPDATE activity_signups SET checked_in_at = CASE WHEN checked_in_at IS NULL THEN created_at END"
    " WHERE id = (SELECT MIN(id) FROM activity_signups) + ?"
)
MEMBER_WRITE = "UPDATE members SET profile_confirmed_at = registered_at WHERE id = 1 + ?"


async def _stats_after(db: Database, ledger: LedgerService, write: str, i: int) -> float:
    """Seconds of /stats (head association, this year) right after one committed write."""
    async with db.transaction() as tx:
        await tx.execute(write, (i,))
    started = time.perf_counter()
    await ledger.stats(Scope(everything=True), ledger.this_year())
    return time.perf_counter() - started


def writers_side_by_side(path: Path, text: Text, zone: Any) -> dict[str, float]:
    """The same prepared rows (the sign-ups sheet: numbers, text, labels, date-times) written by each
    XLSX writer: seconds for WRITER_ROWS rows (bold frozen header and date format where the writer can)."""
    from bot.ledger.export import Columns
    from storage.ledger import Snapshot

    with Snapshot(path) as snapshot:
        sheet = next(s for s in snapshot.sheets(None) if s.key == "signups")
        headers = [h.strip() for h in text(f"ledger.cols.{sheet.key}").split("|")]
        lookups: dict[int, dict[Any, Any]] = {t: dict(snapshot.lookup(sql)) for t, _s, sql in sheet.lookups}
        columns = Columns(sheet, text, zone, lookups)
        rows = []
        for batch in snapshot.sheet_batches(sheet, 5000):
            rows += [list(row) for row in zip(*columns.convert(batch, len(headers))[0], strict=True)]
            if len(rows) >= WRITER_ROWS:
                break
        rows = rows[:WRITER_ROWS]
    out: dict[str, float] = {}

    def timed(name: str, work: Any) -> None:
        started = time.perf_counter()
        work()
        out[name] = round(time.perf_counter() - started, 2)

    def openpyxl_write_only() -> None:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        ws = book.create_sheet("S")
        ws.freeze_panes = "A2"
        ws.append(headers)
        for row in rows:
            ws.append(row)
        book.save(io.BytesIO())

    def xlsxwriter_constant_memory() -> None:
        import xlsxwriter

        book = xlsxwriter.Workbook(io.BytesIO(), {"constant_memory": True, "default_date_format": "yyyy-mm-dd hh:mm"})
        ws = book.add_worksheet("S")
        ws.write_row(0, 0, headers, book.add_format({"bold": True}))
        ws.freeze_panes(1, 0)
        for index, row in enumerate(rows, 1):
            ws.write_row(index, 0, row)
        book.close()

    def pyexcelerate_write() -> None:
        from pyexcelerate import Workbook

        book = Workbook()
        book.new_sheet("S", data=[headers, *rows])
        book.save(io.BytesIO())

    def rustpy_xlsxwriter_write() -> None:
        import rustpy_xlsxwriter

        rustpy_xlsxwriter.write_worksheets(
            [("S", (dict(zip(headers, row, strict=True)) for row in rows))], io.BytesIO(),
            freeze_panes={"general": {"row": 1, "col": 0}}, autofit=True, bold_headers=True,
            autofilter={"S": True}, datetime_format="yyyy-mm-dd hh:mm",
        )

    timed("openpyxl_lxml_s", openpyxl_write_only)
    timed("xlsxwriter_s", xlsxwriter_constant_memory)
    timed("pyexcelerate_s", pyexcelerate_write)
    timed("rustpy_xlsxwriter_s", rustpy_xlsxwriter_write)
    out["ratio_openpyxl_to_rustpy"] = round(out["openpyxl_lxml_s"] / max(out["rustpy_xlsxwriter_s"], 1e-6), 1)
    out["ratio_xlsxwriter_to_rustpy"] = round(out["xlsxwriter_s"] / max(out["rustpy_xlsxwriter_s"], 1e-6), 1)
    return out


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds of this process, and of its finished children (the writer processes)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine so far (/proc/stat): how loaded it was."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])
    return total - fields[3] - fields[4], total


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    values: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


async def measure(path: Path, members: int) -> dict[str, object]:
    settings = load_settings(None, LIAISON_DB=str(path))
    clock = FakeClock(datetime(2026, 11, 22, 2, 0, tzinfo=UTC))
    db = await Database.open(path)
    try:
        warm = LedgerService(db, settings, clock)
        await warm.stats(Scope(everything=True), warm.this_year())  # the page cache, not the figures cache
        ledger = LedgerService(db, settings, clock)  # a fresh service: nothing cached
        started = time.perf_counter()
        stats = await ledger.stats(Scope(everything=True), ledger.this_year())
        stats_cold_s = time.perf_counter() - started
        started = time.perf_counter()
        await ledger.stats(Scope(everything=True), ledger.this_year())  # nothing written since: cached
        stats_hit_s = time.perf_counter() - started
        # The busy bot: a sign-up (or a check-in) between two /stats; only the activities are recounted.
        after_signup = [await _stats_after(db, ledger, SIGNUP_WRITE, i) for i in range(5)]
        stats_s = sorted(after_signup)[len(after_signup) // 2]
        # Rarer: a member's profile changes; the member figures are recounted.
        after_member = [await _stats_after(db, ledger, MEMBER_WRITE, i) for i in range(3)]
        stats_member_s = sorted(after_member)[len(after_member) // 2]
        print(f"stats: {stats_cold_s * 1000:.0f} ms counted from scratch, {stats_hit_s * 1000:.2f} ms from the cache,"
              f" {stats_s * 1000:.0f} ms after a sign-up, {stats_member_s * 1000:.0f} ms after a member's change")

        row = await db.fetchone("SELECT id, path FROM groups WHERE kind = 'sub' ORDER BY id LIMIT 1")
        assert row is not None
        segment_path = str(row["path"])
        recipients = await select_segment(db, int(row["id"]), segment_path)
        started = time.perf_counter()
        recipients = await select_segment(db, int(row["id"]), segment_path)
        segment_ms = (time.perf_counter() - started) * 1000
        await count_segment(db, int(row["id"]), segment_path)
        started = time.perf_counter()
        counted = await count_segment(db, int(row["id"]), segment_path)
        count_ms = (time.perf_counter() - started) * 1000

        text = reports.plain(Catalog.load().for_lang("zh-Hans"))
        progress = reports.Progress()
        load = float(Path("/proc/loadavg").read_text().split()[0])
        started, cpu, machine = time.perf_counter(), _cpu_seconds(), _machine_jiffies()
        files = await ledger.export(Actor(0, Role.OWNER, scope=Scope(everything=True)), text, progress)
        export_s = time.perf_counter() - started
        after, machine_after = _cpu_seconds(), _machine_jiffies()  # CPU of this process and of the writer processes
        export_cpu = (after[0] - cpu[0], after[1] - cpu[1])
        # What the other processes on the machine took meanwhile, in cores (a loaded machine slows the export).
        busy, total = machine_after[0] - machine[0], machine_after[1] - machine[1]
        cores = os.cpu_count() or 1
        others_cores = max(0.0, busy / max(total, 1) * cores - sum(export_cpu) / max(export_s, 1e-6))
        rss, hwm = memory_mb()  # before the side-by-side run, which holds its rows in memory

    finally:
        await db.close()
    writers = writers_side_by_side(path, text, settings.zone)
    print(f"writers, {WRITER_ROWS} sign-up rows: {writers}")
    print(f"stats (head association, this year): {stats_s * 1000:.0f} ms;"
          f" {stats.members.total} members, {stats.activities.held} activities held,"
          f" {stats.feedback.received} feedback items")
    print(f"segment (group {segment_path}): {segment_ms:.1f} ms, {len(recipients)} recipients;"
          f" preview count {count_ms:.1f} ms ({counted})")
    print(f"export CPU: {export_cpu[0]:.1f} s in this process, {export_cpu[1]:.1f} s in the writer processes"
          f" (workbook, CSV zip); meanwhile other processes used {others_cores:.2f} of {cores} cores (load {load})")
    print(f"export: {export_s:.1f} s, {sum(files.rows.values())} rows, xlsx {len(files.xlsx) / 1e6:.1f} MB,"
          f" csv zip {len(files.csv_zip) / 1e6:.1f} MB")
    print(f"memory: VmRSS {rss:.0f} MB, VmHWM {hwm:.0f} MB; writer processes' peak {files.writer_peak_mb:.0f} MB")
    return {
        "stats_s": round(stats_s, 3),
        "stats_cold_s": round(stats_cold_s, 3),
        "stats_hit_s": round(stats_hit_s, 4),
        "stats_after_member_write_s": round(stats_member_s, 3),
        "segment_ms": round(segment_ms, 1),
        "segment_count_ms": round(count_ms, 1),
        "export_s": round(export_s, 1),
        "rss_mb": round(hwm, 1),
        "writer_rss_mb": round(files.writer_peak_mb, 1),
        "export_cpu_s": round(sum(export_cpu), 1),
        "export_cpu_thread_s": round(export_cpu[0], 1),  # the bot process (SQL, conversion, CSV zip)
        "export_cpu_writer_s": round(export_cpu[1], 1),  # the writer processes (XLSX, CSV zip)
        "export_others_cores": round(others_cores, 2),  # cores other processes used during the export
        "export_load": load,
        "members": members,
        "writers": writers,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    members = 5_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.monotonic()
        # Generated in a child process: the memory figure is the bot's work, not the generator's.
        subprocess.run(
            [sys.executable, str(Path(__file__).with_name("_dataset.py")), str(path), "--members", str(members)],
            check=True,
        )
        print(f"dataset generated in {time.monotonic() - started:.1f}s")
        figures = asyncio.run(measure(path, members))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
