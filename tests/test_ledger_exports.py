"""/export: the scoped ledger as an XLSX workbook and a zip of CSV files."""

from __future__ import annotations

import csv
import io
import zipfile

from openpyxl import load_workbook

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from tests.ledger_helpers import GROUP_COORDINATOR, HEAD_COORDINATOR, seed


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
    assert [(row[0], row[5]) for row in groups[1:]] == [(1, 0), (2, 2), (3, 1), (4, 3), (5, 0)]
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
    assert first[7] == "2026-11-05 10:00"  # stored in UTC, shown in Asia/Shanghai


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
