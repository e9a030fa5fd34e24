"""The ledger (台账): statistics, charts, the period summary, exports, the audit log and backups.

    models.py    rows read by storage/ledger.py and the figures built on them; label kinds
    periods.py   periods in the configured zone (typed, or carried in button data)
    service.py   LedgerService: scoped figures, documents, audited reads, the audit log
    reports.py   the charts and the summary lines (re-exports the export's names)
    export.py    the XLSX/CSV export: column-wise conversion, the CSV zip (worker thread)
    workbook.py  the export's XLSX writer in a process of its own (rustpy-xlsxwriter)
    summary.py   the work summary (工作总结) as an A4 PDF; summary_docx.py the same as a .docx
    charts.py    matplotlib with a CJK font (imported only when a chart is drawn)
    backup.py    BackupService (the scheduled online backup) and the check/restore tool
    callbacks.py the ledger's buttons

Only the pure modules are re-exported here: storage/ledger.py imports the models, and the
service imports storage, so importing the service from this package would make a loop.
"""

from bot.ledger.models import (
    ActivityFigures,
    AuditPage,
    ExportFiles,
    MemberRecord,
    NoticeFigures,
    Stats,
    median_hours,
    shown,
)
from bot.ledger.periods import Period, parse_period, period_from_code, this_month, this_year

__all__ = [
    "ActivityFigures",
    "AuditPage",
    "ExportFiles",
    "MemberRecord",
    "NoticeFigures",
    "Period",
    "Stats",
    "median_hours",
    "parse_period",
    "period_from_code",
    "shown",
    "this_month",
    "this_year",
]
