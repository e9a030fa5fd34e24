"""The one conversation factory: every guided flow follows the same rules.

- persistent (conversation state in the database), per chat, commands ignore edited messages;
- one restart-recovery mechanism: the step journal (`handlers.steps.Flow`), protecting every state;
- **any command ends the open flow** (except /help and /language, which only inform and are
  answered beside it): before a command (or a button that starts another flow)
  is handled, every open flow of the chat other than the one it belongs to is ended, with one
  short line saying so ("the unfinished X was closed; its draft is kept" where the flow keeps a
  draft). ``/cancel`` ends every open flow at once.

    conversation = guided(app, FLOW, title_key="flow.notice", entry_points=[...], states={...})

The flows are listed in `UiState.flows`; `end_open_flows` (group -1, see bot/app.py) enforces the
rules above.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, CommandHandler, ConversationHandler, TypeHandler

from bot.context import Ctx, LiaisonApp
from handlers import steps
from handlers.base import reply, translator

log = logging.getLogger(__name__)

Handler = BaseHandler[Update, Ctx, Any]
# Commands that only inform (they start nothing): answered beside an open flow, which stays open.
NEUTRAL_COMMANDS = frozenset({"help", "language"})
Abandon = Callable[[Update, Ctx], Awaitable[None]]


@dataclass
class GuidedFlow:
    """A registered guided flow: its conversation, its name for people, and what ending it keeps."""

    conversation: ConversationHandler[Ctx]
    journal: steps.Flow
    title_key: str
    keeps_draft: bool
    own_commands: frozenset[str]
    on_abandon: Abandon | None

    def is_open(self, update: Update) -> bool:
        try:
            key = self.conversation._get_key(update)
        except RuntimeError:  # an update without a chat or user
            return False
        return self.conversation._conversations.get(key) is not None

    def starts_with(self, update: Update) -> bool:
        """Whether `update` is one of this flow's entry points (a command or a start button)."""
        return any(_matches(h, update) for h in self.conversation.entry_points)

    async def end(self, update: Update, context: Ctx) -> None:
        key = self.conversation._get_key(update)
        self.conversation._update_state(ConversationHandler.END, key)
        self.journal.clear(context)
        if self.on_abandon is not None:
            await self.on_abandon(update, context)


def _matches(handler: Handler, update: Update) -> bool:
    check = handler.check_update(update)
    return check is not None and check is not False


def _commands_of(handlers: Sequence[Handler]) -> set[str]:
    names: set[str] = set()
    for handler in handlers:
        if isinstance(handler, CommandHandler):
            names |= {c.lower() for c in handler.commands}
    return names


def guided(
    app: LiaisonApp,
    flow: steps.Flow | str,
    *,
    title_key: str,
    entry_points: Sequence[Handler],
    states: dict[object, list[Handler]],
    fallbacks: Sequence[Handler] = (),
    keeps_draft: bool = False,
    on_abandon: Abandon | None = None,
) -> ConversationHandler[Ctx]:
    """Build, protect and list one guided flow (add the returned conversation with app.add_handler).

    `flow` is the flow's step journal (or just its name: a journal without askers, which still
    keeps the conversation from taking an answer as the wrong step's). The conversation's name
    is the journal's name. /cancel is always among the fallbacks.
    """
    from handlers.common import cancel_fallback  # common registers the basic commands; no import loop

    journal = flow if isinstance(flow, steps.Flow) else steps.Flow(flow)
    conversation: ConversationHandler[Ctx] = ConversationHandler(
        entry_points=list(entry_points),
        states={state: list(handlers) for state, handlers in states.items()},
        fallbacks=[cast(Handler, cancel_fallback()), *fallbacks],
        name=journal.name,
        persistent=True,
        per_chat=True,
        per_user=True,
        per_message=False,
        allow_reentry=True,
    )
    journal.protect(app, conversation)
    inside = [h for handlers in states.values() for h in handlers] + list(fallbacks)
    ui = app.bot_data.ui
    if ui is None:
        raise RuntimeError("guided flows are registered after the application's UiState exists")
    if any(f.journal.name == journal.name for f in ui.flows):
        raise ValueError(f"flow {journal.name} registered twice")
    ui.flows.append(
        GuidedFlow(conversation, journal, title_key, keeps_draft, frozenset(_commands_of(inside)), on_abandon)
    )
    return conversation


def command_of(update: Update) -> str | None:
    """The command a new message starts with (``/notice@bot args`` -> ``notice``), lower-cased."""
    message = update.message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    head = message.text[1:].split(maxsplit=1)[0] if len(message.text) > 1 else ""
    return head.split("@", 1)[0].lower() or None


async def end_open_flows(update: Update, context: Ctx) -> None:
    """Group -1: a command (or another flow's start button) ends the chat's open flows first."""
    flows = context.ui.flows
    if not flows or update.effective_chat is None or update.effective_user is None:
        return
    command = command_of(update)
    if command in NEUTRAL_COMMANDS or (command is None and update.callback_query is None):
        return
    open_flows = [f for f in flows if f.is_open(update)]
    if not open_flows:
        return
    if command == "cancel":
        await _cancel_all(update, context, open_flows)
        raise ApplicationHandlerStop
    if command is not None:
        to_end = [f for f in open_flows if command not in f.own_commands]
    else:
        # A button: only one that starts a flow ends the others (every other press belongs to a screen).
        starting = [f for f in flows if f.starts_with(update)]
        if not starting:
            return
        to_end = [f for f in open_flows if f not in starting]
    if not to_end:
        return
    tr = await translator(update, context)
    for flow in to_end:
        await flow.end(update, context)
        log.info("flow %s ended by %s", flow.journal.name, f"/{command}" if command else "a start button")
        key = "flow.ended_draft_kept" if flow.keeps_draft else "flow.ended"
        await reply(update, tr(key, flow=str(tr(flow.title_key))))


async def _cancel_all(update: Update, context: Ctx, open_flows: list[GuidedFlow]) -> None:
    from handlers.common import cancel

    for flow in open_flows:
        key = flow.conversation._get_key(update)
        flow.conversation._update_state(ConversationHandler.END, key)
    await cancel(update, context)


def register(app: LiaisonApp) -> None:
    app.add_handler(TypeHandler(Update, end_open_flows), group=-1)
