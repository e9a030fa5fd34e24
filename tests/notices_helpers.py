"""Seeding for notices/delivery tests: groups, members, coordinators straight into core tables."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.runtime import BotRuntime
from sandbox.driver import SandboxMessage, SandboxUser
from sandbox.server import FakeTelegram
from storage.db import Database
from storage.timefmt import to_db
from tests import factories

STAMP = to_db(datetime(2026, 11, 1, tzinfo=UTC))


def db_of(runtime: BotRuntime) -> Database:
    assert runtime.db is not None
    return runtime.db


async def add_group(db: Database, name: str, parent_id: int | None = None, kind: str = "local") -> int:
    return await factories.add_group(db, name, parent_id, "head" if parent_id is None else kind, at=STAMP)


async def add_member(
    db: Database, user: SandboxUser, group_ids: list[int], category: str = "freelance", lang: str | None = "en"
) -> int:
    member_id = await factories.add_member(db, user.id, user.state.first_name, group_ids, category, at=STAMP)
    await factories.bot_user(db, user.id, lang, at=STAMP, overwrite=False)
    user.state.started = True  # they opened the chat with the bot when they registered
    return member_id


async def add_coordinator(db: Database, user_id: int, group_id: int) -> None:
    await factories.add_coordinator(db, user_id, group_id, at=STAMP)


async def members(
    tg: FakeTelegram, db: Database, count: int, group_ids: list[int], prefix: str = "成员", category: str = "freelance"
) -> list[SandboxUser]:
    users = []
    for n in range(count):
        user = tg.create_user(f"{prefix}{n}", language_code="en")
        await add_member(db, user, group_ids, category)
        users.append(user)
    return users


async def outbox_rows(db: Database, kind: str, ref_id: int) -> list[tuple[int, str, int]]:
    rows = await db.fetchall(
        "SELECT chat_id, status, attempts FROM outbox WHERE kind = ? AND ref_id = ? ORDER BY id", (kind, ref_id)
    )
    return [(int(r["chat_id"]), str(r["status"]), int(r["attempts"])) for r in rows]


async def confirm_schedule(user: SandboxUser) -> SandboxMessage:
    """After typing a time or a repeat rule: the summary of every choice, then Schedule; the confirmation."""
    summary = await user.next_message()
    await user.press(summary, lambda b: b.get("text") in ("Schedule", "确认定时"))
    return await user.next_message()
