"""Issue 16 item 8: after /forget no table and no column holds the member's Telegram id, name,
phone or member id (outbox rows and an open conversation present); a restore of an older
backup erases them again."""

from __future__ import annotations

from typing import Any

import pytest

from bot.ledger import backup
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from storage.db import Database
from tests.feedback_helpers import add_coordinator, add_member, db_of, fast_typing, submit_feedback, tree
from tests.members_helpers import see

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]

NAME = "欧阳明远"
PHONE = "13912345678"
AT = "2026-11-01T00:00:00.000000Z"
LATER = "2099-01-01T00:00:00.000000Z"  # not yet due: still pending at the erasure


async def _every_value(db: Database) -> list[tuple[str, str, Any, Any]]:
    """(table, column, value, row) for every column of every row of every table."""
    found: list[tuple[str, str, Any, Any]] = []
    for table in await db.tables():  # sqlite_master / information_schema: every table of either backend
        columns = [name for name, _required in await db.columns(table)]  # PRAGMA table_info or its PG twin
        for row in await db.fetchall(f'SELECT * FROM "{table}"'):
            found += [(table, column, row[column], tuple(row)) for column in columns]
    return found


async def _seed_links(db: Database, uid: int, member_id: int, group: int) -> None:
    """Rows of other features that point at the member: outbox messages (pending and sent),
    a conversation of another flow, audit rows naming them, an acknowledgement and a view."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO outbox (kind, ref_id, chat_id, member_id, text, status, not_before, created_at)"
            " VALUES ('notice', 1, ?, ?, ?, 'pending', ?, ?), ('notice', 2, ?, ?, ?, 'sent', ?, ?)",
            (uid, member_id, f"亲爱的{NAME}", LATER, AT, uid, member_id, f"{NAME} {PHONE}", AT, AT),
        )
        await tx.execute(
            "INSERT INTO ptb_conversations (name, conv_key, state, updated_at) VALUES ('notice', ?, '1', ?)",
            (f"[{uid}]", AT),
        )
        await tx.execute(
            "INSERT INTO audit_log (at, actor_user_id, action, target_type, target_id, details)"
            " VALUES (?, 1, 'member.approve', 'member', ?, ?), (?, 1, 'coordinator.appoint', 'user', ?, ?)",
            (AT, str(member_id), f'{{"name": "{NAME}"}}', AT, str(uid), f'{{"group": {group}, "user": {uid}}}'),
        )
        # the account named only inside the details of an act on something else (a feedback item)
        await tx.execute(
            "INSERT INTO audit_log (at, actor_user_id, action, target_type, target_id, details)"
            " VALUES (?, 1, 'feedback.assign', 'feedback', '7', ?)",
            (AT, f'{{"assignee": {uid}}}'),
        )
        notice = await tx.insert(
            "INSERT INTO notices (author_user_id, author_lang, text, segment, status, created_at)"
            " VALUES (1, 'en', 'hello', '{}', 'sent', ?)",
            (AT,),
        )
        await tx.execute("INSERT INTO notice_acks (notice_id, member_id, at) VALUES (?, ?, ?)", (notice, member_id, AT))
        await tx.execute(
            "INSERT INTO notice_views (notice_id, chat_id, message_id, user_id, lang, opened_at)"
            " VALUES (?, ?, 5, ?, 'en', ?)",
            (notice, uid, uid, AT),
        )


def _leaks(values: list[tuple[str, str, Any, Any]], uid: int, member_id: int) -> list[str]:
    leaks = []
    for table, column, value, row in values:
        text = "" if value is None else str(value)
        if str(uid) in text or NAME in text or PHONE in text:
            leaks.append(f"{table}.{column} = {text[:60]!r}")
        if (column.endswith("member_id") or (column == "id" and table == "members")) and value == member_id:
            leaks.append(f"{table}.{column} = member {member_id}: {row}")
        if table == "audit_log" and column == "target_id" and text == str(member_id) and row[4] == "member":
            leaks.append(f"audit target member {member_id}")
    return leaks


async def test_forget_leaves_no_trace_in_any_table(tg: FakeTelegram, bot: BotRuntime) -> None:
    t = await tree(bot)
    db = db_of(bot)
    coord = tg.create_user("Coordinator", language_code="en")
    await add_coordinator(bot, coord, t.sub)
    user = tg.create_user("Ouyang", language_code="en")
    member_id = await add_member(bot, user, NAME, [t.local])
    await db.write(lambda c: c.execute("UPDATE members SET phone = ? WHERE id = ?", (PHONE, member_id)))
    await submit_feedback(user, "Suggestion", "A named suggestion")
    await submit_feedback(user, "Complaint", "An anonymous complaint", anonymous=True)
    await _seed_links(db, user.id, member_id, t.local)
    # an open conversation of this chat: the feedback flow, stopped half-way
    await user.send("/feedback")
    await (await user.press(await user.next_message(), "Complaint")).answer()
    assert await db.fetchval("SELECT COUNT(*) FROM ptb_conversations WHERE conv_key LIKE ?", (f"%{user.id}%",))
    assert _leaks(await _every_value(db), user.id, member_id)  # the scan sees the links

    await user.send("/forget")
    await user.press(await see(user, "Erase your personal data"), "Yes, erase")
    await see(user, "personal data is erased")

    assert _leaks(await _every_value(db), user.id, member_id) == []
    # the aggregates stay: an (anonymous) member, the two items, the acknowledgement, the sent message
    assert await db.fetchval("SELECT COUNT(*) FROM members WHERE status = 'erased'") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM member_groups WHERE group_id = ?", (t.local,)) == 1
    assert await db.fetchval("SELECT COUNT(*) FROM feedback_items") == 2
    assert await db.fetchval("SELECT COUNT(*) FROM notice_acks") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE kind = 'notice' AND status = 'sent'") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM erasures") == 1


async def test_a_restore_erases_again_who_was_erased_since_the_backup(
    tg: FakeTelegram, bot: BotRuntime, tmp_path: Any
) -> None:
    t = await tree(bot)
    db = db_of(bot)
    user = tg.create_user("Ouyang", language_code="en")
    member_id = await add_member(bot, user, NAME, [t.local])
    await add_member(bot, tg.create_user("Other", language_code="en"), "留下的人", [t.local])
    old = tmp_path / "old.db"
    await db.backup_to(old)  # the backup still holds the member
    await user.send("/forget")
    await user.press(await see(user, "Erase your personal data"), "Yes, erase")
    await see(user, "personal data is erased")
    live = tmp_path / "live.db"
    await db.backup_to(live)  # stands for the database the restore replaces (the bot stopped)

    assert backup.main(["restore", str(old), str(live)]) == 0

    restored = await Database.open(live)
    try:
        assert _leaks(await _every_value(restored), user.id, member_id) == []
        assert await restored.fetchval("SELECT COUNT(*) FROM members WHERE name = '留下的人'") == 1
        assert await restored.fetchval("SELECT COUNT(*) FROM members WHERE status = 'erased'") == 1
    finally:
        await restored.close()
