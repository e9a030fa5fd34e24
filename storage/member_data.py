"""SQL of the parts of a member's /mydata export that no feature service reads yet:
acknowledged notices (the notices feature is being restructured: its part reads here) and the
language stored for the member's account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.timefmt import from_db


@dataclass(frozen=True)
class Acknowledgement:
    notice_id: int
    text: str
    sent_at: datetime | None
    acknowledged_at: datetime


async def acknowledgements(db: Database, member_id: int) -> list[Acknowledgement]:
    rows = await db.fetchall(
        "SELECT a.notice_id, n.text, n.sent_at, a.at FROM notice_acks a JOIN notices n ON n.id = a.notice_id"
        " WHERE a.member_id = ? ORDER BY a.at, a.notice_id",
        (member_id,),
    )
    return [
        Acknowledgement(
            int(r["notice_id"]), str(r["text"]), from_db(r["sent_at"]) if r["sent_at"] else None, from_db(r["at"])
        )
        for r in rows
    ]


async def languages(db: Database, user_id: int) -> tuple[str | None, str | None]:
    """(chosen with /language, last reported by Telegram) for the account."""
    row = await db.fetchone("SELECT language, tg_language FROM bot_users WHERE user_id = ?", (user_id,))
    return (None, None) if row is None else (row["language"], row["tg_language"])
