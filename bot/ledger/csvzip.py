"""The export's CSV zip, in a process of its own (a third process beside the bot and the workbook).

The export (bot/ledger/export.py) pickles each batch's columns once and sends the same frames here
and to the workbook process (bot/ledger/workbook.py). This child turns the stored instants into
local date-times, writes each sheet as one UTF-8 CSV file (BOM, header line) into a zip (deflate
level 1) and returns the zip on stdout. Run as ``python -m bot.ledger.csvzip``.
"""

from __future__ import annotations

import codecs
import gc
import io
import pickle
import sys
import zipfile
from typing import BinaryIO
from zoneinfo import ZoneInfo


def _child(source: BinaryIO, out: BinaryIO) -> None:
    """Read the sheets' frames from `source`, write the zip of CSV files to `out`."""
    from bot.ledger.export import csv_text, csv_times_column

    zone_key, sheets = pickle.load(source)  # noqa: S301 - frames from our own parent
    zone = ZoneInfo(zone_key)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, headers, times in sheets:
            with archive.open(name, "w") as raw:
                raw.write(codecs.BOM_UTF8)
                raw.write(csv_text([[h] for h in headers]).encode())
                while (columns := pickle.load(source)) is not None:  # noqa: S301 - our own parent
                    for i in times:
                        columns[i] = csv_times_column(columns[i], zone)
                    raw.write(csv_text(columns).encode())
    out.write(zipped.getvalue())
    out.flush()


if __name__ == "__main__":
    gc.disable()  # a short-lived process: no cycles worth collecting, fewer pauses
    _child(sys.stdin.buffer, sys.stdout.buffer)
