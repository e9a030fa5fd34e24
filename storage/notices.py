"""SQL of notices, their acknowledgements and the group chats the bot posts into."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.notices.models import AckStats, NewNotice, NoticeRow, NoticeView, Pending, Unreached
from storage import scope
from storage.db import Database, SyncTx, Tx
from storage.timefmt import from_db, opt_from_db, to_db

_COLUMNS = (
    "id, parent_id, author_user_id, author_lang, text, attachment, segment, post_to_groups, paid, urgent,"
    " status, recurrence, next_due_at, until_at, nudge_after_h, nudge_due_at, created_at, sent_at,"
    " nudged_at"
)


def _row(r: Any) -> NoticeRow:
    return NoticeRow(
        id=int(r["id"]),
        parent_id=r["parent_id"],
        author_user_id=int(r["author_user_id"]),
        author_lang=str(r["author_lang"]),
        text=str(r["text"]),
        attachment=r["attachment"],
        segment=str(r["segment"]),
        post_to_groups=bool(r["post_to_groups"]),
        paid=bool(r["paid"]),
        urgent=bool(r["urgent"]),
        status=str(r["status"]),
        recurrence=r["recurrence"],
        next_due_at=opt_from_db(r["next_due_at"]),
        until_at=opt_from_db(r["until_at"]),
        nudge_after_h=r["nudge_after_h"],
        nudge_due_at=opt_from_db(r["nudge_due_at"]),
        created_at=from_db(r["created_at"]),
        sent_at=opt_from_db(r["sent_at"]),
        nudged_at=opt_from_db(r["nudged_at"]),
    )


def _tail(phone: object) -> str:
    """The last four digits of a phone number ('' without one)."""
    return "".join(c for c in str(phone or "") if c.isdigit())[-4:]


def _opt(moment: datetime | None) -> str | None:
    return None if moment is None else to_db(moment)


async def insert(tx: Tx, notice: NewNotice, now: datetime) -> int:
    return await tx.insert(
        "INSERT INTO notices (parent_id, author_user_id, author_lang, text, attachment, segment, post_to_groups,"
        " paid, urgent, status, recurrence, next_due_at, until_at, nudge_after_h, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            notice.parent_id, notice.author_user_id, notice.author_lang, notice.text, notice.attachment,
            notice.segment, int(notice.post_to_groups), int(notice.paid), int(notice.urgent), notice.status,
            notice.recurrence, _opt(notice.next_due_at), _opt(notice.until_at), notice.nudge_after_h, to_db(now),
        ),
    )


async def mark_sent(tx: Tx, notice_id: int, now: datetime, nudge_due_at: datetime | None) -> None:
    await tx.execute(
        "UPDATE notices SET status = 'sent', sent_at = ?, next_due_at = NULL, nudge_due_at = ? WHERE id = ?",
        (to_db(now), _opt(nudge_due_at), notice_id),
    )


async def due(tx: Tx, now: datetime) -> list[NoticeRow]:
    """Claim the scheduled and recurring notices due by `now` for the caller's transaction, which
    fires or reschedules each before it commits (locked meanwhile: another process skips them)."""
    rows = await tx.fetchall(
        f"SELECT {_COLUMNS} FROM notices WHERE status IN ('scheduled', 'recurring')"  # noqa: S608
        " AND next_due_at <= ? ORDER BY next_due_at, id" + tx.skip_locked(),
        (to_db(now),),
    )
    return [_row(r) for r in rows]


async def nudges_due(tx: Tx, now: datetime) -> list[NoticeRow]:
    rows = await tx.fetchall(
        f"SELECT {_COLUMNS} FROM notices WHERE status = 'sent' AND nudge_due_at <= ? ORDER BY id"  # noqa: S608
        + tx.skip_locked(),
        (to_db(now),),
    )
    return [_row(r) for r in rows]


async def set_status(tx: Tx, notice_id: int, status: str, expected: tuple[str, ...]) -> bool:
    marks = ", ".join("?" for _ in expected)
    changed = await tx.execute(
        f"UPDATE notices SET status = ? WHERE id = ? AND status IN ({marks})",  # noqa: S608
        (status, notice_id, *expected),
    )
    return changed == 1


async def reschedule(tx: Tx, notice_id: int, next_due_at: datetime | None) -> None:
    if next_due_at is None:
        await tx.execute("UPDATE notices SET status = 'done', next_due_at = NULL WHERE id = ?", (notice_id,))
    else:
        await tx.execute("UPDATE notices SET next_due_at = ? WHERE id = ?", (to_db(next_due_at), notice_id))


async def claim_nudge(tx: Tx, notice_id: int, now: datetime, not_since: datetime | None) -> bool:
    """Record a reminder at `now`; refused (False) when one was sent after `not_since` (a reminder by
    hand within the minimum interval, or a double tap). None: always (the automatic reminder)."""
    if not_since is None:
        changed = await tx.execute("UPDATE notices SET nudged_at = ? WHERE id = ?", (to_db(now), notice_id))
    else:
        changed = await tx.execute(
            "UPDATE notices SET nudged_at = ? WHERE id = ? AND (nudged_at IS NULL OR nudged_at <= ?)",
            (to_db(now), notice_id, to_db(not_since)),
        )
    return changed == 1


async def nudged_at(tx: Tx, notice_id: int) -> datetime | None:
    return opt_from_db(await tx.fetchval("SELECT nudged_at FROM notices WHERE id = ?", (notice_id,)))


async def clear_nudge(tx: Tx, notice_id: int) -> None:
    await tx.execute("UPDATE notices SET nudge_due_at = NULL WHERE id = ?", (notice_id,))


async def set_text(tx: Tx, notice_id: int, text: str) -> bool:
    changed = await tx.execute(
        "UPDATE notices SET text = ? WHERE id = ? AND status IN ('scheduled', 'recurring')", (text, notice_id)
    )
    return changed == 1


async def set_segment(tx: Tx, notice_id: int, segment: str) -> bool:
    """Re-target a notice that has not gone out yet (scheduled, or the rule of a recurring one)."""
    changed = await tx.execute(
        "UPDATE notices SET segment = ? WHERE id = ? AND status IN ('scheduled', 'recurring')", (segment, notice_id)
    )
    return changed == 1


async def set_schedule(
    tx: Tx, notice_id: int, next_due_at: datetime, recurrence: str | None, until_at: datetime | None
) -> bool:
    """Move a scheduled notice, or change a recurring one's rule; only while it is still pending."""
    if recurrence is None:
        changed = await tx.execute(
            "UPDATE notices SET next_due_at = ? WHERE id = ? AND status = 'scheduled'", (to_db(next_due_at), notice_id)
        )
    else:
        changed = await tx.execute(
            "UPDATE notices SET next_due_at = ?, recurrence = ?, until_at = ? WHERE id = ? AND status = 'recurring'",
            (to_db(next_due_at), recurrence, _opt(until_at), notice_id),
        )
    return changed == 1


