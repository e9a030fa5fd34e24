"""/export: the scoped ledger as an XLSX workbook and a zip of CSV files."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

from openpyxl import load_workbook

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from tests.ledger_helpers import GROUP_COORDINATOR, HEAD_COORDINATOR, seed, seed_activity


async def _export(tg: FakeTelegram, user_id: int) -> tuple[bytes, bytes, list[SandboxMessage]]:
    user = tg.create_user("Coordinator", user_id=user_id, language_code="en")
    await user.send("/export")
    await user.wait_for(lambda m: "Export finished" in (m.text or ""), timeout=20)
    docs = [m for m in user.messages if m.document]
    names = [str(d.document["file_name"]) for d in docs if d.document]
    assert names[0].endswith(".xlsx") and names[1].endswith("-csv.zip")
    return await user.download(docs[0]), await user.download(docs[1]), user.messages


async def test_head_export_holds_every_member_and_group(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    xlsx, _zip, messages = await _export(tg, HEAD_COORDINATOR)
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    assert book.sheetnames[:3] == ["Members", "Groups", "Memberships"]
    members = list(book["Members"].iter_rows(values_only=True))
    assert members[0][:3] == ("ID", "Name", "Category")
    assert [row[0] for row in members[1:]] == [1, 2, 3, 4, 5, 6, 7]
    groups = list(book["Groups"].iter_rows(values_only=True))
    assert [(row[0], row[4]) for row in groups[1:]] == [(1, 0), (2, 2), (3, 1), (4, 3), (5, 0)]
    assert "Export finished: 20 rows." in (messages[0].text or "")  # 7 members + 5 groups + 8 memberships


async def test_group_coordinator_export_is_limited_to_the_subtree(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    xlsx, csv_zip, _ = await _export(tg, GROUP_COORDINATOR)
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    members = list(book["Members"].iter_rows(values_only=True))
    assert sorted(row[0] for row in members[1:]) == [1, 2, 4, 7]
    with zipfile.ZipFile(io.BytesIO(csv_zip)) as archive:
        assert {"groups.csv", "members.csv", "memberships.csv", "feedback.csv"} <= set(archive.namelist())
        rows = list(csv.reader(io.StringIO(archive.read("groups.csv").decode("utf-8-sig"))))
    assert [r[2] for r in rows[1:]] == ["企业管理技术人员联谊会", "陆家嘴金融城新联会"]


async def test_export_neutralises_formulas_and_shows_local_times(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    xlsx, _zip, _ = await _export(tg, HEAD_COORDINATOR)
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    first = next(iter(book["Members"].iter_rows(min_row=2, values_only=True)))
    assert first[6] == "'=13900000001"  # a phone typed as a formula stays text
    assert first[7] == datetime(2026, 11, 5, 10, 0)  # stored in UTC, a date cell in Asia/Shanghai


async def test_workbook_is_ready_to_use(tg: FakeTelegram, bot: BotRuntime) -> None:
    """Bold frozen header, filter, fitted widths, date cells, labels, yes/no, phones as text, no paths."""
    assert bot.db is not None
    await seed(bot.db)
    await seed_activity(bot.db)
    async with bot.db.transaction() as tx:
        await tx.execute("UPDATE members SET phone = '+8613900000002' WHERE id = 2")
    xlsx, csv_zip, _ = await _export(tg, HEAD_COORDINATOR)
    book = load_workbook(io.BytesIO(xlsx))
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title
        assert all(cell.font.b for cell in sheet[1]), sheet.title
    members = book["Members"]
    assert members.column_dimensions["B"].width and members.column_dimensions["B"].width > 2
    phone = members["G3"]
    assert phone.value == "+8613900000002" and phone.data_type == "s"
    registered = members["H2"]
    assert registered.is_date and "yy" in registered.number_format
    assert members["C2"].value == "Managers and technical staff of private/foreign firms"
    groups = [list(r) for r in book["Groups"].iter_rows(values_only=True)]
    assert not any(isinstance(v, str) and v.startswith("/") for row in groups for v in row)
    feedback = list(book["Feedback"].iter_rows(min_row=2, values_only=True))
    assert {row[3] for row in feedback} == {"Yes", "No"}
    signups = list(book["Sign-ups"].iter_rows(min_row=2, values_only=True))
    assert all(row[6] is None or isinstance(row[6], datetime) for row in signups)
    assert not {row[4] for row in signups} & {"confirmed", "waiting", "cancelled"}  # labels, not keys
    with zipfile.ZipFile(io.BytesIO(csv_zip)) as archive:
        rows = list(csv.reader(io.StringIO(archive.read("members.csv").decode("utf-8-sig"))))
        roster = list(csv.reader(io.StringIO(archive.read("signups.csv").decode("utf-8-sig"))))
    assert rows[2][6] == "+8613900000002" and rows[1][6] == "'=13900000001"
    assert rows[1][7] == "2026-11-05 10:00:00"  # local time to the second
    assert not any(cell == "'" for row in roster for cell in row)  # an empty cell stays empty


async def test_export_is_audited_and_refused_to_members(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    member = tg.create_user("张伟", user_id=101)
    await member.send("/export")
    await member.next_message()
    assert not [m for m in member.messages if m.document]
    await _export(tg, HEAD_COORDINATOR)
    row = await bot.db.fetchone("SELECT actor_user_id, action FROM audit_log WHERE action = 'ledger.export'")
    assert row is not None and row["actor_user_id"] == HEAD_COORDINATOR
