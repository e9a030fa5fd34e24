"""Deadlines: the assignee is reminded, overdue items escalate upwards, once, and survive restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import StartBot
from tests.feedback_helpers import add_coordinator, add_member, db_of, fast_typing, submit_feedback, tree

pytestmark = pytest.mark.usefixtures("fast_typing")
__all__ = ["fast_typing"]


def service(runtime: BotRuntime):  # type: ignore[no-untyped-def]
    assert runtime.services is not None
    return runtime.services.feedback


async def test_assignee_is_reminded_a_day_before_the_deadline(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    t = await tree(bot)
    member = tg.create_user("张伟", language_code="en")
    await add_member(bot, member, "张伟", [t.local])
    coord = tg.create_user("Local", language_code="en")
    await add_coordinator(bot, coord, t.local)
    await coord.send("/start")
    await coord.next_message()
    ref = await submit_feedback(member, "Complaint", "Broken projector")
    item_id = await db_of(bot).fetchval("SELECT id FROM feedback_items")
    assert bot.services is not None
    actor = await bot.services.roles.actor(coord.id)
    await service(bot).take(actor, item_id)
    clock.advance(timedelta(days=1, hours=23))
    assert await service(bot).run_due() == 0
    clock.advance(timedelta(hours=1, minutes=1))
    assert await service(bot).run_due() == 1
    reminder = await coord.wait_for(lambda m: "Reminder" in (m.text or ""))
    assert ref in (reminder.text or "")
    assert await service(bot).run_due() == 0


async def test_overdue_item_escalates_to_the_parent_group_once(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    t = await tree(bot)
    member = tg.create_user("李娜", language_code="en")
    await add_member(bot, member, "李娜", [t.local])
    local = tg.create_user("Local", language_code="en")
    await add_coordinator(bot, local, t.local)
    parent = tg.create_user("Sub association", language_code="en")
    await add_coordinator(bot, parent, t.sub)
    head = tg.create_user("Head", language_code="en")
    await add_coordinator(bot, head, t.head)
    for user in (local, parent, head):
        await user.send("/start")
        await user.next_message()
    ref = await submit_feedback(member, "Complaint", "No reply for weeks")
    clock.advance(timedelta(days=3, minutes=1))
    fired = await service(bot).run_due()
    assert fired == 2  # the reminder (to coordinators in scope, no assignee yet) and the escalation
    escalation = await parent.wait_for(lambda m: "Escalation" in (m.text or ""))
    assert ref in (escalation.text or "")
    assert not any("Escalation" in (m.text or "") for m in head.inbox)
    assert await service(bot).run_due() == 0
    assert sum("Escalation" in (m.text or "") for m in parent.inbox) == 1
    assert await db_of(bot).fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'feedback.escalate'") == 1


async def test_answered_item_does_not_escalate(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    t = await tree(bot)
    member = tg.create_user("王芳", language_code="en")
    await add_member(bot, member, "王芳", [t.local])
    coord = tg.create_user("Head", language_code="en")
    await add_coordinator(bot, coord, t.head)
    await submit_feedback(member, "Suggestion", "Idea")
    assert bot.services is not None
    actor = await bot.services.roles.actor(coord.id)
    item_id = await db_of(bot).fetchval("SELECT id FROM feedback_items")
    await service(bot).answer(actor, item_id, "Done")
    clock.advance(timedelta(days=8))
    assert await service(bot).run_due() == 0
    outcomes = [r[0] for r in await db_of(bot).fetchall("SELECT outcome FROM feedback_jobs ORDER BY kind")]
    assert outcomes == ["skipped", "skipped"]


async def test_what_fell_due_while_down_fires_at_start(tg: FakeTelegram, start_bot: StartBot, clock: FakeClock) -> None:
    runtime = await start_bot()
    t = await tree(runtime)
    member = tg.create_user("刘洋", language_code="en")
    await add_member(runtime, member, "刘洋", [t.local])
    head = tg.create_user("Head", language_code="en")
    await add_coordinator(runtime, head, t.head)
    await head.send("/start")
    await head.next_message()
    ref = await submit_feedback(member, "Need / request for help", "Help with tax forms")
    await runtime.stop()
    clock.advance(timedelta(days=10))
    restarted = await start_bot()
    escalation = await head.wait_for(lambda m: "Escalation" in (m.text or ""))
    assert ref in (escalation.text or "")
    assert await db_of(restarted).fetchval("SELECT COUNT(*) FROM feedback_jobs WHERE claimed_at IS NULL") == 0


async def test_concurrent_runs_fire_each_job_once(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    t = await tree(bot)
    member = tg.create_user("陈静", language_code="en")
    await add_member(bot, member, "陈静", [t.local])
    parent = tg.create_user("Parent", language_code="en")
    await add_coordinator(bot, parent, t.sub)
    await parent.send("/start")
    await parent.next_message()
    await submit_feedback(member, "Complaint", "one")
    await submit_feedback(member, "Complaint", "two")
    clock.advance(timedelta(days=4))
    results = await asyncio.gather(*(service(bot).run_due() for _ in range(4)))
    assert sum(results) == 4  # two items x (reminder + escalation), each fired by exactly one run
    await parent.wait_for(lambda m: "FB-2026-0002" in (m.text or "") and "Escalation" in (m.text or ""))
    assert sum("Escalation" in (m.text or "") for m in parent.inbox) == 2
