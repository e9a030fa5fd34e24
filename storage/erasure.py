"""SQL of erasure (/forget): remove every link from stored rows to one member.

After `erase_member` no table and no column holds the member's Telegram id, name, phone or member
id: the member's row is replaced by an anonymous row with a NEW id (category, registration date and
memberships stay, so counts stay right) and every row that pointed at the old id points at the new
one; rows that only served the member (conversation state, outbox messages not yet sent, views of
notices, pending reminders) are removed, and the texts of sent messages are dropped. What remains is
an `erasures` row: a slow salted hash of the Telegram id, used only by a restore to erase the
member again from an older backup (`replay`).

The outbox part lives here rather than in storage/outbox.py: erasure is one transaction over every
feature's tables, and it is the only writer that edits outbox rows of other features.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from storage.db import Database, Tx
from storage.timefmt import to_db

ITERATIONS = 60_000


def digest(user_id: int, salt: str) -> str:
    """The erasure record's hash of a Telegram id (slow: enumerating ids is impractical)."""
    return hashlib.pbkdf2_hmac("sha256", str(user_id).encode(), bytes.fromhex(salt), ITERATIONS).hex()


async def _salt(tx: Tx) -> str:
    """One salt for the installation (so a restore hashes each member once, not once per erasure)."""
    value = await tx.fetchval("SELECT salt FROM erasures ORDER BY id LIMIT 1")
    return str(value) if value is not None else secrets.token_hex(16)


# Columns holding the Telegram id of someone who ACTED (coordinator, author, assigner): the act
# stays, the actor becomes nobody (0 where the column may not be NULL).
_ACTOR_COLUMNS = (
    ("member_groups", "decided_by", "NULL"),
    ("coordinators", "appointed_by", "0"),
    ("invites", "created_by", "0"),
    ("notices", "author_user_id", "0"),
    ("activity_series", "created_by", "0"),
    ("activities", "created_by", "0"),
    ("feedback_items", "assignee_user_id", "NULL"),
    ("feedback_items", "answered_by", "NULL"),
    ("feedback_notes", "author_user_id", "0"),
    ("feedback_digests", "sent_by", "0"),
    ("surveys", "created_by", "0"),
    ("audit_log", "actor_user_id", "NULL"),
)

# Columns holding a member id: they move to the anonymous row (aggregates stay right).
_MEMBER_COLUMNS = (
    ("member_groups", "member_id"),
    ("activity_signups", "member_id"),
    ("activity_survey", "member_id"),
    ("notice_acks", "member_id"),
    ("survey_targets", "member_id"),
    ("survey_responses", "member_id"),
    ("outbox", "member_id"),
)


async def erase_member(tx: Tx, member_id: int, user_id: int | None, now: datetime) -> int:
    """Erase every link to the member (inside the caller's transaction); returns the anonymous row's id."""
    stamp = to_db(now)
    row = await tx.fetchone("SELECT category, registered_at FROM members WHERE id = ?", (member_id,))
    if row is None:
        return 0
    anonymous = await tx.insert(
        "INSERT INTO members (status, category, registered_at, updated_at, erased_at) VALUES ('erased', ?, ?, ?, ?)",
        (row["category"], str(row["registered_at"])[:10] + "T00:00:00.000000Z", stamp, stamp),
    )
    # rows that only served the member
    await tx.execute("DELETE FROM member_expertise WHERE member_id = ?", (member_id,))
    await tx.execute("DELETE FROM activity_due WHERE member_id = ?", (member_id,))
    await tx.execute("DELETE FROM feedback_authors WHERE member_id = ?", (member_id,))
    await tx.execute("UPDATE feedback_items SET author_member_id = NULL WHERE author_member_id = ?", (member_id,))
    await tx.execute(
        "UPDATE member_groups SET reason = NULL, decided_by = NULL, decided_at = NULL WHERE member_id = ?",
        (member_id,),
    )
    # the outbox: messages not yet sent are dropped; sent ones keep their status (delivery counts)
    # but lose their text and their chat (a negative row id cannot be a private chat)
    outbox_match = "(member_id = ? OR chat_id = ?)"
    ids = (member_id, user_id if user_id is not None else 0)
    await tx.execute(
        f"DELETE FROM outbox WHERE {outbox_match} AND status IN ('pending', 'sending')",  # noqa: S608
        ids,
    )
    await tx.execute(
        "UPDATE outbox SET chat_id = 0 - id, text = '', reply_markup = NULL, attachment = NULL, error = NULL,"  # noqa: S608
        f" message_id = NULL WHERE {outbox_match}",
        ids,
    )
    for table, column in _MEMBER_COLUMNS:
        await tx.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (anonymous, member_id))  # noqa: S608
    # the audit log keeps what happened, not to whom
    await tx.execute(
        "UPDATE audit_log SET target_id = NULL, details = NULL WHERE target_type = 'member' AND target_id = ?",
        (str(member_id),),
    )
    if user_id is not None:
        await _erase_user(tx, user_id)
        salt = await _salt(tx)
        await tx.execute(
            "INSERT INTO erasures (erased_at, salt, digest) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING",
            (stamp, salt, digest(user_id, salt)),
        )
    else:
        await tx.execute(
            "INSERT INTO erasures (erased_at, salt, digest) VALUES (?, ?, ?)",
            (stamp, "", secrets.token_hex(32)),
        )
    await tx.execute("DELETE FROM members WHERE id = ?", (member_id,))
    return anonymous


