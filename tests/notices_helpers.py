"""Seeding for notices/delivery tests: groups, members, coordinators straight into core tables."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.runtime import BotRuntime
from sandbox.driver import SandboxMessage, SandboxUser
from sandbox.server import FakeTelegram
from storage.db import Database
from storage.timefmt import to_db

STAMP = to_db(datetime(2026, 11, 1, tzinfo=UTC))


def db_of(runtime: BotRuntime) -> Database:
    assert runtime.db is not None
    return runtime.db


async def add_group(db: Database, name: str, parent_id: int | None = None, kind: str = "local") -> int:
    async with db.transaction() as tx:
        parent_path = "/"
        if parent_id is not None:
            parent_path = str(await tx.fetchval("SELECT path FROM groups WHERE id = ?", (parent_id,)))
        group_id = await tx.insert(
            "INSERT INTO groups (parent_id, name, kind, path, created_at) VALUES (?, ?, ?, '/', ?)",
            (parent_id, name, "head" if parent_id is None else kind, STAMP),
        )
        await tx.execute("UPDATE groups SET path = ? WHERE id = ?", (f"{parent_path}{group_id}/", group_id))
    return group_id


async def add_member(
    db: Database, user: SandboxUser, group_ids: list[int], category: str = "freelance", lang: str | None = "en"
) -> int:
    async with db.transaction() as tx:
        member_id = await tx.insert(
            "INSERT INTO members (user_id, status, name, category, registered_at, updated_at)"
            " VALUES (?, 'active', ?, ?, ?, ?)",
            (user.id, user.state.first_name, category, STAMP, STAMP),
        )
        for group_id in group_ids:
            await tx.execute(
                "INSERT INTO member_groups (member_id, group_id, status, requested_at) VALUES (?, ?, 'active', ?)",
                (member_id, group_id, STAMP),
            )
        await tx.execute(
            "INSERT INTO bot_users (user_id, language, started_at, last_seen_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO NOTHING",
            (user.id, lang, STAMP, STAMP),
        )
    user.state.started = True  # they opened the chat with the bot when they registered
    return member_id


async def add_coordinator(db: Database, user_id: int, group_id: int) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO coordinators (user_id, group_id, appointed_by, appointed_at) VALUES (?, ?, 0, ?)",
            (user_id, group_id, STAMP),
        )


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
