"""The outbox table: messages waiting to be delivered, and their results.

Producers call `enqueue` inside their own write transaction, so the thing that is
announced and its deliveries commit together. The delivery worker (bot/delivery.py)
claims pending rows, sends them at Telegram's pace and records each result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Tx
from storage.timefmt import to_db


@dataclass(frozen=True)
class OutgoingMessage:
    kind: str
    ref_id: int | None
    chat_id: int
    text: str
    member_id: int | None = None
    reply_markup: dict[str, Any] | None = None
    attachment: dict[str, Any] | None = None
    priority: int = 0


async def enqueue(
    tx: Tx, messages: Iterable[OutgoingMessage], now: datetime, not_before: datetime | None = None
) -> int:
    """Add messages to the outbox; a (kind, ref_id, chat_id) already queued is not queued twice."""
    rows = [
        (
            m.kind,
            m.ref_id,
            m.chat_id,
            m.member_id,
            m.text,
            None if m.reply_markup is None else json.dumps(m.reply_markup, ensure_ascii=False),
            None if m.attachment is None else json.dumps(m.attachment, ensure_ascii=False),
            m.priority,
            to_db(not_before or now),
            to_db(now),
        )
        for m in messages
    ]
    before = await tx.fetchval("SELECT COUNT(*) FROM outbox")
    await tx.executemany(
        "INSERT INTO outbox (kind, ref_id, chat_id, member_id, text, reply_markup, attachment, priority,"
        " not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (kind, ref_id, chat_id) DO NOTHING",
        rows,
    )
    after = await tx.fetchval("SELECT COUNT(*) FROM outbox")
    return int(after) - int(before)
