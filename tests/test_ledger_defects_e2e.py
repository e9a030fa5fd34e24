"""Defects of issue #15 in the ledger, end to end: raw keys in documents (#4), the export's scope (#3)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook

from bot import labels
from bot.config import Language
from bot.i18n import Catalog
from bot.ledger.models import LABELLED
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from storage.timefmt import to_db
from tests.conftest import OWNER_ID
from tests.ledger_helpers import (
    GROUP_COORDINATOR,
    HEAD_COORDINATOR,
    NOV,
    pdf_text,
    seed,
    seed_activity,
    seed_notices,
)

# Every stored value of the kinds the ledger shows (the migrations' CHECK constraints).
RAW_KEYS = {
    "enterprise", "intermediary", "freelancer", "new_media", "other",  # categories
    "active", "pending", "left", "erased", "rejected",  # member and membership statuses
    "head", "sub", "local", "club",  # group kinds
    "published", "closed", "cancelled", "confirmed", "waiting", "offered", "not_going",  # activities, sign-ups
    "suggestion", "need", "complaint", "new", "assigned", "in_progress", "answered",  # feedback
    "open", "scheduled", "recurring", "sent", "missed", "done",  # questionnaires, notices
}


def catalogue_words(language: Language) -> set[str]:
    """Words of the catalogue's own texts that happen to equal a stored value ("5 active, 7 in total")."""
    texts = Catalog.load().messages[language].values()
    return {w for text in texts for w in _words(re.sub(r"\{[^}]*\}", "", text))} & RAW_KEYS


def _words(text: str) -> set[str]:
    return set(re.findall(r"\b[a-z_]+\b", text))


async def _seeded(bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    await seed_activity(bot.db)
    await seed_notices(bot.db)


async def _export(user: SandboxUser) -> tuple[bytes, bytes]:
    await user.send("/export")
    await user.wait_for(lambda _m: sum(1 for x in user.messages if x.document) >= 2, timeout=30)
    docs = [m for m in user.messages if m.document]
    return await user.download(docs[0]), await user.download(docs[1])


def same_as_label(language: Language) -> set[str]:
    """Stored values whose own label reads the same in `language` (English "active"): not detectable."""
    texts = Catalog.load().messages[language]
    return {v for kind in LABELLED for v in labels.KINDS.get(kind, ()) if texts.get(labels.key(kind, v)) == v}


def _raw_words(text: str, allowed: set[str]) -> set[str]:
    return (_words(text) & RAW_KEYS) - allowed


@pytest.mark.parametrize("language", ["zh-hans", "en"])
async def test_documents_show_words_not_stored_keys(tg: FakeTelegram, bot: BotRuntime, language: str) -> None:
    await _seeded(bot)
    owner = tg.create_user("Owner", user_id=OWNER_ID, language_code=language)
    xlsx, csv_zip = await _export(owner)

    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    cells: list[tuple[str, Any]] = [
        (sheet.title, value) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for value in row
    ]
    assert len(book.worksheets) == 9
    raw = RAW_KEYS - same_as_label("en" if language == "en" else "zh-Hans")
    assert {"enterprise", "new_media", "suggestion", "in_progress", "confirmed"} <= raw
    raw_cells = [(title, value) for title, value in cells if isinstance(value, str) and value in raw]
    assert raw_cells == []
    with zipfile.ZipFile(io.BytesIO(csv_zip)) as archive:
        for name in archive.namelist():
            rows = csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig")))
            assert [(name, v) for row in rows for v in row if v in raw] == []

    await owner.send("/summary 2026-01-01 2026-12-31")
    document = await owner.wait_for(lambda m: m.document is not None and "pdf" in str(m.document), timeout=30)
    lines = pdf_text(await owner.download(document))
    text = "\n".join(lines)
    assert "2026-01-01" in text  # the text was read back, labels included:
    assert ("民营企业和外资企业管理技术人员" if language == "zh-hans" else "private/foreign firms") in text
    allowed = catalogue_words("en") if language == "en" else set()
    assert "enterprise" not in allowed and "new_media" not in allowed
    assert _raw_words(text, allowed) == set()

    await owner.send("/stats 2026-01-01 2026-12-31")
    stats = await owner.wait_for(lambda m: "2026-01-01 – 2026-12-31" in (m.text or ""))
    assert _raw_words(stats.text or "", allowed) == set()


@pytest.mark.parametrize(("language", "user_id"), [("zh-hans", GROUP_COORDINATOR), ("en", OWNER_ID)])
async def test_the_words_are_the_catalogue_labels_of_the_readers_language(
    tg: FakeTelegram, bot: BotRuntime, language: str, user_id: int
) -> None:
    await _seeded(bot)
    xlsx, _zip = await _export(tg.create_user("Reader", user_id=user_id, language_code=language))
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    values = {v for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row}
    texts = Catalog.load().messages["en" if language == "en" else "zh-Hans"]
    words = {
        texts[labels.key(kind, value)]
        for kind, value in (("category", "enterprise"), ("member_status", "active"), ("group_kind", "sub"),
                            ("signup_status", "confirmed"), ("feedback_kind", "suggestion"),
                            ("feedback_status", "answered"))
    }
    assert words <= values, words - values


async def test_export_signups_follow_the_roster_rule(tg: FakeTelegram, bot: BotRuntime) -> None:
    """Coordinator of branch A (group 2); an activity addressed to A and B (group 4) has sign-ups
    from both branches: A's coordinator may not open its roster, so B's member never appears in
    A's export, and the activity's counts are over A's members only."""
    assert bot.db is not None
    await seed(bot.db)
    now = to_db(NOV)
    starts, ends = to_db(NOV.replace(day=16)), to_db(NOV.replace(day=16, hour=4))
    async with bot.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO activities (id, title, starts_at, ends_at, signup_deadline, status, has_groups,"
            " created_by, created_at, updated_at) VALUES (6, '联合沙龙', ?, ?, ?, 'published', 1, 1, ?, ?)",
            (starts, ends, starts, now, now),
        )
        await tx.executemany("INSERT INTO activity_groups (activity_id, group_id) VALUES (6, ?)", [(2,), (4,)])
        await tx.executemany(
            "INSERT INTO activity_signups (activity_id, member_id, status, created_at, updated_at)"
            " VALUES (6, ?, 'confirmed', ?, ?)",
            [(1, now, now), (6, now, now)],  # 张伟 of branch A, Bob of branch B
        )
    coordinator = tg.create_user("组长", user_id=GROUP_COORDINATOR, language_code="en")
    xlsx, csv_zip = await _export(coordinator)
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    signups = list(book["Sign-ups"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2], r[3]) for r in signups] == [(6, 1, "张伟")]
    activities = list(book["Activities"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[7]) for r in activities] == [(6, 1)]  # confirmed sign-ups the coordinator may see
    with zipfile.ZipFile(io.BytesIO(csv_zip)) as archive:
        assert "Bob" not in archive.read("signups.csv").decode("utf-8-sig")

    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    xlsx, _zip = await _export(head)
    signups = list(load_workbook(io.BytesIO(xlsx), read_only=True)["Sign-ups"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[2]) for r in signups] == [(6, 1), (6, 6)]  # the head association sees both


def test_every_value_the_ledger_shows_has_a_label_in_both_languages() -> None:
    catalog = Catalog.load()
    for kind in LABELLED:
        for value in labels.KINDS[kind]:
            for language in ("zh-Hans", "en"):
                assert labels.key(kind, value) in catalog.messages[language], (language, kind, value)
    assert {v for kind in LABELLED for v in labels.KINDS[kind]} == RAW_KEYS
