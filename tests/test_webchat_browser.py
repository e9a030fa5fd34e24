"""The sandbox web chat driven in real headless Chromium (Debian's /usr/bin/chromium via Playwright).

Each test starts the fake Telegram, the demo association and the real bot the way
`liaison-bot sandbox --demo` does, opens the page and acts like a person demoing the bot.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import expect
from telegram import KeyboardButton, ReplyKeyboardMarkup
from telegram.constants import ParseMode

from bot.clock import FakeClock
from bot.config import Settings
from bot.i18n import Catalog
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID
from tests.webchat_helpers import TIMEOUT_MS, WebChat, assert_screenshot_not_blank, web_chat

pytestmark = pytest.mark.browser

ZHANG_WEI, LI_NA, ALICE = 9100001, 9100002, 9100003  # demo personas (bot/demo_data.toml)
Chat = WebChat


def heading(role: str) -> str:
    """The bold /help heading for a role in Chinese, as the catalogue has it."""
    return re.sub(r"<[^>]+>", "", str(Catalog.load().text("zh-Hans", f"help.intro.{role}")))


@pytest.fixture
async def chat(tg: FakeTelegram, settings: Settings, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Chat]:
    async with web_chat(tg, settings, clock, tmp_path) as opened:
        yield opened


async def test_page_lists_owner_and_demo_personas(chat: Chat) -> None:
    users = chat.page.locator("#user-list li")
    await expect(users.first).to_contain_text("Owner")
    await expect(users.first.locator(".badge")).to_have_text("owner")
    await expect(chat.page.locator(f"#user-list li[data-user-id='{ZHANG_WEI}']")).to_contain_text("coordinator")
    await expect(chat.page.locator("#group-list li")).to_contain_text(["陆家嘴金融城新联会 工作群"])


async def test_start_reply_is_rendered(chat: Chat) -> None:
    await chat.open(LI_NA)
    await chat.send("/start")
    await expect(chat.page.locator("#messages .msg.out").last).to_contain_text("/start", timeout=TIMEOUT_MS)
    await expect(chat.last_bot_message()).to_contain_text("您好，李娜", timeout=TIMEOUT_MS)


async def test_help_renders_bold_html_as_elements(chat: Chat) -> None:
    await chat.open(ALICE)
    await chat.send("/help")
    heading = chat.last_bot_message().locator(".text b").first  # /help is grouped: the intro, then sections
    await expect(heading).to_have_text("Member commands", timeout=TIMEOUT_MS)
    await expect(chat.last_bot_message()).to_contain_text("/language")


async def test_language_button_edit_shows_live(chat: Chat) -> None:
    await chat.open(LI_NA)
    await chat.send("/language")
    picker = chat.last_bot_message()
    await expect(picker).to_contain_text("请选择界面语言", timeout=TIMEOUT_MS)
    await picker.locator(".inline-kb button", has_text="English").click()
    await expect(chat.page.locator("#toast")).to_have_text("Language set to English.", timeout=TIMEOUT_MS)
    await expect(picker).to_contain_text("Language set to English.", timeout=TIMEOUT_MS)
    await expect(picker.locator(".meta")).to_contain_text("edited")
    await expect(chat.bot_messages()).to_have_count(1)
    await chat.send("/start")
    await expect(chat.last_bot_message()).to_contain_text("Hello, 李娜", timeout=TIMEOUT_MS)


async def test_owner_coordinator_and_member_can_be_switched_between(chat: Chat) -> None:
    await chat.open(OWNER_ID)
    await chat.send("/help")
    await expect(chat.last_bot_message().locator("b").first).to_have_text(heading("owner"), timeout=TIMEOUT_MS)
    await chat.open(ZHANG_WEI)
    await chat.send("/help")
    await expect(chat.last_bot_message().locator("b").first).to_have_text(heading("coordinator"), timeout=TIMEOUT_MS)
    await chat.open(ALICE)
    await chat.send("/help")
    await expect(chat.last_bot_message().locator("b").first).to_have_text("Member commands", timeout=TIMEOUT_MS)
    await chat.open(OWNER_ID)  # each chat keeps its own history
    await expect(chat.bot_messages()).to_have_count(1)
    await expect(chat.last_bot_message()).to_contain_text(heading("owner"))


async def test_command_menu_shows_the_bots_commands_and_sends_one(chat: Chat) -> None:
    await chat.open(ALICE)
    await chat.page.click("#menu-btn")
    menu = chat.page.locator("#command-menu")
    await expect(menu).to_be_visible()
    await expect(menu.locator("[data-command='language']")).to_contain_text("Change language")
    await menu.locator("[data-command='language']").click()
    await expect(chat.last_bot_message()).to_contain_text("Choose your language", timeout=TIMEOUT_MS)


async def test_new_user_created_on_the_page_talks_to_the_bot(chat: Chat) -> None:
    await chat.page.click("#new-user summary")
    await chat.page.fill("#nu-name", "Bob Smith")
    await chat.page.select_option("#nu-lang", "en")
    await chat.page.click("#nu-create")
    await expect(chat.page.locator("#chat-title")).to_contain_text("Bob Smith", timeout=TIMEOUT_MS)
    await chat.send("/start")
    await expect(chat.last_bot_message()).to_contain_text("Hello, Bob", timeout=TIMEOUT_MS)
    assert any(user.to_user()["first_name"] == "Bob" for user in chat.tg.users)


async def test_user_text_is_shown_literally_not_as_html(chat: Chat) -> None:
    await chat.open(ALICE)
    hostile = "<img src=x onerror=alert(1)> & <b>not bold</b>"
    await chat.send(hostile)
    mine = chat.page.locator("#messages .msg.out").last
    await expect(mine).to_contain_text(hostile, timeout=TIMEOUT_MS)
    assert await mine.locator("img, b").count() == 0


async def test_bot_edits_deletes_documents_and_photos_show_live(chat: Chat) -> None:
    bot = chat.runtime.app.bot  # type: ignore[union-attr]
    await chat.open(ALICE)
    await chat.send("/start")
    await expect(chat.bot_messages()).to_have_count(1, timeout=TIMEOUT_MS)
    sent = await bot.send_message(ALICE, "<i>draft</i> <code>v1</code>", parse_mode=ParseMode.HTML)
    await expect(chat.last_bot_message().locator("i")).to_have_text("draft", timeout=TIMEOUT_MS)
    await bot.edit_message_text("<b>final</b>", chat_id=ALICE, message_id=sent.message_id, parse_mode=ParseMode.HTML)
    await expect(chat.last_bot_message().locator("b")).to_have_text("final", timeout=TIMEOUT_MS)
    await bot.delete_message(ALICE, sent.message_id)
    await expect(chat.bot_messages()).to_have_count(1, timeout=TIMEOUT_MS)
    await bot.send_document(ALICE, b"name,phone\n", filename="ledger.csv", caption="台账")
    link = chat.last_bot_message().locator(".doc a")
    await expect(link).to_have_text("ledger.csv", timeout=TIMEOUT_MS)
    async with chat.page.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    assert Path(await download.path()).read_bytes() == b"name,phone\n"
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(png, format="PNG")
    await bot.send_photo(ALICE, png.getvalue(), caption="photo")
    image = chat.last_bot_message().locator("img.photo")
    await expect(image).to_be_visible(timeout=TIMEOUT_MS)
    assert await image.evaluate("img => img.complete && img.naturalWidth > 0")


async def test_reply_keyboard_contact_button_shares_the_contact(chat: Chat) -> None:
    bot = chat.runtime.app.bot  # type: ignore[union-attr]
    await chat.open(LI_NA)
    await chat.send("/start")
    await expect(chat.bot_messages()).to_have_count(1, timeout=TIMEOUT_MS)
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("Share phone", request_contact=True)], ["Skip"]],
                                   one_time_keyboard=True)
    await bot.send_message(LI_NA, "Phone?", reply_markup=keyboard)
    await expect(chat.page.locator("#reply-keyboard button")).to_have_count(2, timeout=TIMEOUT_MS)
    await chat.page.locator("#reply-keyboard button", has_text="Share phone").click()
    await expect(chat.page.locator("#messages .msg.out .contact")).to_contain_text("+8613800", timeout=TIMEOUT_MS)
    contact = [m for m in chat.tg.user(LI_NA).chat.messages.values() if m.raw.get("contact")]
    assert contact and contact[0].raw["contact"]["user_id"] == LI_NA


async def test_sending_a_document_from_the_page_reaches_the_bot(chat: Chat, tmp_path: Path) -> None:
    await chat.open(ALICE)
    await chat.send("/start")
    await expect(chat.bot_messages()).to_have_count(1, timeout=TIMEOUT_MS)
    file = tmp_path / "minutes.txt"
    file.write_bytes(b"meeting minutes")
    await chat.page.set_input_files("#file-input", str(file))
    await expect(chat.page.locator("#messages .msg.out .doc a")).to_have_text("minutes.txt", timeout=TIMEOUT_MS)
    sent = [m for m in chat.tg.user(ALICE).chat.messages.values() if m.raw.get("document")]
    assert chat.tg.world.files[sent[0].raw["document"]["file_id"]].data == b"meeting minutes"


async def test_group_chat_shows_what_the_bot_posts(chat: Chat) -> None:
    bot = chat.runtime.app.bot  # type: ignore[union-attr]
    group = next(c for c in chat.tg.world.chats.values() if not c.is_private)
    await bot.send_message(group.id, "<b>通知</b>：周五沙龙", parse_mode=ParseMode.HTML)
    await expect(chat.page.locator(f"#group-list li[data-group-id='{group.id}'] .unread")).to_have_text(
        "1", timeout=TIMEOUT_MS)
    await chat.page.click(f"#group-list li[data-group-id='{group.id}']")
    await expect(chat.last_bot_message().locator("b")).to_have_text("通知", timeout=TIMEOUT_MS)
    await chat.page.select_option("#group-sender", str(LI_NA))
    await chat.send("收到")
    await expect(chat.page.locator("#messages .msg.out").last).to_contain_text("李娜", timeout=TIMEOUT_MS)


async def test_screenshot_is_not_blank(chat: Chat, tmp_path: Path) -> None:
    await chat.open(ZHANG_WEI)
    await chat.send("/help")
    await expect(chat.last_bot_message()).to_contain_text("/language", timeout=TIMEOUT_MS)
    await assert_screenshot_not_blank(chat.page, tmp_path / "webchat.png")


async def test_owner_created_on_the_page_gets_owner_commands(chat: Chat) -> None:
    await chat.page.click("#new-user summary")
    await chat.page.fill("#nu-name", "Second Owner")
    await chat.page.check("#nu-owner")
    await chat.page.click("#nu-create")
    await expect(chat.page.locator("#chat-sub")).to_contain_text("owner", timeout=TIMEOUT_MS)
    await chat.send("/help")
    await expect(chat.last_bot_message().locator("b").first).to_have_text(heading("owner"), timeout=TIMEOUT_MS)
