"""Seeding for notices/delivery tests: groups, members, coordinators straight into core tables."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.runtime import BotRuntime
from sandbox.driver import SandboxMessage, SandboxUser
from sandbox.server import FakeTelegram
from storage.db import Database
from storage.timefmt import to_db
from tests import factories
from tests.conftest import OWNER_ID

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


async def world(tg: FakeTelegram, runtime: BotRuntime, count: int = 3) -> tuple[SandboxUser, list[SandboxUser], int]:
    """An English-speaking owner and `count` members of a local group under a head group."""
    tg.set_rate_limits(True, private_burst=10)  # the scripted coordinator clicks faster than any person
    db = db_of(runtime)
    head = await add_group(db, "浦东新联会")
    local = await add_group(db, "花木街道新联会", head)
    people = await members(tg, db, count, [local])
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    owner.state.started = True
    return owner, people, local


async def compose(owner: SandboxUser, text: str, audience: str = "Everyone") -> SandboxMessage:
    """Run /notice (English) up to the preview; return the control panel."""
    await owner.send("/notice")
    assert "text of the notice" in (await owner.next_message()).text
    await owner.send(text)
    ask = await owner.next_message()
    await owner.press(ask, audience)
    return await owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)


async def send_notice(owner: SandboxUser, text: str) -> SandboxMessage:
    """Compose and send a notice to everyone; the control message once it shows the report."""
    control = await compose(owner, text)
    await owner.press(control, "Send now")
    return await owner.wait_for(lambda m: m.message_id == control.message_id and "Delivery report" in m.text)
