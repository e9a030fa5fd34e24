"""The sandbox web chat as a newcomer meets it (#17): on a phone-sized screen, in the browser's
language, following new replies, and telling who has not started the bot. Real headless Chromium."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Locator, Page, ViewportSize, expect

from bot.clock import FakeClock
from bot.config import Settings
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID
from tests.webchat_helpers import TIMEOUT_MS, WebChat, assert_screenshot_not_blank, drawer_settled, web_chat

pytestmark = pytest.mark.browser

ZHANG_WEI, LI_NA, ALICE = 9100001, 9100002, 9100003  # demo personas (bot/demo_data.toml)
PHONE: ViewportSize = {"width": 390, "height": 844}
AT_BOTTOM = ("() => { const b = document.getElementById('messages');"
             " return b.scrollHeight - b.scrollTop - b.clientHeight < 2; }")


async def assert_inside_viewport(page: Page, element: Locator) -> None:
    """The element is rendered and wholly inside the viewport (not pushed off-screen)."""
    await expect(element).to_be_visible(timeout=TIMEOUT_MS)
    box = await element.bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    assert box["width"] > 0 and box["height"] > 0
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], box


async def assert_outside_viewport(page: Page, element: Locator) -> None:
    box = await element.bounding_box()
    assert box is None or box["x"] + box["width"] <= 0, box


@pytest.fixture
async def phone(tg: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path) -> AsyncIterator[WebChat]:
    async with web_chat(tg, settings, clock, tmp_path, viewport=PHONE) as opened:
        yield opened


async def test_at_390px_a_drawer_replaces_the_sidebar_and_send_stays_visible(phone: WebChat, tmp_path: Path) -> None:
    page = phone.page
    await assert_outside_viewport(page, page.locator("#sidebar"))  # the chat gets the whole width
    for part in ("#text", "#send-btn", "#menu-btn", "#attach-btn", "#contact-btn", "#drawer-btn"):
        await assert_inside_viewport(page, page.locator(part))
    await page.click("#drawer-btn")  # the user picker slides in
    await drawer_settled(page, open_=True)
    await assert_inside_viewport(page, page.locator(f"#user-list li[data-user-id='{LI_NA}']"))
    await assert_screenshot_not_blank(page, tmp_path / "webchat-390-drawer.png")
    await page.click(f"#user-list li[data-user-id='{LI_NA}']")
    await expect(page.locator("#chat-sub")).to_contain_text(f"user id {LI_NA}", timeout=TIMEOUT_MS)
    await expect(page.locator("#scrim")).to_be_hidden()
    await drawer_settled(page, open_=False)
    await assert_outside_viewport(page, page.locator("#sidebar"))
    await phone.send("/help")
    await expect(phone.last_bot_message()).to_contain_text("/language", timeout=TIMEOUT_MS)
    await phone.send("/start")
    await expect(phone.bot_messages()).to_have_count(2, timeout=TIMEOUT_MS)
    for part in ("#text", "#send-btn"):  # long replies scroll inside the chat; the composer stays put
        await assert_inside_viewport(page, page.locator(part))
    await assert_inside_viewport(page, phone.last_bot_message().locator(".meta"))
    await assert_screenshot_not_blank(page, tmp_path / "webchat-390.png")


async def test_the_chat_keeps_following_new_replies_after_an_image_loads(phone: WebChat, tmp_path: Path) -> None:
    bot = phone.runtime.app.bot  # type: ignore[union-attr]
    page = phone.page
    await phone.open(ALICE)
    for number in range(12):  # more than a screenful
        await bot.send_message(ALICE, f"message {number}\nsecond line\nthird line")
    await expect(phone.last_bot_message()).to_contain_text("message 11", timeout=TIMEOUT_MS)
    png = io.BytesIO()
    Image.new("RGB", (600, 900), (40, 120, 200)).save(png, format="PNG")  # tall: taller once loaded
    await bot.send_photo(ALICE, png.getvalue(), caption="chart")
    image = phone.last_bot_message().locator("img.photo")
    await expect(image).to_be_visible(timeout=TIMEOUT_MS)
    await page.wait_for_function("() => [...document.querySelectorAll('img.photo')].every(i => i.complete)")
    await page.wait_for_function(AT_BOTTOM, timeout=TIMEOUT_MS)  # the caption under the photo is in view
    await assert_inside_viewport(page, phone.last_bot_message().locator(".meta"))
    await assert_screenshot_not_blank(page, tmp_path / "webchat-390-photo.png")


async def test_page_chrome_follows_a_chinese_browser(tg: FakeTelegram, settings: Settings, clock: FakeClock,
                                                     tmp_path: Path) -> None:
    async with web_chat(tg, settings, clock, tmp_path, viewport=PHONE, locale="zh-CN") as chat:
        page = chat.page
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        await expect(page.locator("#send-btn")).to_have_text("发送")
        assert await page.locator("#text").get_attribute("placeholder") == "输入消息或 /命令"
        await page.click("#drawer-btn")
        await drawer_settled(page, open_=True)
        await expect(page.locator("#sidebar .side-section").first).to_have_text("用户")
        await expect(page.locator("#new-user summary")).to_have_text("+ 新建用户")
        await expect(page.locator("#user-list li").first.locator(".badge")).to_have_text("所有者")
        await page.click(f"#user-list li[data-user-id='{ZHANG_WEI}']")
        await expect(page.locator("#chat-sub")).to_contain_text(f"用户 ID {ZHANG_WEI}", timeout=TIMEOUT_MS)
        await chat.send("/help")
        await expect(chat.last_bot_message()).to_contain_text("/language", timeout=TIMEOUT_MS)
        await assert_screenshot_not_blank(page, tmp_path / "webchat-390-zh.png")


async def test_page_chrome_in_english_for_an_english_browser(phone: WebChat) -> None:
    page = phone.page
    assert await page.evaluate("document.documentElement.lang") == "en"
    await expect(page.locator("#send-btn")).to_have_text("Send")
    await expect(page.locator("#sidebar .side-section").first).to_have_text("Users")


async def test_not_started_badge_only_where_the_bot_cannot_write_yet(phone: WebChat, tmp_path: Path) -> None:
    page = phone.page
    for persona in (ZHANG_WEI, LI_NA, ALICE):  # demo personas have started the bot
        await expect(page.locator(f"#user-list li[data-user-id='{persona}'] .not-started")).to_have_count(0)
    owner = page.locator(f"#user-list li[data-user-id='{OWNER_ID}']")
    await expect(owner.locator(".not-started")).to_have_text("not started")
    await page.click("#drawer-btn")
    await drawer_settled(page, open_=True)
    await assert_screenshot_not_blank(page, tmp_path / "webchat-390-not-started.png")
    await page.click(f"#user-list li[data-user-id='{OWNER_ID}']")
    await expect(page.locator("#chat-sub")).to_contain_text("not started", timeout=TIMEOUT_MS)
    await phone.send("/start")
    await expect(phone.last_bot_message()).to_be_visible(timeout=TIMEOUT_MS)
    await expect(owner.locator(".not-started")).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(page.locator("#chat-sub")).not_to_contain_text("not started", timeout=TIMEOUT_MS)


async def test_new_activity_wizard_at_390px_in_six_steps_with_more_options(phone: WebChat, tmp_path: Path) -> None:
    """#17: the coordinator's /newactivity on a phone: every choice a button, the summary, 更多选项."""
    page = phone.page
    await phone.open(ZHANG_WEI)  # coordinator of 陆家嘴金融城新联会 (bot/demo_data.toml)
    await phone.send("/newactivity")
    await phone.see("活动标题")
    await phone.send("金融城读书会")
    start = await phone.see("北京时间")
    await assert_screenshot_not_blank(page, tmp_path / "webchat-390-newactivity-time.png")
    await phone.press(start, "明天 14:00")
    await phone.see("活动在哪里举行")
    await phone.send("陆家嘴图书馆")
    await phone.press(await phone.see("限多少人参加"), "20")
    picker = await phone.see("谁可以报名")
    await phone.press(picker, "我负责的全部组织")
    summary = await phone.see("确认发布")
    await expect(summary).to_contain_text("名额：20", timeout=TIMEOUT_MS)
    for part in ("#text", "#send-btn"):
        await assert_inside_viewport(page, page.locator(part))
    await assert_screenshot_not_blank(page, tmp_path / "webchat-390-newactivity-summary.png")
    await phone.press(summary, "更多选项")
    await expect(summary).to_contain_text("更多选项：", timeout=TIMEOUT_MS)
    await assert_screenshot_not_blank(page, tmp_path / "webchat-390-newactivity-more.png")
    await phone.press(summary, "提醒")
    await expect(summary.locator(".inline-kb button", has_text="不提醒")).to_be_visible(timeout=TIMEOUT_MS)
    await phone.press(summary, "不提醒")
    await expect(summary).to_contain_text("提醒：无", timeout=TIMEOUT_MS)
    await phone.press(summary, "发布")
    await expect(summary).to_contain_text("已发布", timeout=TIMEOUT_MS)
