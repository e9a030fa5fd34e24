"""Shared pieces of the browser tests of the sandbox web chat (Playwright + Debian's /usr/bin/chromium)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Locator, Page, ViewportSize, async_playwright, expect

from bot.cli import start_sandbox_bot
from bot.clock import FakeClock
from bot.config import Settings
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 8000
VIEWPORT: ViewportSize = {"width": 1100, "height": 720}


@dataclass
class WebChat:
    page: Page
    tg: FakeTelegram
    runtime: BotRuntime

    async def open(self, user_id: int) -> None:
        if await self.page.locator("#drawer-btn").is_visible():  # a narrow screen: the user list is a drawer
            await self.page.click("#drawer-btn")
            await drawer_settled(self.page, open_=True)
        await self.page.click(f"#user-list li[data-user-id='{user_id}']")
        await expect(self.page.locator("#chat-sub")).to_contain_text(f"user id {user_id}", timeout=TIMEOUT_MS)

    async def send(self, text: str) -> None:
        await self.page.fill("#text", text)
        await self.page.press("#text", "Enter")

    def bot_messages(self) -> Locator:
        return self.page.locator("#messages .msg:not(.out)")

    def last_bot_message(self) -> Locator:
        return self.bot_messages().last

    def bot_message(self, text: str) -> Locator:
        """The latest bot message containing ``text`` (its buttons included)."""
        return self.bot_messages().filter(has=self.page.locator(".text", has_text=text)).last

    async def see(self, text: str) -> Locator:
        """Wait for a bot message containing ``text``; the locator keeps pointing at it after edits."""
        message = self.bot_message(text)
        await expect(message).to_be_visible(timeout=TIMEOUT_MS)
        message_id = await message.get_attribute("data-message-id")
        return self.page.locator(f"#messages .msg[data-message-id='{message_id}']")

    async def press(self, message: Locator, button: str) -> None:
        await message.locator(".inline-kb button", has_text=button).first.click()


async def drawer_settled(page: Page, *, open_: bool) -> None:
    """Wait for the drawer's slide to finish (open: at the left edge; closed: wholly off-screen)."""
    test = ">= 0" if open_ else "<= 0"
    edge = "left" if open_ else "right"
    await page.wait_for_function(
        f"() => document.getElementById('sidebar').getBoundingClientRect().{edge} {test}", timeout=TIMEOUT_MS)


@asynccontextmanager
async def web_chat(tg: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path,
                   users: int = 4, viewport: ViewportSize = VIEWPORT, locale: str = "en-US") -> AsyncIterator[WebChat]:
    """The sandbox as `liaison-bot sandbox --demo` runs it, with the page open in headless Chromium."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium package "
                    "(`python3 dev.py test` installs it as root; or: apt-get install chromium)")
    tg.set_rate_limits(False)  # tests post several bot messages per second directly; flood rules are tested elsewhere
    runtime = await start_sandbox_bot(tg, settings, tmp_path / "liaison.db", demo=True, clock=clock)
    try:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
                args=[*CHROMIUM_ARGS, f"--lang={locale}"], viewport=viewport, locale=locale,
                accept_downloads=True)
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                await page.goto(tg.base + "/")
                await expect(page.locator("#user-list li")).to_have_count(users, timeout=TIMEOUT_MS)
                yield WebChat(page, tg, runtime)
            finally:
                await context.close()
    finally:
        await runtime.stop()


async def assert_screenshot_not_blank(page: Page, path: Path) -> None:
    await page.screenshot(path=str(path))
    image = Image.open(path).convert("RGB")
    size = page.viewport_size or VIEWPORT
    assert image.size == (size["width"], size["height"])
    colours = image.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50
    non_white = sum(count for count, rgb in colours if rgb != (255, 255, 255))
    # not a blank page (a long white message bubble may fill most of it)
    assert non_white > image.size[0] * image.size[1] * 0.05
