"""Chat-type policy (issue #15, defect 6): commands in a group get one short line and a link to the
private chat; nothing personal or administrative is posted into a group."""

from __future__ import annotations

import asyncio

import pytest

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID
from tests.factories import add_group, add_member, db_of

ADMIN_COMMANDS = ["/manage", "/newactivity", "/capacity", "/editactivity 1 title X", "/members", "/notice",
                  "/export", "/stats", "/queue", "/approvals", "/coordinators", "/audit"]
MEMBER_COMMANDS = ["/activities", "/checkin 123456", "/profile", "/mydata", "/feedback", "/myrecord", "/help"]


async def _group_with_owner(tg: FakeTelegram, bot: BotRuntime):
    owner = tg.create_user("Owner", user_id=OWNER_ID, language_code="en")
    member = tg.create_user("李娜", language_code="en")
    head = await add_group(db_of(bot), "浦东新联总会")
    await add_member(db_of(bot), member.id, "李娜", [head], language="en")
    group = tg.create_group("新联会群", [owner, member])
    await asyncio.sleep(0.2)  # the bot registers the group chat (my_chat_member)
    return owner, member, group


@pytest.mark.parametrize("command", ADMIN_COMMANDS + MEMBER_COMMANDS)
async def test_a_private_command_in_a_group_gets_one_line_and_a_private_chat_button(
    tg: FakeTelegram, bot: BotRuntime, command: str
) -> None:
    owner, _, group = await _group_with_owner(tg, bot)
    before = len(group.messages)
    await group.send(owner, command)
    reply = await group.wait_for(lambda m: "private chat" in (m.text or ""))
    await asyncio.sleep(0.3)  # anything else the bot would post arrives meanwhile
    posted = group.messages[before:]
    assert [m.text for m in posted] == ["Please use this command in a private chat with me."]
    assert reply.inline_buttons[0]["url"].startswith("https://t.me/")
    assert not any(m.document for m in group.messages)
    assert all("/" not in (m.text or "").replace("https://", "") for m in posted)  # no command list


async def test_help_in_a_group_does_not_post_the_coordinator_command_list(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, _, group = await _group_with_owner(tg, bot)
    await group.send(owner, "/help")
    await group.wait_for(lambda m: "private chat" in (m.text or ""))
    await asyncio.sleep(0.3)
    texts = " ".join(m.text or "" for m in group.messages)
    assert "/notice" not in texts and "/export" not in texts


async def test_a_command_for_another_bot_and_plain_talk_in_a_group_are_left_alone(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    owner, member, group = await _group_with_owner(tg, bot)
    before = len(group.messages)
    await group.send(owner, "/manage@SomeOtherBot")
    await group.send(member, "大家好，周六见")
    await asyncio.sleep(0.5)
    assert group.messages[before:] == []


async def test_the_same_command_in_the_private_chat_still_works(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner, _, _ = await _group_with_owner(tg, bot)
    await owner.send("/help")
    message = await owner.next_message()
    assert "/notice" in (message.text or "")
