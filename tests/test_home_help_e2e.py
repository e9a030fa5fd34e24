"""Issue #17 items of the home screen and /help, end to end through the sandbox."""

from __future__ import annotations

import pytest

from bot import roles
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.activities_helpers import add_coordinator, add_group, member_user
from tests.conftest import OWNER_ID


async def test_coordinator_home_row_starts_the_commands_flows(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    pudong = await add_group(bot.db, "Pudong")
    coord = tg.create_user("协调员", language_code="zh-hans")
    await add_coordinator(bot.db, coord.id, pudong)
    await coord.send("/start")
    home = await coord.next_message()
    assert home.buttons[:4] == ["📣 发通知", "🗓 发活动", "📥 待办反馈", "✅ 审核"]
    await (await coord.press(home, "🗓 发活动")).answer()
    await coord.wait_for(lambda m: "活动标题" in (m.text or ""))  # the /newactivity flow, first step
    while "活动标题" not in ((await coord.next_message()).text or ""):
        pass
    await coord.send("茶话会")
    assert "开始时间" in ((await coord.next_message()).text or "")  # the flow took the typed title
    assert await bot.db.fetchval("SELECT COUNT(*) FROM ptb_conversations WHERE name = 'activity_new'") == 1


async def test_a_member_has_no_coordinator_row_nor_can_forge_it(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    member = await member_user(tg, bot.db, "Alice")
    await member.send("/start")
    home = await member.next_message()
    assert "🗓 New activity" not in home.buttons
    answer = await (await member.press_data(home, "hc:newactivity")).answer()
    assert "not allowed" in (answer.text or "").lower()


async def test_help_is_grouped_by_task_without_developer_syntax(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    member = await member_user(tg, bot.db, "Alice")
    await member.send("/help")
    text = (await member.next_message()).text or ""
    for group in ("Activities", "Feedback", "My details"):
        assert f"\n{group}\n" in text, group
    assert "Notices" not in text and "Ledger\n/stats" not in text
    owner = tg.create_user("Owner", language_code="zh-hans", user_id=OWNER_ID)
    await owner.send("/help")
    text = (await owner.next_message()).text or ""
    for group in ("通知", "活动", "会员", "反馈", "台账"):
        assert f"\n{group}\n" in text, group
    assert "编号" not in text and "/editactivity 编号" not in text


async def test_free_text_gets_the_home_buttons(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    member = await member_user(tg, bot.db, "Alice")
    await member.send("hello?")
    answer = await member.next_message()
    assert "didn't understand" in (answer.text or "") and "Activities" in " ".join(answer.buttons)


async def test_an_owner_writing_after_start_up_gets_the_owner_menu(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert tg.commands("chat", "", chat_id=OWNER_ID) == []  # at start-up the chat did not exist yet
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("hello")
    await owner.next_message()
    menu = [c["command"] for c in tg.commands("chat", "", chat_id=OWNER_ID)]
    assert "audit" in menu and "newactivity" in menu


async def test_a_coordinator_writing_after_start_up_gets_the_menu_a_member_none(tg: FakeTelegram,
                                                                               bot: BotRuntime) -> None:
    """The first contact tells coordinators (of a group not archived) from everyone else."""
    assert bot.db is not None
    pudong, old = await add_group(bot.db, "Pudong"), await add_group(bot.db, "Old")
    coord = tg.create_user("Coord", language_code="en")
    retired = tg.create_user("Retired", language_code="en")
    await add_coordinator(bot.db, coord.id, pudong)  # straight into the database: no appointment flow set a menu
    await add_coordinator(bot.db, retired.id, old)
    async with bot.db.transaction() as tx:
        await tx.execute("UPDATE groups SET archived_at = '2026-01-01T00:00:00.000000Z' WHERE id = ?", (old,))
    member = await member_user(tg, bot.db, "Alice")
    for user in (coord, retired, member):
        await user.send("hello")
        await user.next_message()
    assert "notice" in [c["command"] for c in tg.commands("chat", "", chat_id=coord.id)]
    assert tg.commands("chat", "", chat_id=retired.id) == []
    assert tg.commands("chat", "", chat_id=member.id) == []


async def test_a_member_made_coordinator_later_gets_the_menu_on_a_later_contact(
        tg: FakeTelegram, bot: BotRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Members are not marked as seen: once the list of coordinators is read again, one appointed
    later (straight into the database, say: no appointment flow set the menu) gets it when writing."""
    monkeypatch.setattr(roles, "COORDINATORS_FRESH_S", 0.0)  # read again on every contact
    assert bot.db is not None
    member = await member_user(tg, bot.db, "Alice")
    await member.send("hello")
    await member.next_message()
    assert tg.commands("chat", "", chat_id=member.id) == []
    await add_coordinator(bot.db, member.id, await add_group(bot.db, "Pudong"))
    await member.send("hello again")
    await member.next_message()
    assert "notice" in [c["command"] for c in tg.commands("chat", "", chat_id=member.id)]


async def test_each_coordinator_home_button_opens_its_flow(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    pudong = await add_group(bot.db, "Pudong")
    coord = tg.create_user("协调员", language_code="zh-hans")
    await add_coordinator(bot.db, coord.id, pudong)
    expected = {  # the button -> the first words of what its command shows
        "📣 发通知": "请发送通知内容",
        "📥 待办反馈": "反馈",
        "✅ 审核": "审核",
    }
    for button, shows in expected.items():
        await coord.send("/start")
        home = await coord.wait_for(lambda m, button=button: button in m.buttons)
        mark = max(m.message_id for m in coord.messages)
        await (await coord.press(home, button)).answer()
        opened = await coord.wait_for(lambda m, mark=mark, shows=shows: m.message_id > mark and shows in (m.text or ""))
        await coord.send("/cancel")  # leaves the flow (or says there is none): the next button starts afresh
        await coord.wait_for(lambda m, after=opened.message_id: m.message_id > after + 1)


async def test_an_unregistered_users_member_commands_point_to_start(tg: FakeTelegram, bot: BotRuntime) -> None:
    stranger = tg.create_user("Newcomer", language_code="en")
    for command in ("/activities", "/checkin", "/feedback", "/myfeedback", "/myrecord", "/profile"):
        await stranger.send(command)
        answer = await stranger.next_message()
        assert "/start" in (answer.text or "") or "Start" in " ".join(answer.buttons), (command, answer.text)


async def test_a_too_long_notice_is_refused_with_the_limit(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner = tg.create_user("Owner", language_code="zh-hans", user_id=OWNER_ID)
    await owner.send("/notice")
    await owner.wait_for(lambda m: "通知内容" in (m.text or ""))
    await owner.send("长" * 3501)
    refused = await owner.wait_for(lambda m: "最长" in (m.text or ""))
    assert refused.text == "通知最长 3500 字，请缩短后重新发送。"
