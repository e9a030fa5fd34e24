"""Whole journeys through the sandbox web chat in real headless Chromium.

A new person registers and signs up for an activity; a coordinator sends a notice, a member
acknowledges it on the page and the coordinator sees the acknowledgement in the notice status.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from bot.clock import FakeClock
from bot.config import Settings
from sandbox.server import FakeTelegram
from tests.webchat_helpers import TIMEOUT_MS, WebChat, assert_screenshot_not_blank, web_chat

pytestmark = pytest.mark.browser

ZHANG_WEI, LI_NA, ALICE = 9100001, 9100002, 9100003  # demo personas (bot/demo_data.toml)
SALON = "陆家嘴金融城青年沙龙"  # demo activity for the 陆家嘴金融城新联会 group, 5 of 30 seats taken


@pytest.fixture
async def chat(tg: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path) -> AsyncIterator[WebChat]:
    async with web_chat(tg, settings, clock, tmp_path) as opened:
        yield opened


async def test_new_member_registers_and_signs_up_for_an_activity(chat: WebChat, tmp_path: Path) -> None:
    page = chat.page
    await page.click("#new-user summary")
    await page.fill("#nu-name", "Bob Smith")
    await page.select_option("#nu-lang", "en")
    await page.click("#nu-create")
    await expect(page.locator("#chat-title")).to_contain_text("Bob Smith", timeout=TIMEOUT_MS)
    await expect(page.locator("#new-user-form")).to_be_hidden()  # the form folds away once the user exists
    await expect(page.locator("#user-list li.active")).to_contain_text("not started")
    await chat.send("/start")
    await chat.press(await chat.see("Privacy notice"), "I agree")
    await chat.see("What is your name")
    await chat.send("Bob Smith")
    await chat.press(await chat.see("Which category"), "Freelancers")
    await chat.press(await chat.see("Your organisation"), "Skip")
    await chat.press(await chat.see("Your position"), "Skip")
    expertise = await chat.see("areas of expertise")
    await chat.press(expertise, "Law")
    await expect(expertise.locator(".inline-kb button", has_text="✅ Law")).to_be_visible(timeout=TIMEOUT_MS)
    await chat.press(expertise, "Finance")
    await expect(expertise.locator(".inline-kb button", has_text="✅ Finance")).to_be_visible(timeout=TIMEOUT_MS)
    await chat.press(expertise, "Law")  # toggled off again
    await expect(expertise.locator(".inline-kb button", has_text="✅")).to_have_count(1, timeout=TIMEOUT_MS)
    await chat.press(expertise, "Done")
    await chat.press(await chat.see("Your interests"), "Skip")
    await chat.see("Share your phone number")
    share = page.locator("#reply-keyboard button", has_text="Share my phone number")
    await expect(share).to_be_visible(timeout=TIMEOUT_MS)
    await share.click()
    await expect(page.locator("#messages .msg.out .contact")).to_contain_text("+86", timeout=TIMEOUT_MS)
    groups = await chat.see("Which groups")
    await chat.press(groups, "陆家嘴金融城新联会")
    await expect(groups.locator(".inline-kb button", has_text="✅")).to_have_count(1, timeout=TIMEOUT_MS)
    await chat.press(groups, "Done")
    summary = await chat.see("Please check your details")
    await expect(summary).to_contain_text("Bob Smith")
    await chat.press(summary, "Confirm")
    await chat.see("You are registered")
    await expect(page.locator("#user-list li.active")).not_to_contain_text("not started", timeout=TIMEOUT_MS)
    await expect(page.locator("#reply-keyboard")).to_be_hidden()

    await chat.send("/activities")
    # the listing itself (the registration's last message also points to "upcoming activities")
    listing = chat.bot_messages().filter(has_text="Upcoming activities").filter(
        has=page.locator(".inline-kb button", has_text=SALON)).last
    await expect(listing).to_be_visible(timeout=TIMEOUT_MS)
    listing = page.locator(f"#messages .msg[data-message-id='{await listing.get_attribute('data-message-id')}']")
    await chat.press(listing, SALON)
    card = chat.bot_messages().filter(has=page.locator(".inline-kb button", has_text="Sign up")).last
    await expect(card).to_contain_text(SALON, timeout=TIMEOUT_MS)
    await chat.press(card, "Sign up")
    await expect(page.locator("#toast")).to_contain_text("signed up", timeout=TIMEOUT_MS)
    await chat.send("/activities")
    listing = chat.bot_messages().last
    await expect(listing).to_contain_text("(Signed up)", timeout=TIMEOUT_MS)
    await assert_screenshot_not_blank(page, tmp_path / "registered.png")
    assert chat.runtime.db is not None
    row = await chat.runtime.db.fetchone(
        "SELECT m.name, m.phone, m.status, s.status AS signup FROM members m JOIN activity_signups s "
        "ON s.member_id = m.id JOIN activities a ON a.id = s.activity_id WHERE m.name = ? AND a.title LIKE ?",
        ("Bob Smith", SALON + "%"))
    assert row is not None and row["status"] == "active" and row["signup"] == "confirmed"
    assert str(row["phone"]).startswith("+86")
    assert chat.tg.counters.validation_errors == []


async def test_coordinator_notice_is_acknowledged_on_the_page_and_counted(chat: WebChat, tmp_path: Path) -> None:
    page = chat.page
    notice = "周五下午三点在党群服务中心开会，请准时参加"
    await chat.open(LI_NA)
    await chat.send("/start")
    await chat.see("李娜")
    await chat.open(ZHANG_WEI)
    await chat.send("/notice")
    await chat.see("请发送通知内容")
    await chat.send(notice)
    await chat.press(await chat.see("发给谁"), "全部会员")
    control = await chat.see("接收人")
    await expect(control).to_contain_text("⬇️ 下面是会员将收到的通知（预览）")  # the panel is above the preview
    preview = chat.bot_message(notice)
    await expect(preview.locator(".inline-kb button")).to_have_text(["收到 ✅（预览，点击无效）"])
    await assert_screenshot_not_blank(page, tmp_path / "notice-panel.png")
    await chat.press(control, "立即发送")
    await expect(control).to_contain_text("发送报告：已送达", timeout=TIMEOUT_MS)
    await expect(control).not_to_contain_text("失败")  # zero counters are not shown
    await assert_screenshot_not_blank(page, tmp_path / "notice-report.png")
    await expect(page.locator(f"#user-list li[data-user-id='{LI_NA}'] .unread")).to_have_text("1", timeout=TIMEOUT_MS)

    await chat.send("/notices")
    listing = await chat.see("通知（定时的在前）")
    await listing.locator(".inline-kb button").first.click()
    status = await chat.see("已确认：")
    await expect(status).to_contain_text("已确认：0")

    await chat.open(LI_NA)
    received = await chat.see(notice)
    await chat.press(received, "收到")
    await expect(page.locator("#toast")).to_contain_text("已确认收到", timeout=TIMEOUT_MS)
    # the button itself says so, with the time in the configured zone (FakeClock: 02:00 UTC = 10:00)
    await expect(received.locator(".inline-kb button")).to_have_text(["✅ 已确认 11-22 10:00"], timeout=TIMEOUT_MS)
    await assert_screenshot_not_blank(page, tmp_path / "notice-acknowledged.png")

    await chat.open(ZHANG_WEI)
    status = await chat.see("已确认：")
    await chat.press(status, "刷新")
    await expect(status).to_contain_text("已确认：1", timeout=TIMEOUT_MS)
    await assert_screenshot_not_blank(page, tmp_path / "notice.png")
    await chat.press(status, "提醒未确认的人")  # the demo's other members have not confirmed
    await chat.press(await chat.see("发送提醒"), "返回")
    await expect(status).to_contain_text("⏰ 已于 10:00 提醒过，12:00 后可再次提醒", timeout=TIMEOUT_MS)
    await expect(status.locator(".inline-kb button", has_text="提醒未确认的人")).to_have_count(0)
    await assert_screenshot_not_blank(page, tmp_path / "notice-nudged.png")
    assert chat.runtime.db is not None
    assert await chat.runtime.db.fetchval("SELECT COUNT(*) FROM notice_acks") == 1
    assert chat.tg.counters.validation_errors == []
    assert await page.locator("#user-list li").count() == 4
