"""Basic commands: /start, /help, /language, /cancel; guards; the global error handler."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from functools import partial

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    Message,
    MessageEntity,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import callbacks
from bot.callbacks import Button
from bot.config import LANGUAGES, Language
from bot.context import Ctx, LiaisonApp
from bot.i18n import Catalog, Translator
from bot.roles import SERVICE_IDS, Role
from bot.services import Services
from handlers import keyboards as kb
from handlers.base import actor, answer, edit_or_reply, flood_limited, reply, translator, with_retry_after
from handlers.buttons import on, press
from handlers.menu import CommandMenu

log = logging.getLogger(__name__)

# Commands must not re-run when an old message is edited.
COMMAND_FILTER = ~filters.UpdateType.EDITED_MESSAGE
GUARD_GROUP = -3  # then chat policy (-2, handlers/chatpolicy.py) and open flows (-1, handlers/flows.py)
LANGUAGE_NAMES: dict[Language, str] = {"zh-Hans": "中文", "en": "English"}
START_PAYLOAD_HANDLERS = "start_payload_handlers"


# --- guards (group -3) -------------------------------------------------------------------------
class FloodGuard:
    """Per-user limit on updates per minute; excess gets one polite reply, then silence.

    Within the limit, a user who sends more than `BURST` updates in `BURST_WINDOW_S` seconds is
    paced: their next updates are handled `PACE_S` apart. Only their own queue waits (one user's
    updates are handled in order), so one flood cannot spend the bot's whole sending budget
    (about 30 messages/s for all chats together) and slow everyone else down.
    """

    BURST = 10
    BURST_WINDOW_S = 5.0
    PACE_S = 0.2

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}
        self._next_slot: dict[int, float] = {}

    def allow(self, user_id: int, now: float) -> bool:
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True

    def pace(self, user_id: int, now: float) -> float:
        """Seconds this user's update should wait before it is handled (0 within the burst)."""
        window = self._seen.get(user_id, ())
        recent = sum(1 for seen in window if now - seen <= self.BURST_WINDOW_S)
        if recent <= self.BURST:
            self._next_slot.pop(user_id, None)
            return 0.0
        slot = max(now, self._next_slot.get(user_id, now))
        self._next_slot[user_id] = slot + self.PACE_S
        return slot - now

    def should_warn(self, user_id: int, now: float) -> bool:
        last = self._warned.get(user_id)
        if last is not None and now - last < 60:
            return False
        self._warned[user_id] = now
        return True


async def guard(update: Update, context: Ctx) -> None:
    """Drop updates from Telegram's service identities and from flooding users."""
    user = update.effective_user
    if user is None:
        return
    if user.id in SERVICE_IDS or (update.effective_message and update.effective_message.sender_chat):
        raise ApplicationHandlerStop
    flood = context.ui.flood
    now = time.monotonic()
    if not flood.allow(user.id, now):
        if flood.should_warn(user.id, now) and update.effective_chat and update.effective_chat.type == "private":
            tr = await translator(update, context)
            if update.callback_query:
                await answer(update, str(tr("common.slow_down")))
            else:
                await reply(update, tr("common.slow_down"))
        elif update.callback_query:
            await answer(update)
        raise ApplicationHandlerStop
    delay = flood.pace(user.id, now)
    if delay > 0:
        await asyncio.sleep(delay)
    if update.effective_chat and update.effective_chat.type == "private":
        await context.services.users.touch(user.id, user.language_code)
        await _menu_on_first_contact(context, user.id)


async def _menu_on_first_contact(context: Ctx, user_id: int) -> None:
    """An owner or coordinator writing for the first time since start-up gets their role's menu
    (at start-up it could not be set for a chat that did not exist yet)."""
    seen = context.ui.menus_set  # per application: a module dict keyed by id(bot) outlived its bot
    if user_id in seen:
        return
    roles = context.services.roles
    # Most contacts are members' (an acknowledgement storm: one per pressing member): a list of
    # coordinators at most seconds old tells them apart without a read, and they are not marked
    # seen, so one appointed later (whose menu could not be set then) gets it on a later contact.
    if not await roles.at_least_coordinator(user_id):
        return
    seen.add(user_id)
    who = await roles.actor(user_id)
    if who.role >= Role.COORDINATOR:
        lang = await context.services.users.chosen_language(user_id)
        await set_chat_commands(context, user_id, who.role, lang, context.ui.menu)


