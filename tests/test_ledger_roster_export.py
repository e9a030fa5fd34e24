"""The activity roster export (issue #18): the file the person at the door works from.

序号 as numbers, statuses in words, organisation and phone (phone as text, no apostrophe), checked
in yes/no with the time as a real date-time in the configured zone, empty cells empty (no `'`).
Opened with openpyxl (XLSX) and the csv module (CSV), as downloaded from the sandbox chat.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import load_workbook

from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.activities_helpers import member_user, publish
from tests.conftest import OWNER_ID

HEADERS = ["No.", "Name", "Organisation", "Phone", "Status", "Checked in?", "Checked in", "Signed up", "Telegram ID"]


async def _roster(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> tuple[bytes, bytes, int, int]:
    assert bot.db is not None
    alice = await member_user(tg, bot.db, "Alice")
    bob = await member_user(tg, bot.db, "=Bob")
    async with bot.db.transaction() as tx:
        await tx.execute(
            "UPDATE members SET organisation = '浦东新区科技公司', phone = '+8613900000001' WHERE user_id = ?",
            (alice.id,),
        )
    await publish(bot, clock.now())
    for user in (alice, bob):
        announce = await user.next_message()
        await (await user.press(announce, "Sign up")).answer()
        await user.wait_for(lambda m, a=announce: m.message_id == a.message_id and m.edited)
    async with bot.db.transaction() as tx:  # Alice is let in at the door (stored in UTC)
        await tx.execute(
            "UPDATE activity_signups SET checked_in_at = '2026-11-25T01:30:00.000000Z' WHERE member_id ="
            " (SELECT id FROM members WHERE user_id = ?)",
            (alice.id,),
        )
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/manage")
    await owner.press(await owner.next_message(), "Reading club")
    roster = await owner.next_message()
    files: dict[str, bytes] = {}
    for kind in ("XLSX", "CSV"):
        await (await owner.press(roster, kind)).answer()
        doc = await owner.wait_for(
            lambda m, k=kind: m.document is not None and m.document.get("file_name", "").endswith(k.lower())
        )
        files[kind] = await owner.download(doc)
    return files["XLSX"], files["CSV"], alice.id, bob.id


async def test_roster_workbook_is_ready_for_the_door(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    xlsx, _csv, alice, bob = await _roster(tg, bot, clock)
    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == HEADERS
    assert all(c.font.b for c in sheet[1]) and sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
    first, second = sheet[2], sheet[3]
    assert first[0].value == 1 and first[0].data_type == "n" and second[0].value == 2  # 序号: numbers
    assert first[1].value == "Alice" and first[2].value == "浦东新区科技公司"
    assert first[3].value == "+8613900000001" and first[3].data_type == "s"  # text, no apostrophe
    assert first[4].value == "Signed up" and first[5].value == "Yes"
    assert first[6].value == datetime(2026, 11, 25, 9, 30) and first[6].is_date  # Asia/Shanghai
    assert first[7].is_date and "yy" in first[7].number_format
    assert first[8].value == alice and first[8].data_type == "n"
    assert second[1].value == "'=Bob"  # a member's text is never a formula
    assert second[2].value is None and second[3].value is None  # empty, not "'"
    assert second[5].value == "No" and second[6].value is None and second[8].value == bob
    assert not any(c.value == "'" for row in sheet.iter_rows() for c in row)


async def test_roster_csv_has_the_same_columns(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    _xlsx, data, alice, _bob = await _roster(tg, bot, clock)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    assert rows[1] == ["1", "Alice", "浦东新区科技公司", "+8613900000001", "Signed up", "Yes", "2026-11-25 09:30",
                       rows[1][7], str(alice)]
    assert rows[2][:7] == ["2", "'=Bob", "", "", "Signed up", "No", ""]  # empty cells stay empty
