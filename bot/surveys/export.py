"""Questionnaire results as a table (CSV / XLSX), in the reader's words (labels from the catalogue)."""

from __future__ import annotations

import csv
import io

from bot.i18n import Translator
from bot.labels import label
from bot.surveys.models import Results


def table(results: Results, tr: Translator) -> list[list[str]]:
    """Rows: question, answer/option, count, percent; then the response rate and the status."""

    def col(key: str) -> str:
        return str(tr(f"sv.col.{key}"))

    rows = [[col("question"), col("option"), col("count"), col("percent")]]
    for r in results.questions:
        if r.question.kind in ("single", "multi"):
            options = enumerate(r.question.options)
            rows += [[r.question.text, o, str(r.counts[i]), f"{r.percent(i)}%"] for i, o in options]
        elif r.question.kind == "rating":
            rows += [[r.question.text, str(n + 1), str(r.counts[n]), f"{r.percent(n)}%"] for n in range(5)]
            rows.append([r.question.text, col("average"), f"{r.average:.2f}" if r.average else "", ""])
        else:
            rows += [[r.question.text, t, "", ""] for t in r.texts]
    rows.append([col("response_rate"), f"{results.completed}/{results.invited}", "", f"{results.rate}%"])
    rows.append([col("status"), label(tr, "survey_status", results.survey.status), "", ""])
    return [[_safe(c) for c in row] for row in rows]


def csv_bytes(results: Results, tr: Translator) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table(results, tr))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(results: Results, tr: Translator) -> bytes:
    # Imported here: openpyxl (and the numpy it loads) cost ~0.3 s of every start-up.
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "results"
    for row in table(results, tr):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _safe(value: str) -> str:
    """Neutralise spreadsheet formulas in exported cells."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