# --- /start ---------------------------------------------------------------------------------------
async def start(update: Update, context: Ctx) -> None:
    """Welcome; a deep-link payload (``/start PAYLOAD``) goes to the feature that owns its prefix."""
    if context.args:
        payload = context.args[0]
        handlers = context.ui.start_payloads
        for prefix, handler in handlers.items():
            if payload.startswith(prefix):
                await handler(update, context, payload[len(prefix) :])
                return
        tr = await translator(update, context)
        await reply(update, tr("start.bad_link"))
        return
    await show_home(update, context)


# A home button that runs a command: the same handler (and guided flow) as typing it.
HOME_COMMAND = Button("hc", name=str)
# The coordinators' first home rows: (text key, command).
COORDINATOR_HOME = (
    ("home.notice", "notice"),
    ("home.newactivity", "newactivity"),
    ("home.queue", "queue"),
    ("home.approvals", "approvals"),
)
_COVERED_BY_COORDINATOR_HOME = {"members.home.approvals"}


async def show_home(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    who = await actor(update, context)
    user = update.effective_user
    name = user.first_name if user else ""
    rows = home_rows(tr, who.role, context.ui.menu)
    key = "start.welcome_member" if who.role >= Role.MEMBER else "start.welcome"
    text = tr(key, name=name) + "\n\n" + tr("start.hint_help")
    await edit_or_reply(update, text, kb.inline(rows) if rows else None)


def home_rows(tr: Translator, role: Role, menu: CommandMenu) -> list[list[InlineKeyboardButton]]:
    """The home buttons of `role`: a coordinator's four daily tasks first, then the features' own."""
    known = {c.command for c in menu.for_role(role)}
    rows: list[list[InlineKeyboardButton]] = []
    skip: set[str] = set()
    if role >= Role.COORDINATOR:
        first = [
            kb.button(str(tr(key)), HOME_COMMAND.data(name=command))
            for key, command in COORDINATOR_HOME
            if command in known
        ]
        rows += kb.columns(first)
        skip = _COVERED_BY_COORDINATOR_HOME
    buttons = [kb.button(str(tr(b.text_key)), b.callback_data) for b in menu.home_for(role) if b.text_key not in skip]
    return rows + kb.columns(buttons)


async def home_command(update: Update, context: Ctx) -> None:
    """A home button standing for a command: handled exactly as if the command had been typed
    (its entry point starts the same guided flow), for commands the caller's role may use."""
    pressed = press(update, HOME_COMMAND)
    query = update.callback_query
    if pressed is None or query is None or query.message is None:
        return
    who = await actor(update, context)
    name = pressed.text("name")
    if name not in {c.command for c in context.ui.menu.for_role(who.role)}:
        tr = await translator(update, context)
        await answer(update, str(tr("common.not_allowed")), alert=True)
        return
    await answer(update)
    typed = Message(
        message_id=query.message.message_id,
        date=query.message.date,
        chat=query.message.chat,
        from_user=query.from_user,
        text=f"/{name}",
        entities=[MessageEntity(MessageEntity.BOT_COMMAND, 0, len(name) + 1)],
    )
    typed.set_bot(context.bot)
    await context.application.process_update(Update(update.update_id, message=typed))


async def home_button(update: Update, context: Ctx) -> None:
    await answer(update)
    await show_home(update, context)


# --- /help ------------------------------------------------------------------------------------------
# /help by task: (group key, its commands). Commands of no group are listed last ("more").
HELP_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("help.group.notices", ("notice", "notices", "survey", "surveys")),
    ("help.group.activities", ("activities", "checkin", "newactivity", "manage", "editactivity", "capacity")),
    ("help.group.members", ("members", "approvals", "invite", "groups", "coordinators")),
    ("help.group.feedback", ("feedback", "myfeedback", "queue", "digest")),
    ("help.group.ledger", ("myrecord", "stats", "summary", "export", "audit")),
    ("help.group.mine", ("profile", "mydata", "forget", "language")),
    ("help.group.basics", ("start", "help", "cancel")),
)