async def _erase_user(tx: Tx, user_id: int) -> None:
    """Every row and column keyed by or mentioning the Telegram account."""
    text = str(user_id)
    await tx.execute("DELETE FROM bot_users WHERE user_id = ?", (user_id,))
    await tx.execute("DELETE FROM ptb_user_data WHERE user_id = ?", (user_id,))
    await tx.execute("DELETE FROM ptb_chat_data WHERE chat_id = ?", (user_id,))
    # conversation keys are JSON lists of chat (and user) ids, e.g. "[123]" or "[123, 123]"
    await tx.execute(
        "DELETE FROM ptb_conversations WHERE conv_key = ? OR conv_key LIKE ? OR conv_key LIKE ?",
        (f"[{text}]", f"[{text},%", f"%, {text}]"),
    )
    # recorded webhook updates (several processes): what the user sent; the one being handled goes
    # with the daily purge
    await tx.execute("DELETE FROM inbound_updates WHERE chat_key = ? AND state IN ('done', 'abandoned')",
                     (user_id,))
    await tx.execute("DELETE FROM coordinators WHERE user_id = ?", (user_id,))
    await tx.execute("DELETE FROM notice_views WHERE user_id = ? OR chat_id = ?", (user_id, user_id))
    await tx.execute("UPDATE feedback_authors SET user_id = 0 WHERE user_id = ?", (user_id,))
    for table, column, nobody in _ACTOR_COLUMNS:
        await tx.execute(f"UPDATE {table} SET {column} = {nobody} WHERE {column} = ?", (user_id,))  # noqa: S608
    await tx.execute(
        "UPDATE audit_log SET target_id = NULL, details = NULL WHERE target_type = 'user' AND target_id = ?", (text,)
    )
    # details naming the account anywhere (e.g. {"assignee": 123})
    await tx.execute(
        "UPDATE audit_log SET details = NULL WHERE details LIKE ?", (f"%{text}%",)
    )


async def records(db: Database) -> list[tuple[str, str, str]]:
    """(erased_at, salt, digest) of every erasure the database holds (none before the table exists)."""
    if "erasures" not in await db.tables():
        return []
    rows = await db.fetchall("SELECT erased_at, salt, digest FROM erasures ORDER BY id")
    return [(str(r["erased_at"]), str(r["salt"]), str(r["digest"])) for r in rows]


async def replay(db: Database, erased: list[tuple[str, str, str]], now: datetime) -> int:
    """Erase again, in a restored database, the members named by erasure records of the database the
    backup replaced (erasures made since the backup); returns how many were erased again."""
    wanted = {(salt, dig) for _at, salt, dig in erased if salt}
    salts = {salt for salt, _dig in wanted}
    found: list[tuple[int, int]] = []
    for row in await db.fetchall("SELECT id, user_id FROM members WHERE user_id IS NOT NULL"):
        uid = int(row["user_id"])
        if any((salt, digest(uid, salt)) in wanted for salt in salts):
            found.append((int(row["id"]), uid))
    for member_id, uid in found:
        async with db.transaction() as tx:
            await erase_member(tx, member_id, uid, now)
    return len(found)
