"""Helpers of the feedback and survey tests; seeding goes through tests/factories.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from storage.outbox import FINAL_STATUSES
from tests import factories
from tests.factories import db_of as db_of  # re-exported for the feature tests

NOW = "2026-11-01T00:00:00.000000Z"


async def add_group(runtime: BotRuntime, name: str, parent: int | None = None, kind: str = "local") -> int:
    return await factories.add_group(db_of(runtime), name, parent, "head" if parent is None else kind, at=NOW)


async def add_member(
    runtime: BotRuntime, user: SandboxUser, name: str, groups: list[int], language: str | None = "en"
) -> int:
    """An active member (category enterprise); `language` None: no /language choice, not yet in touch."""
    return await factories.add_member(db_of(runtime), user.id, name, groups, language=language, at=NOW)


async def add_coordinator(
    runtime: BotRuntime, user: SandboxUser, group_id: int, language: str | None = "en"
) -> None:
    db = db_of(runtime)
    if language is not None:
        await factories.bot_user(db, user.id, language, at=NOW)
    await factories.add_coordinator(db, user.id, group_id, 1, at=NOW)


@dataclass
class Tree:
    head: int
    sub: int
    local: int
    other: int


async def tree(runtime: BotRuntime) -> Tree:
    """浦东新联总会 > 新媒体从业人员联谊会 > 花木街道新联会, plus a sibling sub-association."""
    head = await add_group(runtime, "浦东新联总会")
    sub = await add_group(runtime, "新媒体从业人员联谊会", head, "sub")
    local = await add_group(runtime, "花木街道新联会", sub)
    other = await add_group(runtime, "自由职业人员联谊会", head, "sub")
    return Tree(head, sub, local, other)


async def drain_outbox(runtime: BotRuntime, tg: FakeTelegram, timeout: float = 5.0) -> int:
    """Wait until the delivery worker has sent every queued outbox row; returns how many were sent."""
    db = db_of(runtime)
    marks = ", ".join("?" for _ in FINAL_STATUSES)
    deadline = asyncio.get_running_loop().time() + timeout
    while await db.fetchval(f"SELECT COUNT(*) FROM outbox WHERE status NOT IN ({marks})", FINAL_STATUSES):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("outbox not drained")
        await asyncio.sleep(0.02)
    return int(await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'sent'"))


def has_button(text: str) -> object:
    def check(message: SandboxMessage) -> bool:
        return any(b.get("text") == text for b in message.inline_buttons)

    return check


async def submit_feedback(
    user: SandboxUser, kind: str, text: str, *, anonymous: bool = False, photo: bytes | None = None
) -> str:
    """Go through /feedback in English; returns the reference number the bot gave."""
    await user.send("/feedback")
    picker = await user.next_message()
    await (await user.press(picker, kind)).answer()
    await user.send(text)
    prompt = await user.next_message()
    if photo is not None:
        await user.send_photo(photo)
        prompt = await user.next_message()
        await (await user.press(prompt, "Done")).answer()
    else:
        await (await user.press(prompt, "Skip")).answer()
    anon = await user.wait_for(lambda m: m.message_id == prompt.message_id and "anonymous" in (m.text or ""))
    await (await user.press(anon, "Stay anonymous" if anonymous else "Show my name")).answer()
    preview = await user.wait_for(lambda m: m.message_id == prompt.message_id and "confirm" in (m.text or ""))
    await (await user.press(preview, "Send")).answer()
    done = await user.wait_for(lambda m: m.message_id == prompt.message_id and "reference number" in (m.text or ""))
    assert done.text is not None
    return done.text.split("reference number is ")[1].split(".")[0]


async def fresh_queue(coord: SandboxUser) -> SandboxMessage:
    before = max((m.message_id for m in coord.inbox), default=0)
    await coord.send("/queue")
    return await coord.wait_for(
        lambda m: m.message_id > before and ("Feedback queue" in (m.text or "") or "No feedback" in (m.text or ""))
    )


async def open_item(coord: SandboxUser, ref: str, status_filter: str | None = None) -> SandboxMessage:
    queue = await fresh_queue(coord)
    if status_filter:
        await (await coord.press(queue, status_filter)).answer()
        queue = await coord.wait_for(lambda m: m.message_id == queue.message_id and ref in str(m.buttons))
    await (await coord.press(queue, lambda b: str(b.get("text", "")).startswith(ref))).answer()
    return await coord.wait_for(lambda m: m.message_id == queue.message_id and (m.text or "").startswith(ref))


async def write(coord: SandboxUser, item: SandboxMessage, button: str, text: str) -> str:
    before = max((m.message_id for m in coord.inbox), default=0)
    await (await coord.press(item, button)).answer()
    prompt = await coord.wait_for(lambda m: m.message_id > before and "/cancel" in (m.text or ""))
    await coord.send(text)
    done = await coord.wait_for(lambda m: m.message_id > prompt.message_id)
    if button == "Answer" and "Send" in done.buttons:  # the formal answer's preview: Send / Edit
        await (await coord.press(done, "Send")).answer()
        preview = done.message_id
        done = await coord.wait_for(lambda m: m.message_id > preview)
    return done.text or ""


@pytest.fixture
def fast_typing(tg: FakeTelegram) -> None:
    """Scripted users type many times faster than people: widen the private-chat burst.

    The bot's replies in these flows are one per user message; the sandbox's default
    3-message burst models a person, not a test script sending ten messages in 50 ms.
    """
    tg.limiter.config.private_burst = 60
    tg.limiter.reset()