async def help_command(update: Update, context: Ctx) -> None:
    """What the caller may do, grouped by task (a member sees 活动/反馈/我的资料, a coordinator also
    通知/成员/台账); every line a command and what it is for, no syntax to learn."""
    tr = await translator(update, context)
    who = await actor(update, context)
    menu = context.ui.menu
    allowed = {c.command: c for c in menu.for_role(who.role)}
    lines: list[str] = [tr(f"help.intro.{who.role.name.lower()}")]
    listed: set[str] = set()
    for group_key, commands in (*HELP_GROUPS, ("help.group.more", tuple(allowed))):
        mine = [allowed[c] for c in commands if c in allowed and c not in listed]
        if not mine:
            continue
        lines += ["", f"<b>{tr(group_key)}</b>"]
        lines += [f"/{c.command} — {tr(c.description_key)}" for c in mine]
        listed.update(c.command for c in mine)
    await reply(update, "\n".join(lines))


# --- /language -------------------------------------------------------------------------------------
async def language_command(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    buttons = [kb.button(LANGUAGE_NAMES[lang], callbacks.LANGUAGE.data(code=lang)) for lang in LANGUAGES]
    await reply(update, tr("language.choose"), kb.inline([buttons]))


async def language_chosen(update: Update, context: Ctx) -> None:
    pressed = press(update, callbacks.LANGUAGE)
    if pressed is None or update.effective_user is None:
        await answer(update)
        return
    lang: Language = "en" if pressed.text("code") == "en" else "zh-Hans"
    await context.services.users.set_language(update.effective_user.id, lang)
    tr = context.services.catalog.for_lang(lang)
    await answer(update, str(tr("language.changed")))
    await edit_or_reply(update, tr("language.changed"))
    who = await actor(update, context)
    await set_chat_commands(context, update.effective_user.id, who.role, lang, context.ui.menu)


# --- /cancel -----------------------------------------------------------------------------------------
async def cancel(update: Update, context: Ctx) -> int:
    """Leave any conversation (used as every conversation's fallback too)."""
    tr = await translator(update, context)
    context.user_data.clear() if context.user_data is not None else None
    await reply(update, tr("common.cancelled"), kb.remove_keyboard())
    return ConversationHandler.END


async def nothing_to_cancel(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    await reply(update, tr("common.nothing_to_cancel"), kb.remove_keyboard())


def cancel_fallback() -> CommandHandler[Ctx, int]:
    """Every ConversationHandler lists this among its fallbacks."""
    return CommandHandler("cancel", cancel, filters=COMMAND_FILTER)


async def noop(update: Update, context: Ctx) -> None:
    await answer(update)


async def stale_button(update: Update, context: Ctx) -> None:
    """A button no handler recognises (old, forged, or from a finished flow)."""
    tr = await translator(update, context)
    await answer(update, str(tr("common.stale_button")), alert=False)


async def unknown_command(update: Update, context: Ctx) -> None:
    tr = await translator(update, context)
    await reply(update, tr("common.unknown_command"))


async def unrecognised(update: Update, context: Ctx) -> None:
    """Free text the bot does not understand: say so, with the home buttons to go on from."""
    tr = await translator(update, context)
    rows = home_rows(tr, (await actor(update, context)).role, context.ui.menu)
    await reply(update, tr("common.unrecognised"), kb.inline(rows) if rows else None)


# --- command menus ----------------------------------------------------------------------------------
def commands_for(catalog: Catalog, menu: CommandMenu, role: Role, lang: Language) -> list[BotCommand]:
    return [BotCommand(c.command, str(catalog.text(lang, c.description_key))[:256]) for c in menu.for_role(role)]


async def set_chat_commands(context: Ctx, chat_id: int, role: Role, lang: Language | None, menu: CommandMenu) -> None:
    """Give one chat its role's menu in its chosen language.

    Telegram prefers a chat menu for the client's language over the language-neutral one, so
    every variant (neutral, zh, en) is overwritten with the chosen language's commands.
    """
    catalog = context.services.catalog
    commands = commands_for(catalog, menu, role, lang or catalog.default)
    for code in (None, *(_tg_code(language) for language in LANGUAGES)):
        try:
            await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id), language_code=code)
        except (BadRequest, Forbidden) as exc:
            log.info("could not set commands for chat %s: %s", chat_id, exc.message)
            return


