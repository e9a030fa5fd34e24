"""Seeding and outbox helpers for the activities tests (members/groups are built by others)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from telegram import InlineKeyboardMarkup

from bot.activities import Draft
from bot.roles import Actor
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from storage.db import Database
from storage.timefmt import to_db
from tests.conftest import OWNER_ID

# Seeding lives in tests/factories.py (re-exported here for the activities tests).
from tests.factories import EPOCH as EPOCH
from tests.factories import add_coordinator as add_coordinator
from tests.factories import add_group as add_group
from tests.factories import add_member as add_member


async def member_user(
    tg: FakeTelegram, db: Database, name: str, groups: tuple[int, ...] = (), category: str | None = "enterprise"
) -> SandboxUser:
    """A sandbox user (chat opened) who is an active member speaking English."""
    user = tg.create_user(name, language_code="en")
    user.state.started = True
    await add_member(db, user.id, name, groups, category, language="en")
    return user


def draft(now: datetime, **overrides: object) -> Draft:
    base = Draft(
        title="Reading club",
        description="Chapter 1 <b>&",
        place="Room 3",
        starts_at=now + timedelta(days=3),
        ends_at=now + timedelta(days=3, hours=2),
        signup_deadline=now + timedelta(days=2),
        capacity=2,
    )
    return base.__class__(**{**base.__dict__, **overrides})  # type: ignore[arg-type]


async def drain_outbox(runtime: BotRuntime) -> int:
    """Test-only: send pending outbox rows through the bot (the real worker is bot/delivery.py)."""
    assert runtime.db is not None and runtime.app is not None
    rows = await runtime.db.fetchall(
        "SELECT id, chat_id, text, reply_markup FROM outbox WHERE status = 'pending' ORDER BY id"
    )
    for row in rows:
        markup = row["reply_markup"]
        keyboard = InlineKeyboardMarkup.de_json(json.loads(markup), runtime.app.bot) if markup else None
        sent = await runtime.app.bot.send_message(row["chat_id"], row["text"], parse_mode="HTML", reply_markup=keyboard)
        async with runtime.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET status = 'sent', message_id = ? WHERE id = ?", (sent.message_id, row["id"])
            )
    return len(rows)


def owner_actor(user_id: int) -> Actor:
    from bot.roles import Role, Scope

    return Actor(user_id, Role.OWNER, scope=Scope(everything=True))


def stamp(moment: datetime) -> str:
    return to_db(moment)


async def publish(runtime: BotRuntime, now: datetime, **overrides: object) -> int:
    """An activity created by the owner from `draft(now, **overrides)`, its announcements sent."""
    assert runtime.services is not None
    result = await runtime.services.activities.create(owner_actor(OWNER_ID), draft(now, **overrides))
    assert result.activity is not None
    await drain_outbox(runtime)
    return result.activity.id


async def two_districts(db: Database) -> tuple[int, int]:
    """Groups Pudong and Huamu under a head group: (pudong, huamu)."""
    head = await add_group(db, "Head")
    return await add_group(db, "Pudong", head), await add_group(db, "Huamu", head)