async def not_acked_members(tx: Tx, notice_id: int) -> list[tuple[int, int]]:
    """(member_id, chat_id) of recipients who have not acknowledged."""
    rows = await tx.fetchall(
        "SELECT o.member_id, o.chat_id FROM outbox o WHERE o.kind = 'notice' AND o.ref_id = ?"
        " AND o.member_id IS NOT NULL AND o.status IN ('sent', 'pending', 'sending', 'unknown')"
        " AND NOT EXISTS (SELECT 1 FROM notice_acks a WHERE a.notice_id = o.ref_id AND a.member_id = o.member_id)"
        " ORDER BY o.id",
        (notice_id,),
    )
    return [(int(r["member_id"]), int(r["chat_id"])) for r in rows]


async def recipient_languages(tx: Tx, notice_id: int) -> dict[int, str | None]:
    """chat id -> chosen language (None: none chosen) of the notice's recipients who talked to the bot."""
    rows = await tx.fetchall(
        "SELECT user_id, COALESCE(language, tg_language) AS language"
        " FROM bot_users WHERE user_id IN (SELECT chat_id FROM outbox"
        " WHERE kind = 'notice' AND ref_id = ?)",
        (notice_id,),
    )
    return {int(r["user_id"]): r["language"] for r in rows}


async def drop_finished_nudges(tx: Tx, notice_id: int) -> None:
    """A new nudge round replaces the finished rows of the previous round."""
    await tx.execute(
        "DELETE FROM outbox WHERE kind = 'nudge' AND ref_id = ? AND status NOT IN ('pending', 'sending')",
        (notice_id,),
    )


