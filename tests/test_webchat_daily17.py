"""Issue #17 screens of notices and feedback in the sandbox web chat (real headless Chromium), with a
screenshot of each: who a notice did not reach, cancelling a scheduled notice, the answer's preview."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from bot.clock import FakeClock
from bot.config import Settings
from bot.notices import Draft, Segment
from sandbox.server import FakeTelegram
from tests import factories
from tests.webchat_helpers import TIMEOUT_MS, WebChat, assert_screenshot_not_blank, web_chat

pytestmark = pytest.mark.browser

ZHANG_WEI, LI_NA = 9100001, 9100002  # demo personas (bot/demo_data.toml): a coordinator and a member of his group


@pytest.fixture
async def chat(tg: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path) -> AsyncIterator[WebChat]:
    async with web_chat(tg, settings, clock, tmp_path) as opened:
        yield opened


async def test_report_list_cancel_confirmation_and_answer_preview(chat: WebChat, clock: FakeClock,
                                                                  tmp_path: Path) -> None:
    page = chat.page
    db, services = chat.runtime.db, chat.runtime.services
    assert db is not None and services is not None
    group = await db.fetchval("SELECT id FROM groups WHERE name = ?", ("陆家嘴金融城新联会",))
    newcomer = chat.tg.create_user("王芳", language_code="zh-hans")  # a member who never opened the bot
    await factories.add_member(db, newcomer.id, "王芳", [int(group)], "freelancer", phone="13800001234")

    # who a notice did not reach
    await chat.open(ZHANG_WEI)
    await chat.send("/notice")
    await chat.see("请发送通知内容")
    await chat.send("下周一例会改到下午")
    await chat.press(await chat.see("发给谁"), "全部会员")
    control = await chat.see("接收人")
    await chat.press(control, "立即发送")
    await expect(control).to_contain_text("；1 人尚未开通机器人。", timeout=TIMEOUT_MS)
    await chat.press(control, "查看未送达名单")
    listing = await chat.see("未送达（1 人）")
    await expect(listing).to_contain_text("• 王芳（陆家嘴金融城新联会，尾号 1234）：尚未开通机器人")
    await assert_screenshot_not_blank(page, tmp_path / "notice-not-reached.png")

    # cancelling a scheduled notice asks first
    who = await services.roles.actor(ZHANG_WEI)
    await services.notices.create(who, Draft("周末活动取消", Segment(everyone=True),
                                             at=clock.now() + timedelta(days=1)), "zh-Hans")
    await chat.send("/notices")
    notices = await chat.see("通知（定时的在前）")
    await notices.locator(".inline-kb button").first.click()
    view = await chat.see("下次发送")
    await chat.press(view, "取消这条通知")
    await expect(view).to_contain_text("确定取消通知", timeout=TIMEOUT_MS)
    await expect(view).to_contain_text("周末活动取消")
    await expect(view).to_contain_text("它原定于 2026-11-23 10:00 发送；取消后会员不会收到。")
    await expect(view.locator(".inline-kb button")).to_have_text(["确认取消这条通知", "不取消，返回"])
    await assert_screenshot_not_blank(page, tmp_path / "notice-cancel-confirm.png")
    await chat.press(view, "确认取消这条通知")
    await expect(view).to_contain_text("通知已取消", timeout=TIMEOUT_MS)

    # a formal answer is previewed with 发送 / 修改 (李娜's suggestion, submitted as she would)
    li_na = await services.roles.actor(LI_NA)
    await services.feedback.submit(li_na, "suggestion", "建议活动通知提前一周发出", False, ())
    await chat.send("/queue")
    queue = await chat.see("反馈列表")
    await queue.locator(".inline-kb button", has_text="FB-").first.click()
    item = await chat.see("建议活动通知提前一周发出")
    await chat.press(item, "答复会员")
    await chat.see("请输入正式答复")
    await chat.send("好的，以后提前一周发通知。")
    preview = await chat.see("答复预览")
    await expect(preview).to_contain_text("好的，以后提前一周发通知。")
    await expect(preview.locator(".inline-kb button")).to_have_text(["发送", "修改"])
    await assert_screenshot_not_blank(page, tmp_path / "feedback-answer-preview.png")
    await chat.press(preview, "发送")
    await chat.see("的答复已发送给会员")
    await chat.open(LI_NA)
    await chat.see("好的，以后提前一周发通知。")
    # the one refusal: Telegram's 403 for the member who never opened the bot
    refused = ("sendMessage", "Forbidden: bot can't initiate conversation with a user")
    assert chat.tg.counters.validation_errors == [refused]
