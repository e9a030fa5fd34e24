"""The composition root: builds the Application and registers every handler, in order.

Order matters inside a handler group: the first matching handler wins. The order is:
  group -3  guards (service identities, flood control, "last seen")
  group -2  chat-type policy (commands in groups get one line and a link to the private chat)
  group -1  open flows: a command ends the chat's open guided flow first (handlers/flows.py)
  group  0  basic commands, then each feature (conversations before plain commands),
            then the catch-alls that answer what nobody handled
  group 99  persistence flush (conversation progress reaches the database after each update)
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBUserWarning

from bot.config import Settings
from bot.context import BotData, Ctx, LiaisonApp
from bot.persistence import SqlitePersistence
from bot.services import Services
from bot.transport import build_request
from bot.updates import PerUserUpdateProcessor
from handlers import chatpolicy, common, flows, ledger, notices_mydata
from handlers import feedback as feedback_handlers
from handlers import surveys as survey_handlers
from handlers.activities import FEATURE as ACTIVITIES
from handlers.common import FloodGuard
from handlers.feature import Feature
from handlers.members import FEATURE as MEMBERS
from handlers.menu import CommandMenu
from handlers.notices import FEATURE as NOTICES
from handlers.router import route_buttons
from handlers.state import UiState
from handlers.webapp import FEATURE as WEBAPP
from storage.ptbstate import PtbStateRepo

# Our conversations mix message and button steps on purpose (per_message=False): the
# per-chat state is what we want, so PTB's advisory warning about it is noise.
warnings.filterwarnings("ignore", message=r"If 'per_message=False'", category=PTBUserWarning)

SANDBOX_TOKEN = "7000000:sandbox"  # noqa: S105 - the fake Telegram's public token, not a secret


def file_url_for(api_url: str) -> str:
    """Telegram's file URL beside the API URL: '.../bot' -> '.../file/bot'."""
    base = api_url.removesuffix("/")
    if base.endswith("/bot"):
        return base[: -len("bot")] + "file/bot"
    return base + "/file/bot"


def build_application(settings: Settings, services: Services, token: str | None = None) -> LiaisonApp:
    """Create the Application wired to `services` and register every handler."""
    token = token or settings.token
    if not token:
        raise ValueError("a bot token is needed to build the application")
    persistence = SqlitePersistence(PtbStateRepo(services.db), services.clock.now)
    context_types = ContextTypes(context=Ctx, bot_data=BotData)
    app: LiaisonApp = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.api_url)
        .base_file_url(file_url_for(settings.api_url))
        .context_types(context_types)
        .persistence(persistence)
        .concurrent_updates(PerUserUpdateProcessor(256))
        .request(build_request(settings.transport, connection_pool_size=128, read_timeout=10.0))  # 64 sends + answers
        .get_updates_request(build_request(settings.transport, connection_pool_size=2, read_timeout=30.0))
        .arbitrary_callback_data(False)
        .build()
    )
    menu = CommandMenu()
    app.bot_data.services = services
    app.bot_data.ui = UiState(menu=menu, flood=FloodGuard(settings.flood_per_minute))
    register_handlers(app, menu)
    return app


def register_handlers(app: LiaisonApp, menu: CommandMenu) -> None:
    """Every handler of the bot, in the order they are tried."""
    # 1. Guards and basic commands (/start, /help, /language, /cancel) and the error handler.
    common.register(app, menu)
    chatpolicy.register(app)
    flows.register(app)
    # 2. Features, each registering its conversations, commands, buttons and menu entries.
    for feature in FEATURES:
        feature.register(app, menu)
    # 3. Catch-alls: unknown commands, unrecognised text, stale or forged buttons.
    common.register_catch_alls(app)
    # 4. Persist conversation progress right after each update.
    app.add_handler(TypeHandler(Update, flush_persistence), group=99)
    # 5. Each contiguous run of button handlers becomes one router that picks candidates by the
    #    callback data's prefix (same order, same winner; a press no longer tries ~40 regexes).
    for handlers in app.handlers.values():
        handlers[:] = route_buttons(handlers)


async def flush_persistence(update: Update, context: Ctx) -> None:
    """Write what this update changed in conversations, user_data and chat_data.

    Skipped when nothing can have changed: a plain button handler (never a conversation, so no
    conversation state) handled the update, and the user's and chat's data are empty and were
    never stored. PTB's own persistence job (every second) still writes anything else pending.
    """
    if context.plain_button and not context.user_data and not context.chat_data:
        persistence = context.application.persistence
        user, chat = update.effective_user, update.effective_chat
        if isinstance(persistence, SqlitePersistence) and not persistence.holds_data_of(
            user.id if user else None, chat.id if chat else None
        ):
            return
    await context.application.update_persistence()


def _legacy(module: Any) -> Feature:
    """A feature module not yet moved to its package (register + optional on_startup)."""
    hook = getattr(module, "on_startup", None)
    return Feature(module.__name__.rsplit(".", 1)[-1], module.register, on_startup=(hook,) if hook else ())


# The features in registration order (the contract: handlers/feature.py).
FEATURES: list[Feature] = [
    MEMBERS,  # first: its registration flow takes /start from newcomers; /mydata asks every feature
    # also starts the delivery worker that drains the outbox for every feature; its /mydata part
    # (acknowledgements) lives in handlers/notices_mydata until notices' FEATURE takes it
    replace(NOTICES, my_data=notices_mydata.my_data),
    ACTIVITIES,
    feedback_handlers.FEATURE,
    survey_handlers.FEATURE,
    ledger.FEATURE,
    WEBAPP,  # the Mini App's menu button and /desk
]
