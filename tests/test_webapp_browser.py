"""The Mini App in real headless Chromium (Debian's /usr/bin/chromium via Playwright), at 390×844.

The sandbox runs as `liaison-bot sandbox --demo` does; the page is opened the way the web chat's
panel opens it (the bot's URL plus the launch fragment the sandbox signs for the user), and once
through the panel itself (menu button and a /desk web_app button). Screenshots are saved under
the test's tmp folder (and `LIAISON_SCREENSHOTS`, if set) and checked not blank.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image
from playwright.async_api import Page, ViewportSize, async_playwright, expect

from bot.cli import start_sandbox_bot
from bot.clock import FakeClock
from bot.config import Settings
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID
from tests.webchat_helpers import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, web_chat

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}
ZHANG_WEI, LI_NA = 9100001, 9100002  # demo coordinator and member (bot/demo_data.toml)
VIEWS = {"ledger": ("台账", "Ledger"), "notices": ("通知", "Notices"), "activities": ("活动", "Activities"),
         "feedback": ("反馈", "Feedback"), "members": ("会员", "Members")}


class Phone:
    def __init__(self, tg: FakeTelegram, runtime: BotRuntime, page: Page, shots: Path) -> None:
        self.tg, self.runtime, self.page, self.shots = tg, runtime, page, shots

    async def launch(self, user_id: int, view: str = "ledger", theme: str = "light", lang: str = "zh") -> None:
        async with aiohttp.ClientSession() as session, session.get(
            f"{self.tg.base}/sandbox/api/users/{user_id}/webapp", params={"theme": theme}
        ) as resp:
            fragment = (await resp.json())["fragment"]
        await self.page.goto(f"{self.tg.base}/webapp/?view={view}{fragment}")
        await self.page.evaluate(f"localStorage.setItem('lang', '{lang}')")
        await self.page.reload()

    async def shot(self, name: str, dark: bool = False) -> None:
        path = self.shots / f"{name}.png"
        await self.page.screenshot(path=str(path))
        extra = os.environ.get("LIAISON_SCREENSHOTS")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            await self.page.screenshot(path=str(Path(extra) / f"{name}.png"))
        assert_not_blank(path, dark)


def assert_not_blank(path: Path, dark: bool) -> None:
    image = Image.open(path).convert("RGB")
    assert image.size == (PHONE["width"], PHONE["height"])
    colours = image.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 30, "an almost single-coloured screenshot"
    background = max(colours)[1]
    if dark:
        assert sum(background) < 200, f"dark theme expected, background {background}"
    else:
        assert sum(background) > 600, f"light theme expected, background {background}"
    other = sum(count for count, rgb in colours if rgb != background)
    assert other > image.size[0] * image.size[1] * 0.01, "nothing drawn on the background"


@pytest.fixture
async def phone(tg: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Phone]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    tg.set_rate_limits(False)
    runtime = await start_sandbox_bot(tg, settings, tmp_path / "liaison.db", demo=True, clock=clock)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport=PHONE, device_scale_factor=1)
                yield Phone(tg, runtime, page, tmp_path)
            finally:
                await browser.close()
    finally:
        await runtime.stop()


@pytest.mark.parametrize(("lang", "theme"), [("zh", "light"), ("en", "light"), ("zh", "dark")])
async def test_every_view_renders_at_390(phone: Phone, lang: str, theme: str) -> None:
    page = phone.page
    for view, (zh, en) in VIEWS.items():
        await phone.launch(OWNER_ID, view, theme, lang)
        tab = page.locator("#tabs button.on")
        await expect(tab).to_have_text(zh if lang == "zh" else en, timeout=TIMEOUT_MS)
        main = page.locator(f"#view[data-view='{view}']")
        await expect(main).not_to_be_empty(timeout=TIMEOUT_MS)
        if view == "ledger":
            await expect(page.locator("#c1 canvas")).to_have_count(1, timeout=TIMEOUT_MS)
            await expect(page.locator(".kpi").first).to_be_visible()
        if view == "members":
            await expect(page.locator("table tr").first).to_be_visible(timeout=TIMEOUT_MS)
        if view == "activities":
            await expect(page.locator(".card").first).to_be_visible(timeout=TIMEOUT_MS)
        await asyncio.sleep(0.3)  # chart animation
        await phone.shot(f"{view}-{lang}-{theme}", dark=theme == "dark")


async def test_ledger_drills_down_into_the_member_list(phone: Phone) -> None:
    await phone.launch(OWNER_ID, "ledger", "light", "en")
    await expect(phone.page.locator("#c2 canvas")).to_have_count(1, timeout=TIMEOUT_MS)
    await asyncio.sleep(1.2)
    box = await phone.page.locator("#c2").bounding_box()
    assert box is not None
    # The first bar (top) starts at the grid's left edge (90px).
    for y in range(int(box["y"]) + 15, int(box["y"] + box["height"]) - 25, 6):
        await phone.page.mouse.click(box["x"] + 95, y)
        if await phone.page.locator("#view[data-view='members']").count():
            break
    await expect(phone.page.locator("#view[data-view='members']")).to_be_visible(timeout=TIMEOUT_MS)
    assert await phone.page.locator("#fg").input_value() != ""


async def test_a_member_gets_their_feedback_form_not_the_coordinator_views(phone: Phone, tmp_path: Path) -> None:
    await phone.launch(LI_NA, "members", "light", "en")
    page = phone.page
    await expect(page.locator("#view[data-view='mine']")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.locator("#tabs button")).to_have_text(["My profile", "My feedback"])
    await page.select_option("#fk", "need")
    await page.fill("#ft", "A quiet room for lawyers' meetings")
    photo = tmp_path / "room.png"
    Image.new("RGB", (40, 30), (30, 120, 200)).save(photo)
    await page.set_input_files("#ff", str(photo))  # a photo from the phone, sent with the feedback
    await page.locator("#fs").click()
    await expect(page.locator("#view .card").first).to_contain_text("A quiet room", timeout=TIMEOUT_MS)
    await phone.shot("member-feedback-sent-en-light")
    # the bot sent the photo into Li Na's chat; the item keeps it like an attachment sent in the chat
    member = phone.tg.user(LI_NA)
    sent = await member.wait_for(lambda m: bool(m.photo), timeout=10)
    assert phone.runtime.services is not None
    coordinator = await phone.runtime.services.roles.actor(OWNER_ID)
    board = await phone.runtime.services.feedback.queue(coordinator, "new", None, None, 0)
    item, _ = await phone.runtime.services.feedback.view(coordinator, board.rows[0].id)
    assert item.body == "A quiet room for lawyers' meetings"
    assert item.attachments == (("photo", sent.photo[-1]["file_id"]),)


@pytest.mark.parametrize(("lang", "theme"), [("zh", "light"), ("en", "light"), ("zh", "dark")])
async def test_a_members_profile_form(phone: Phone, lang: str, theme: str) -> None:
    await phone.launch(LI_NA, "profile", theme, lang)
    page = phone.page
    await expect(page.locator("#view[data-view='profile']")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.locator("#tabs button.on")).to_have_text("我的资料" if lang == "zh" else "My profile")
    assert await page.locator("#pn").input_value() != ""
    await phone.shot(f"member-profile-{lang}-{theme}", dark=theme == "dark")
    await page.fill("#pp", "合伙人" if lang == "zh" else "Partner")
    await page.locator(".chips input[name=x]").first.check()
    await page.locator("#ps").click()
    await expect(page.locator("#saved")).not_to_be_empty(timeout=TIMEOUT_MS)
    assert phone.runtime.services is not None
    member = await phone.runtime.services.members.registered(LI_NA)
    assert member is not None and member.position == ("合伙人" if lang == "zh" else "Partner")
    await page.locator("#tabs button", has_text="我的反馈" if lang == "zh" else "My feedback").click()
    await expect(page.locator("#view[data-view='mine']")).to_be_visible(timeout=TIMEOUT_MS)
    await phone.shot(f"member-feedback-{lang}-{theme}", dark=theme == "dark")


async def test_ledger_exports_reach_the_coordinators_chat(phone: Phone) -> None:
    page = phone.page
    owner = phone.tg.user(OWNER_ID)
    await owner.send("/start")
    await owner.next_message()
    await phone.launch(OWNER_ID, "ledger", "dark", "zh")
    await expect(page.locator("#c1 canvas")).to_have_count(1, timeout=TIMEOUT_MS)
    await page.locator("#xlsx").click()
    await expect(page.locator("#sent")).to_contain_text("已发送到您与机器人的聊天：ledger-", timeout=30_000)
    workbook = await owner.wait_for(lambda m: m.document is not None, timeout=10)
    assert str(workbook.document["file_name"]).endswith(".xlsx")
    await page.locator("#pdf").click()
    await expect(page.locator("#sent")).to_contain_text(".pdf", timeout=30_000)
    await owner.wait_for(lambda m: m.document is not None and str(m.document["file_name"]).endswith(".pdf"),
                         timeout=10)
    await asyncio.sleep(0.3)
    await phone.shot("ledger-exported-zh-dark", dark=True)


async def test_roster_check_in_toggles_and_undoes(phone: Phone) -> None:
    page = phone.page
    await phone.launch(ZHANG_WEI, "activities", "light", "en")
    cards = page.locator("#view .card")
    await expect(cards.first).to_be_visible(timeout=TIMEOUT_MS)
    for i in range(await cards.count()):  # the first activity with someone on its roster
        await cards.nth(i).click()
        await expect(page.locator("#ro")).to_be_attached(timeout=TIMEOUT_MS)
        if await page.locator("#ro button[data-m]").count():
            break
        await page.locator("#back").click()
        await expect(cards.first).to_be_visible(timeout=TIMEOUT_MS)
    button = page.locator("#ro button[data-m]").first
    member = await button.get_attribute("data-m")
    await button.click()
    toggle = page.locator(f"#ro button[data-m='{member}']")
    anyway = page.locator("#ro button[data-anyway]")
    await expect(page.locator(f"#ro button[data-m='{member}'][aria-pressed='true'], #ro button[data-anyway]")
                 ).to_be_visible(timeout=TIMEOUT_MS)
    if await anyway.count():  # outside the check-in window the tap asks first, as in the chat
        await phone.shot("roster-window-en-light")
        await anyway.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT_MS)
    await phone.shot("roster-checked-en-light")
    await toggle.click()  # a second tap undoes it
    await expect(toggle).to_have_attribute("aria-pressed", "false", timeout=TIMEOUT_MS)
    rows = await phone.runtime.db.fetchall(  # type: ignore[union-attr]
        "SELECT action FROM audit_log WHERE action LIKE 'activity.%mark_attended' ORDER BY id")
    assert [r["action"] for r in rows][-2:] == ["activity.mark_attended", "activity.unmark_attended"]


async def test_compose_send_acknowledge_progress_loop(phone: Phone) -> None:
    page = phone.page
    member = phone.tg.user(LI_NA)
    await member.send("/start")  # the persona opens the chat with the bot (else nothing reaches her)
    await member.next_message()
    await phone.launch(ZHANG_WEI, "notices", "light", "en")
    await page.locator("#new").click()
    count = page.locator("#count")
    await expect(count).not_to_have_text("…", timeout=TIMEOUT_MS)
    everyone = int(await count.inner_text())
    assert everyone > 0
    first_group = page.locator("#aud input[name=g]").first
    await first_group.check()  # the live count follows the picker
    await expect(count).not_to_have_text(str(everyone), timeout=TIMEOUT_MS)
    await first_group.uncheck()
    await expect(count).to_have_text(str(everyone), timeout=TIMEOUT_MS)
    await page.fill("#txt", "Mini App notice: please confirm")
    await page.locator("#pv").click()
    await expect(page.locator("#out .preview")).to_have_text("Mini App notice: please confirm", timeout=TIMEOUT_MS)
    await page.locator("#send").dblclick()  # a double tap sends the notice once
    await expect(page.locator("#ackn")).to_have_text("0", timeout=TIMEOUT_MS)
    await asyncio.sleep(0.5)
    sent = await phone.runtime.db.fetchval(  # type: ignore[union-attr]
        "SELECT COUNT(*) FROM notices WHERE text = ?", ("Mini App notice: please confirm",))
    assert sent == 1
    await phone.shot("notice-sent-en-light")
    # A member acknowledges in the chat; the Mini App's progress shows it.
    msg = await member.wait_for(lambda m: "Mini App notice" in (m.text or ""), timeout=10)
    await member.press(msg, lambda b: str(b.get("callback_data", "")).startswith("ack:"))
    for _ in range(50):
        await page.reload()  # the list shows the notice's progress; its card opens the detail
        await page.locator("#view .card").first.click()
        text = await page.locator("#ackn").inner_text(timeout=TIMEOUT_MS)
        if text == "1":
            break
        await asyncio.sleep(0.2)
    await expect(page.locator("#ackn")).to_have_text("1")
    await phone.shot("notice-acked-en-light")


async def test_opened_through_the_web_chats_panel(tg: FakeTelegram, settings: Settings, clock: FakeClock,
                                                   tmp_path: Path) -> None:
    async with web_chat(tg, settings, clock, tmp_path) as chat:
        await chat.open(OWNER_ID)
        menu = chat.page.locator("#wa-menu")
        await expect(menu).to_contain_text("工作台", timeout=TIMEOUT_MS)
        await menu.click()
        frame = chat.page.frame_locator("#wa-frame")
        await expect(frame.locator("#tabs button.on")).to_have_text("台账", timeout=TIMEOUT_MS)
        await expect(frame.locator("#c1 canvas")).to_have_count(1, timeout=TIMEOUT_MS)
        await chat.page.locator("#wa-close").click()
        await chat.send("/desk")
        desk = await chat.see("工作台")
        await desk.locator(".web-app-btn", has_text="反馈").click()
        await expect(frame.locator("#tabs button.on")).to_have_text("反馈", timeout=TIMEOUT_MS)
        await chat.page.screenshot(path=str(tmp_path / "panel.png"))


async def test_desk_messages_open_the_panel_at_their_view(tg: FakeTelegram, settings: Settings, clock: FakeClock,
                                                          tmp_path: Path) -> None:
    """/stats, /queue and /manage carry a web_app button; the web chat opens the Mini App at that view."""
    async with web_chat(tg, settings, clock, tmp_path) as chat:
        await chat.open(OWNER_ID)
        frame = chat.page.frame_locator("#wa-frame")
        for command, tab in (("/stats", "台账"), ("/queue", "反馈"), ("/manage", "活动")):
            shown = await chat.bot_messages().count()
            await chat.send(command)
            await expect(chat.bot_messages()).to_have_count(shown + 1, timeout=TIMEOUT_MS)
            await chat.last_bot_message().locator(".web-app-btn", has_text="在工作台中打开").click()
            await expect(frame.locator("#tabs button.on")).to_have_text(tab, timeout=TIMEOUT_MS)
            await expect(frame.locator("#view")).not_to_be_empty(timeout=TIMEOUT_MS)
            await chat.page.screenshot(path=str(tmp_path / f"panel-{tab}.png"))
            await chat.page.locator("#wa-close").click()
