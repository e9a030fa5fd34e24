"""Seeding and outbox helpers for the activities tests (members/groups are built by others)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.activities import Draft
from bot.activities import callbacks as acb
from bot.roles import Actor
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from storage.db import Database
from storage.outbox import FINAL_STATUSES
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


async def drain_outbox(runtime: BotRuntime, timeout: float = 20.0) -> int:
    """Wait until the bot's delivery worker (bot/delivery.py) has sent every outbox row due now;
    returns how many rows were still open when called.

    The worker sends them, never this helper: sending them here raced the worker (both sent a row
    the other had not yet marked), which on PostgreSQL, where the worker starts only once its
    process is elected pacer, showed as a second copy of an announcement under load (issue 19).
    """
    assert runtime.db is not None and runtime.services is not None
    db, delivery = runtime.db, runtime.services.delivery
    marks = ", ".join("?" for _ in FINAL_STATUSES)
    due = f"SELECT id FROM outbox WHERE status NOT IN ({marks}) AND not_before <= ?"
    waiting = {int(r["id"]) for r in await db.fetchall(due, (*FINAL_STATUSES, to_db(runtime.clock.now())))}
    deadline = asyncio.get_running_loop().time() + timeout
    while await db.fetchall(due, (*FINAL_STATUSES, to_db(runtime.clock.now()))):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the delivery worker did not drain the outbox")
        delivery.wake()
        await asyncio.sleep(0.02)
    return len(waiting)


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


# --- /newactivity walked as a coordinator would (the wizard's order lives here, once) -------------
def has_button(data: str) -> Callable[[SandboxMessage], bool]:
    """A message showing the button whose callback data is `data`."""
    return lambda m: any(b.get("callback_data") == data for b in m.inline_buttons)


async def tap(user: SandboxUser, message: SandboxMessage, data: str) -> SandboxMessage:
    """Press the button of `message` with callback data `data`; the message as it shows afterwards
    (the wizard edits its screen in place), once it no longer shows that button's screen."""
    before = _shown(user, message)
    await (await user.press(message, lambda b: b.get("callback_data") == data)).answer()
    return await user.wait_for(lambda m: m.message_id == message.message_id and _screen(m) != before)


def _shown(user: SandboxUser, message: SandboxMessage) -> tuple[str, str]:
    current = next(m for m in user.messages if m.message_id == message.message_id)
    return _screen(current)


def _screen(message: SandboxMessage) -> tuple[str, str]:
    return (message.text or "", json.dumps(message.inline_buttons, sort_keys=True))


async def new_activity_to_who(
    user: SandboxUser, title: str, start: str, place: str = "-", capacity: str = "20"
) -> SandboxMessage:
    """/newactivity typed up to the who picker (title, time, place, seats): the picker."""
    for text in ("/newactivity", title, start, place):
        await user.send(text)
        await user.next_message()
    await user.send(capacity)
    return await user.next_message()


async def who_everyone(user: SandboxUser, picker: SandboxMessage) -> SandboxMessage:
    """The who step's first button (everyone the coordinator may address): the summary."""
    return await tap(user, picker, acb.WHO_ALL.data())


async def who_done(user: SandboxUser, picker: SandboxMessage) -> SandboxMessage:
    """Done on the who picker: the summary (the picker edited)."""
    return await tap(user, picker, acb.ELIGIBILITY_DONE.data())


async def more_option(user: SandboxUser, summary: SandboxMessage, opt: str) -> SandboxMessage:
    """更多选项 on the summary, then option `opt`: its screen (the same message)."""
    menu = await tap(user, summary, acb.MORE.data())
    return await tap(user, menu, acb.MORE_OPEN.data(opt=opt))


async def choose(user: SandboxUser, summary: SandboxMessage, opt: str, *vals: str) -> SandboxMessage:
    """Option `opt` set with its preset buttons `vals` (每周 then 4: "weekly", "weekly.4"): the summary."""
    screen = await more_option(user, summary, opt)
    for val in vals:
        screen = await tap(user, screen, acb.MORE_SET.data(opt=opt, val=val))
    return screen


async def typed_option(user: SandboxUser, summary: SandboxMessage, opt: str, text: str) -> SandboxMessage:
    """Option `opt` answered by typing `text` (description, end, deadline): the bot's next message."""
    await more_option(user, summary, opt)
    await user.send(text)
    return await user.next_message()


async def publish_summary(user: SandboxUser, summary: SandboxMessage) -> SandboxMessage:
    """Publish on the summary: the message saying it was published."""
    return await tap(user, summary, acb.PUBLISH.data(choice="go"))
