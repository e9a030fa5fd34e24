"""Opening the coordinator's Mini App from Telegram (only when `LIAISON_WEBAPP_URL` is set).

- the chat's menu button (setChatMenuButton with MenuButtonWebApp) for owners and coordinators,
  set at start-up and again whenever they use /desk;
- /desk: `web_app` buttons straight into each view (台账, 通知, 活动, 反馈, 成员).
`desk_button(services, lang, view)` gives other features the same button for their messages.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    MenuButtonWebApp,
    Update,
    WebAppInfo,
)
from telegram.error import TelegramError
from telegram.ext import CommandHandler

from bot.context import Ctx, LiaisonApp
from bot.i18n import Translator
from bot.roles import Role
from bot.webapp.views import SendFile
from handlers.base import actor, reply, translator
from handlers.feature import Feature
from handlers.menu import CommandMenu

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

VIEWS = ("ledger", "notices", "activities", "feedback", "members")


def view_url(services: Services, view: str | None = None) -> str | None:
    """The Mini App's address, opening `view` ("notices", or one item: "notices/12")."""
    base = services.settings.webapp_url
    if base is None:
        return None
    if view is None:
        return base
    name, _, item = view.partition("/")
    return f"{base}?view={name}" + (f"&id={int(item)}" if item else "")


def desk_button(services: Services, text: str, view: str | None = None) -> InlineKeyboardButton | None:
    """A `web_app` button opening the Mini App (at `view`), or None when no Mini App is configured."""
    url = view_url(services, view)
    return None if url is None else InlineKeyboardButton(text, web_app=WebAppInfo(url))


def desk_rows(services: Services, tr: Translator, view: str,
              update: Update | None = None) -> list[list[InlineKeyboardButton]]:
    """`[[desk_button]]` ("Open in the workspace") to add to a keyboard, or `[]`: without
    LIAISON_WEBAPP_URL, and outside a private chat (Telegram accepts web_app buttons only there)."""
    chat = None if update is None else update.effective_chat
    if chat is not None and chat.type != chat.PRIVATE:
        return []
    button = desk_button(services, str(tr("webapp.open")), view)
    return [] if button is None else [[button]]


def with_desk(markup: InlineKeyboardMarkup, services: Services, tr: Translator, view: str,
              update: Update | None = None) -> InlineKeyboardMarkup:
    """`markup` with the workspace row under it (see `desk_rows`)."""
    return InlineKeyboardMarkup([*markup.inline_keyboard, *desk_rows(services, tr, view, update)])


def file_sender(bot: Bot) -> SendFile:
    """How the Mini App sends a file into someone's chat (exports to the coordinator, a member's
    attachments to themselves): (attachment type, Telegram file id) of what was sent."""

    async def send(chat_id: int, name: str, data: bytes, caption: str, photo: bool) -> tuple[str, str]:
        if photo:
            sent = await bot.send_photo(chat_id, InputFile(data, filename=name), caption=caption[:1024])
            return "photo", sent.photo[-1].file_id if sent.photo else ""
        sent = await bot.send_document(chat_id, InputFile(data, filename=name), caption=caption[:1024])
        return "document", sent.document.file_id if sent.document else ""

    return send


async def set_menu_button(bot: Bot, services: Services, user_id: int) -> bool:
    url = view_url(services)
    if url is None:
        return False
    lang = await services.users.language(user_id)
    text = str(services.catalog.for_lang(lang)("webapp.menu"))
    try:
        await bot.set_chat_menu_button(chat_id=user_id, menu_button=MenuButtonWebApp(text, WebAppInfo(url)))
    except TelegramError as exc:  # e.g. the user never opened the chat: try again at their next /desk
        log.info("menu button for %s not set (%s)", user_id, type(exc).__name__)
        return False
    return True


async def on_startup(app: LiaisonApp) -> None:
    services = app.bot_data.services
    if services is None or services.settings.webapp_url is None:
        return
    people = {*services.roles.owners, *await services.roles.coordinator_user_ids()}
    for user_id in sorted(people):
        await set_menu_button(app.bot, services, user_id)


async def desk(update: Update, context: Ctx) -> None:
    services = context.services
    tr = await translator(update, context)
    who = await actor(update, context)
    if not who.is_coordinator:
        await reply(update, tr("common.not_allowed"))
        return
    if services.settings.webapp_url is None:
        await reply(update, tr("webapp.not_configured"))
        return
    buttons = [desk_button(services, str(tr(f"webapp.view.{view}")), view) for view in VIEWS]
    rows = [[b] for b in buttons if b is not None]
    await set_menu_button(context.bot, services, who.user_id)
    await reply(update, tr("webapp.desk"), InlineKeyboardMarkup(rows))


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    app.add_handler(CommandHandler("desk", desk))
    menu.add("desk", "cmd.desk", Role.COORDINATOR)


FEATURE = Feature("webapp", register, on_startup=(on_startup,))