async def ack(db: Database, notice_id: int, user_id: int, now: datetime) -> tuple[str, datetime | None]:
    """'ok', 'already' or 'not_recipient' (a forged or foreign notice id), and when the member
    acknowledged (the stored moment: a second tap keeps the first).

    One trip (`Database.write`): the acknowledgements of a storm after a broadcast are
    group-committed together instead of each taking the write lock for three round trips. A
    first press is one statement (PostgreSQL: one round trip to the server inside the shared
    write transaction); a repeated or forged one takes a second to tell which it is.
    """
    stamp = to_db(now)

    def work(conn: SyncTx) -> tuple[str, datetime | None]:
        stored = conn.fetchone(
            "INSERT INTO notice_acks (notice_id, member_id, at)"
            " SELECT ?, member_id, ? FROM outbox WHERE kind = 'notice' AND ref_id = ? AND chat_id = ?"
            " AND member_id IS NOT NULL"
            " ON CONFLICT (notice_id, member_id) DO NOTHING RETURNING member_id",
            (notice_id, stamp, notice_id, user_id),
        )
        if stored is not None:
            return "ok", now
        row = conn.fetchone(
            "SELECT a.at FROM outbox o LEFT JOIN notice_acks a ON a.notice_id = ? AND a.member_id = o.member_id"
            " WHERE o.kind = 'notice' AND o.ref_id = ? AND o.chat_id = ? AND o.member_id IS NOT NULL",
            (notice_id, notice_id, user_id),
        )
        if row is None:
            return "not_recipient", None
        at = row[0]
        return "already", None if at is None else from_db(str(at))

    return await db.write(work)


class NoticeRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, notice_id: int) -> NoticeRow | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM notices WHERE id = ?", (notice_id,))  # noqa: S608
        return None if row is None else _row(row)

    async def next_due(self) -> datetime | None:
        """The earliest moment something is due: a scheduled or recurring firing, or an automatic nudge."""
        fire = await self._db.fetchval(
            "SELECT MIN(next_due_at) FROM notices WHERE status IN ('scheduled', 'recurring')"
        )
        nudge = await self._db.fetchval("SELECT MIN(nudge_due_at) FROM notices WHERE status = 'sent'")
        moments = [from_db(str(v)) for v in (fire, nudge) if v is not None]
        return min(moments) if moments else None

    async def listing(self, author_user_id: int | None, limit: int = 15) -> list[NoticeRow]:
        """Scheduled and recurring first, then the latest sent ones (all authors when None)."""
        where = "" if author_user_id is None else " AND author_user_id = ?"
        params: tuple[Any, ...] = () if author_user_id is None else (author_user_id,)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM notices WHERE status IN ('scheduled', 'recurring', 'sent', 'missed'){where}"  # noqa: S608
            " ORDER BY CASE WHEN status IN ('scheduled', 'recurring') THEN 0 ELSE 1 END, id DESC LIMIT ?",
            (*params, limit),
        )
        return [_row(r) for r in rows]

    async def stats(self, notice_id: int) -> AckStats:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS total,"
            " SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS delivered,"
            " SUM(CASE WHEN status IN ('blocked', 'failed', 'skipped') THEN 1 ELSE 0 END) AS failed"
            " FROM outbox WHERE kind = 'notice' AND ref_id = ? AND member_id IS NOT NULL",
            (notice_id,),
        )
        acked = await self._db.fetchval("SELECT COUNT(*) FROM notice_acks WHERE notice_id = ?", (notice_id,))
        assert row is not None
        return AckStats(int(row["total"] or 0), int(row["delivered"] or 0), int(row["failed"] or 0), int(acked))

    async def pending(self, notice_id: int, limit: int, offset: int) -> tuple[list[Pending], int]:
        """Recipients who have not acknowledged, by group then name, one page; and the total."""
        base = (
            " FROM outbox o JOIN members m ON m.id = o.member_id"
            " WHERE o.kind = 'notice' AND o.ref_id = ? AND o.member_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM notice_acks a WHERE a.notice_id = o.ref_id AND a.member_id = o.member_id)"
        )
        total = await self._db.fetchval("SELECT COUNT(*)" + base, (notice_id,))
        rows = await self._db.fetchall(
            "SELECT m.id, m.user_id, COALESCE(m.name, '') AS name, COALESCE(m.phone, '') AS phone,"  # noqa: S608
            " COALESCE((SELECT g.name FROM member_groups mg JOIN groups g ON g.id = mg.group_id"
            "   WHERE mg.member_id = m.id AND mg.status = 'active' ORDER BY g.path DESC LIMIT 1), '') AS group_name"
            + base + " ORDER BY group_name, name, m.id LIMIT ? OFFSET ?",
            (notice_id, limit, offset),
        )
        return (
            [Pending(int(r["id"]), int(r["user_id"] or 0), str(r["name"]), str(r["group_name"]), _tail(r["phone"]))
             for r in rows],
            int(total),
        )

    async def unreached(
        self, notice_id: int, scope_paths: scope.Paths, limit: int, offset: int
    ) -> tuple[list[Unreached], int]:
        """Recipients the notice did not reach (blocked, never started, failed, skipped), members of
        `scope_paths` only (None: all), by group then name, one page; and the total."""
        inside, values = scope.member_in(scope_paths, "m.id")
        base = (
            " FROM outbox o JOIN members m ON m.id = o.member_id"
            " WHERE o.kind = 'notice' AND o.ref_id = ? AND o.status IN ('blocked', 'failed', 'skipped')"
            f" AND {inside}"
        )
        total = await self._db.fetchval("SELECT COUNT(*)" + base, (notice_id, *values))
        rows = await self._db.fetchall(
            "SELECT m.id, COALESCE(m.name, '') AS name, COALESCE(m.phone, '') AS phone, o.status,"  # noqa: S608
            " COALESCE(o.error, '') AS error,"
            " COALESCE((SELECT g.name FROM member_groups mg JOIN groups g ON g.id = mg.group_id"
            "   WHERE mg.member_id = m.id AND mg.status = 'active' ORDER BY g.path DESC LIMIT 1), '') AS group_name"
            + base + " ORDER BY group_name, name, m.id LIMIT ? OFFSET ?",
            (notice_id, *values, limit, offset),
        )
        found = []
        for r in rows:
            status = str(r["status"])
            if status == "blocked" and "can't initiate conversation" in str(r["error"]):
                status = "not_started"
            found.append(Unreached(int(r["id"]), str(r["name"]), str(r["group_name"]), _tail(r["phone"]), status))
        return found, int(total or 0)

    async def remember_view(
        self, notice_id: int, chat_id: int, message_id: int, user_id: int, lang: str, now: datetime
    ) -> None:
        """The status message a coordinator has open (one per notice and chat: the latest)."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO notice_views (notice_id, chat_id, message_id, user_id, lang, opened_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (notice_id, chat_id) DO UPDATE SET"
                " message_id = excluded.message_id, user_id = excluded.user_id, lang = excluded.lang,"
                " opened_at = excluded.opened_at",
                (notice_id, chat_id, message_id, user_id, lang, to_db(now)),
            )

    async def views(self, notice_id: int) -> list[NoticeView]:
        rows = await self._db.fetchall(
            "SELECT chat_id, message_id, user_id, lang FROM notice_views WHERE notice_id = ? ORDER BY chat_id",
            (notice_id,),
        )
        return [
            NoticeView(notice_id, int(r["chat_id"]), int(r["message_id"]), int(r["user_id"]), str(r["lang"]))
            for r in rows
        ]

    async def acked(self, notice_id: int, member_id: int) -> bool:
        value = await self._db.fetchval(
            "SELECT 1 FROM notice_acks WHERE notice_id = ? AND member_id = ?", (notice_id, member_id)
        )
        return value is not None


# --- group chats ----------------------------------------------------------------------------------
async def group_chat_ids(tx: Tx) -> list[int]:
    rows = await tx.fetchall("SELECT chat_id FROM group_chats WHERE status = 'member' ORDER BY chat_id")
    return [int(r["chat_id"]) for r in rows]


class GroupChatRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_status(self, chat_id: int, title: str, status: str, now: datetime) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO group_chats (chat_id, title, status, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (chat_id) DO UPDATE SET title = excluded.title, status = excluded.status,"
                " updated_at = excluded.updated_at",
                (chat_id, title, status, to_db(now)),
            )

    async def migrate(self, old_id: int, new_id: int, now: datetime) -> None:
        async with self._db.transaction() as tx:
            title = await tx.fetchval("SELECT title FROM group_chats WHERE chat_id = ?", (old_id,))
            await tx.execute(
                "UPDATE group_chats SET status = 'left', updated_at = ? WHERE chat_id = ?", (to_db(now), old_id)
            )
            await tx.execute(
                "INSERT INTO group_chats (chat_id, title, status, updated_at) VALUES (?, ?, 'member', ?)"
                " ON CONFLICT (chat_id) DO UPDATE SET status = 'member', updated_at = excluded.updated_at",
                (new_id, str(title or ""), to_db(now)),
            )

    async def active(self) -> list[tuple[int, str]]:
        rows = await self._db.fetchall(
            "SELECT chat_id, title FROM group_chats WHERE status = 'member' ORDER BY chat_id"
        )
        return [(int(r["chat_id"]), str(r["title"])) for r in rows]