async def publish_command_menus(app: LiaisonApp, services: Services, menu: CommandMenu) -> None:
    """At start-up: member menus for all private chats, role menus for coordinators and owners."""
    catalog = services.catalog
    scope = BotCommandScopeAllPrivateChats()
    await app.bot.set_my_commands(commands_for(catalog, menu, Role.MEMBER, catalog.default), scope=scope)
    for lang in LANGUAGES:
        await app.bot.set_my_commands(
            commands_for(catalog, menu, Role.MEMBER, lang), scope=scope, language_code=_tg_code(lang)
        )
    privileged = set(services.roles.owners) | set(await services.roles.coordinator_user_ids())
    for user_id in sorted(privileged):
        who = await services.roles.actor(user_id)
        stored = await services.users.chosen_language(user_id)
        for lang in LANGUAGES if stored is None else (stored,):
            try:
                await app.bot.set_my_commands(
                    commands_for(catalog, menu, who.role, lang),
                    scope=BotCommandScopeChat(user_id),
                    language_code=None if stored else _tg_code(lang),
                )
            except (BadRequest, Forbidden) as exc:
                log.info("no command menu for user %s yet: %s", user_id, exc.message)


def _tg_code(lang: Language) -> str:
    return "zh" if lang == "zh-Hans" else "en"


# --- errors ----------------------------------------------------------------------------------------
async def on_error(update: object, context: Ctx) -> None:
    """Log with context, tell the user something went wrong, notify owners (throttled)."""
    error = context.error
    if isinstance(error, RetryAfter) and isinstance(update, Update):
        # A reply or edit given up on Telegram's flood limit (longer than handlers wait out):
        # not a bug, so no owner alert; the user is asked to try again later.
        await flood_limited(update, context, error, "reply")
        return
    where = ""
    if isinstance(update, Update):
        user = update.effective_user
        where = f"update {update.update_id} from user {user.id if user else '-'}"
    log.error("error while handling %s: %r", where or "a job", error, exc_info=error)
    services = context.application.bot_data.services
    if services is None:
        return
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == "private":
        try:
            tr = await translator(update, context)
            if update.callback_query:
                await answer(update, str(tr("common.error")))
            else:
                await reply(update, tr("common.error"))
        except TelegramError:
            log.warning("could not tell the user about the error")
    ui = context.application.bot_data.ui
    now = time.monotonic()
    if ui is None or now - ui.last_owner_alert < 60:
        return
    ui.last_owner_alert = now
    for owner in services.roles.owners:
        try:
            lang = await services.users.language(owner, None)
            text = services.catalog.text(lang, "error.owner_notice", what=where or "job", error=type(error).__name__)
            await with_retry_after(partial(context.bot.send_message, owner, text, parse_mode="HTML"))
        except TelegramError:
            log.warning("could not notify owner %s", owner)


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    """Guards first, basic commands, and the catch-alls that must come last (see app.py)."""
    app.add_handler(TypeHandler(Update, guard), group=GUARD_GROUP)
    # /help and /language work anywhere, even in the middle of a conversation (its state is kept).
    app.add_handler(CommandHandler("help", help_command, filters=COMMAND_FILTER))
    app.add_handler(CommandHandler("language", language_command, filters=COMMAND_FILTER))
    app.add_handler(on(callbacks.LANGUAGE, language_chosen))
    app.add_handler(on(callbacks.HOME, home_button))
    app.add_handler(on(HOME_COMMAND, home_command))
    app.add_handler(on(callbacks.NOOP, noop))
    menu.add("start", "cmd.start")
    menu.add("help", "cmd.help")
    menu.add("language", "cmd.language")
    menu.add("cancel", "cmd.cancel")
    app.add_error_handler(on_error)


def register_catch_alls(app: LiaisonApp) -> None:
    """Registered last in group 0: answers what no feature handled (private chats only).

    /start and /cancel are here, after the features, so a conversation's own entry point
    (registration starts on /start) and its /cancel fallback take precedence.
    """
    private = filters.ChatType.PRIVATE & COMMAND_FILTER
    app.add_handler(CommandHandler("start", start, filters=COMMAND_FILTER))
    app.add_handler(CommandHandler("cancel", nothing_to_cancel, filters=COMMAND_FILTER))
    app.add_handler(CallbackQueryHandler(stale_button))
    app.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(private & ~filters.COMMAND, unrecognised))
