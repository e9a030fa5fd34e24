"""Who reaches the ledger, and where: home buttons, forged buttons, group chats."""

from __future__ import annotations

import asyncio

from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from tests.ledger_helpers import HEAD_COORDINATOR, seed


async def test_home_button_shows_this_months_figures(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await head.press_data(await _any_message(head), "lg:h")
    shown = await head.wait_for(lambda m: "Ledger statistics" in (m.text or ""))
    assert "2026-11-01 – 2026-11-30" in (shown.text or "")


async def test_member_pressing_a_forged_stats_button_is_refused(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    member = tg.create_user("张伟", user_id=101, language_code="en")
    result = await member.press_data(await _any_message(member), "lg:s:20260101-20261231")
    answer = await result.answer()
    assert answer.show_alert
    assert not any("Ledger statistics" in (m.text or "") for m in member.messages)
    assert tg.counters.validation_errors == []


async def test_export_is_never_sent_into_a_group_chat(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    group = tg.create_group("浦东新联总会群", [head])
    await group.send(head, "/export")
    await asyncio.sleep(0.5)
    assert not any(m.document for m in group.messages)


async def test_ledger_buttons_pressed_in_a_group_post_nothing_there(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    group = tg.create_group("浦东新联总会群", [head])
    await group.send(head, "/stats")  # answered with one line and a link to the private chat
    await asyncio.sleep(0.3)
    line = next(m for m in group.messages if m.from_bot)
    for data in ("lg:h", "lg:s:20260101-20261231", "lg:r"):
        result = await head.press_data(line, data)
        await result.answer()
    await asyncio.sleep(0.3)
    assert not any("Ledger statistics" in (m.text or "") or "record" in (m.text or "") for m in group.messages)
    assert tg.counters.validation_errors == []


async def _any_message(user: SandboxUser) -> SandboxMessage:
    """A bot message to press buttons on: the answer to /language."""
    await user.send("/language")
    return await user.next_message()
