"""The export's XLSX writer, in a process of its own, and the parent's side of the writer processes.

The export (bot/ledger/export.py) pickles each sheet's cells a batch at a time, column by column
(stored instants as stored), once, and sends the same frames to two children through their stdin
(a bounded queue each, so memory stays flat): this module's child turns stored instants into local
date-times, builds the rows and feeds rustpy-xlsxwriter (constant memory: bold frozen header,
autofilter, fitted widths, real date cells); bot/ledger/csvzip.py writes the CSV zip. Each returns
its file on stdout. Run as ``python -m bot.ledger.workbook`` from the directory holding ``bot``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from itertools import chain, repeat
from pathlib import Path
from typing import IO, Any, BinaryIO
from zoneinfo import ZoneInfo

DATE_FORMAT = "yyyy-mm-dd hh:mm"
_ROOT = Path(__file__).resolve().parents[2]  # the directory holding the `bot` package
_END = None  # the frame that ends a sheet
SheetSpec = tuple[str, list[str], tuple[int, ...]]  # (sheet name, headers, columns holding stored instants)


def write(entries: Sequence[tuple[str, Any]], out: BinaryIO | str) -> None:
    """(sheet name, row dicts) pairs as one workbook: bold frozen header, filter, fitted widths, dates."""
    import rustpy_xlsxwriter

    rustpy_xlsxwriter.write_worksheets(
        list(entries), out, freeze_panes={"general": {"row": 1, "col": 0}}, autofit=True, bold_headers=True,
        autofilter={name: True for name, _rows in entries}, datetime_format=DATE_FORMAT,
    )


class ChildProcess:
    """The parent's side of a writer process (``python -m <module>``): start it, send it pickle
    frames through a bounded queue (a feeder thread writes them to its stdin, so the producer never
    waits on the pipe itself), collect the file it writes on stdout. A dead child is an error."""

    what = "writer"  # named in errors
    queued = 4  # frames waiting for the child at most (each a batch: a few hundred KB)

    def __init__(self, module: str, first: Any) -> None:
        self._errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in result()/close()
        self._child = subprocess.Popen(  # noqa: S603 - our own interpreter and module (the two classes below)
            [sys.executable, "-m", module], cwd=_ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._errors,
        )
        self._frames: queue.Queue[bytes | None] = queue.Queue(maxsize=self.queued)
        self._failed: BaseException | None = None
        self._finished = False
        self.peak_mb = 0.0  # the child's peak resident memory, known once it has finished
        self._feeder = threading.Thread(target=self._feed, name=f"{module}-feeder", daemon=True)
        self._feeder.start()
        self.put(frame(first))

    def _feed(self) -> None:
        """Write queued frames to the child (pipe writes release the GIL); stop at None."""
        stdin = self._child.stdin
        assert stdin is not None
        while (item := self._frames.get()) is not None:
            if self._failed is None:
                try:
                    stdin.write(item)
                except OSError as exc:  # the child died: keep draining so the producer never blocks
                    self._failed = exc
        try:
            stdin.close()
        except OSError as exc:
            self._failed = self._failed or exc

    def put(self, data: bytes) -> None:
        """One pickled frame (`frame`): the same bytes may go to several children."""
        if self._failed is not None:
            raise RuntimeError(f"{self.what} failed: {self._stderr()}") from self._failed
        self._frames.put(data)

    def send(self, columns: list[Any]) -> None:
        """One batch of a sheet: its columns of cells (stored instants as stored)."""
        self.put(frame(columns))

    def end_sheet(self) -> None:
        self.put(END_FRAME)

    def finish(self) -> None:
        """No more frames: the child's stdin is closed once the queued frames are written."""
        if not self._finished:
            self._finished = True
            self._frames.put(None)

    def result(self) -> bytes:
        """The finished file (waits for the child)."""
        self.finish()
        self._feeder.join()
        assert self._child.stdout is not None
        with self._child.stdout as stdout:
            data = stdout.read()
        _pid, status, usage = os.wait4(self._child.pid, 0)  # Popen.wait() without its resource usage
        self._child.returncode = code = os.waitstatus_to_exitcode(status)
        self.peak_mb = usage.ru_maxrss / 1024
        try:
            if code != 0 or self._failed is not None:
                raise RuntimeError(f"{self.what} exited with {code}: {self._stderr()}")
        finally:
            self._errors.close()
        return data

    def close(self) -> None:
        """After a failure on our side: stop the child (it is ours) and the feeder."""
        if self._child.poll() is None:
            self._child.kill()
        self._failed = self._failed or RuntimeError("export abandoned")
        with contextlib.suppress(queue.Full):
            self._frames.put_nowait(None)
        self._feeder.join()
        if self._child.stdout is not None:
            self._child.stdout.close()
        self._child.wait()
        self._errors.close()

    def _stderr(self) -> str:
        self._errors.seek(0)
        return self._errors.read()[-2000:].decode("utf-8", "replace")


def frame(item: Any) -> bytes:
    """One message to a writer process."""
    return pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)


END_FRAME = frame(_END)


class WorkbookProcess(ChildProcess):
    """The XLSX writer process: sheets as (name, headers, columns holding stored instants)."""

    what = "workbook writer"

    def __init__(self, zone: ZoneInfo, sheets: Sequence[SheetSpec]) -> None:
        super().__init__("bot.ledger.workbook", (zone.key, list(sheets)))


class CsvZipProcess(ChildProcess):
    """The CSV zip writer process (bot/ledger/csvzip.py): sheets as (file name, headers, columns
    holding stored instants); fed the very frames the workbook process gets."""

    what = "CSV writer"

    def __init__(self, zone: ZoneInfo, sheets: Sequence[SheetSpec]) -> None:
        super().__init__("bot.ledger.csvzip", (zone.key, list(sheets)))


def _child(source: BinaryIO, out: BinaryIO) -> None:
    """The child's side: read the sheets' frames from `source`, write the workbook to `out`."""
    import io

    from bot.ledger.export import times_column

    zone_key, sheets = pickle.load(source)  # noqa: S301 - frames from our own parent
    zone = ZoneInfo(zone_key)

    def rows(headers: list[str], times: tuple[int, ...]) -> Iterator[Iterator[dict[str, Any]]]:
        count = 0
        while (columns := pickle.load(source)) is not _END:  # noqa: S301 - our own parent
            for i in times:
                columns[i] = times_column(columns[i], zone)
            count += len(columns[0]) if columns else 0
            yield map(dict, map(zip, repeat(headers), zip(*columns, strict=True)))
        if count == 0:
            yield iter([dict.fromkeys(headers)])  # the header row of an empty sheet

    buffer = io.BytesIO()
    write([(name, chain.from_iterable(rows(headers, times))) for name, headers, times in sheets], buffer)
    out.write(buffer.getvalue())
    out.flush()


if __name__ == "__main__":
    gc.disable()  # a short-lived process: no cycles worth collecting, fewer pauses
    _child(sys.stdin.buffer, sys.stdout.buffer)
