"""Step journal of guided conversations: never take an answer as the wrong step's value.

python-telegram-bot saves a conversation's new state only after the state callback returned,
i.e. after the bot already asked the next question (bot/app.py::flush_persistence). A process
killed in between restarts one step BEHIND what the chat shows: the answer to question N+1
would be taken as step N's value (a date typed for "when?" stored as the title).

The journal closes that gap. Before a flow sends the prompt of its next state it calls
``await FLOW.enter(update, context, STATE)``: the state is written into ``user_data`` (under
``JOURNAL``, one entry per flow) and the user's data is made durable at once, so the journal is
ahead of, never behind, the conversation state PTB saves. ``FLOW.protect(app, conversation)``
puts a guard first in every state of the conversation: when the journal names another state
than the one the conversation is in, the conversation is behind; the guard does not let the
input reach the state's handlers, says politely that the last step was interrupted and asks the
journal's step again (the flow's "asker" for that state), returning that state so PTB catches up.

Every callback of a protected conversation is also wrapped so the journal follows the state it
returns (a flow that forgot an ``enter`` stays consistent, only unprotected for that step), and
ending the conversation clears the flow's entry (/cancel clears all of ``user_data`` anyway).
Commands and the conversation's fallbacks (/cancel, a Cancel button) always pass the guard.

The journal guards steps, not messages: a flow ended and started again is in the same step, and a
press on the ENDED instance's message (its "what kind?" picker) would be taken by the new one.
So the wrapped callbacks also note the messages with buttons that the open instance showed
(`handlers.base.collecting_shown`; an entry point starts the list afresh), under ``SHOWN`` in
``user_data``, and a second guard (`Stale`, first in every state) answers a press on another,
older message of the chat as a stale button when the press would reach the flow (a state's
handler or a fallback), without touching the draft. A message newer than every one noted passes:
it may be one the instance showed just before a crash lost the note (the same window as above).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, ConversationHandler, filters

from bot.context import Ctx, LiaisonApp
from handlers.base import answer, collecting_shown, reply, translator

log = logging.getLogger(__name__)

JOURNAL = "steps"  # user_data key: {flow name: state the flow asked last}
SHOWN = "steps_shown"  # user_data key: {flow name: [[chat id, message id], ...] the open instance showed}
SHOWN_KEEP = 50  # the newest messages noted per flow

# Re-ask a state's question; returns the state the conversation is in afterwards.
Asker = Callable[[Update, Ctx, int], Awaitable[object]]
Callback = Callable[[Update, Ctx], Awaitable[Any]]


def journal_of(user_data: dict[str, Any] | None, flow: str) -> object | None:
    """The state `flow` asked last according to `user_data` (None: nothing recorded)."""
    journal = user_data.get(JOURNAL) if isinstance(user_data, dict) else None
    return journal.get(flow) if isinstance(journal, dict) else None


def shown_of(user_data: dict[str, Any] | None, flow: str) -> list[list[int]]:
    """The messages ([chat id, message id]) the open instance of `flow` showed, oldest first."""
    shown = user_data.get(SHOWN) if isinstance(user_data, dict) else None
    noted = shown.get(flow) if isinstance(shown, dict) else None
    return noted if isinstance(noted, list) else []


class Flow:
    """One protected conversation: its name, and how to ask each of its states again."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.askers: dict[object, Asker] = {}

    def asks(self, *states: int) -> Callable[[Asker], Asker]:
        """Decorator: the function asks the question of `states` again (after an interruption)."""

        def register(asker: Asker) -> Asker:
            for state in states:
                self.askers[state] = asker
            return asker

        return register

    # --- the journal -----------------------------------------------------------------------------
    def current(self, context: Ctx) -> object | None:
        return journal_of(context.user_data, self.name)

    def record(self, context: Ctx, state: object) -> None:
        """Note `state` in memory (written with the rest of user_data after the update)."""
        data = context.user_data
        if data is None:
            return
        journal = data.get(JOURNAL)
        if not isinstance(journal, dict):
            journal = {}
            data[JOURNAL] = journal
        journal[self.name] = state

    def clear(self, context: Ctx) -> None:
        data = context.user_data
        if data is None:
            return
        for key in (JOURNAL, SHOWN):
            entries = data.get(key)
            if isinstance(entries, dict):
                entries.pop(self.name, None)
                if not entries:
                    data.pop(key, None)

    def note_shown(self, context: Ctx, messages: list[tuple[int, int]], *, fresh: bool = False) -> None:
        """Note the messages the open instance showed (`fresh`: a new instance, forget the old ones)."""
        data = context.user_data
        if data is None or not (messages or fresh):
            return
        shown = data.get(SHOWN)
        if not isinstance(shown, dict):
            shown = {}
            data[SHOWN] = shown
        noted = [] if fresh else [m for m in shown_of(data, self.name) if isinstance(m, list)]
        noted += [[chat, message] for chat, message in messages if [chat, message] not in noted]
        shown[self.name] = noted[-SHOWN_KEEP:]

    async def enter(self, update: Update, context: Ctx, state: int) -> int:
        """Record that the flow now asks `state` and make it durable BEFORE the question is sent.

        Writes the user's whole user_data (the flow's draft as it is now, and the journal) through
        the application's persistence, which writes only what changed. Returns `state`.
        """
        self.record(context, state)
        user = update.effective_user
        persistence = context.application.persistence
        if user is not None and persistence is not None and context.user_data is not None:
            await persistence.update_user_data(user.id, context.user_data)
        return state

    # --- wiring ----------------------------------------------------------------------------------
    def protect(self, app: LiaisonApp, conversation: ConversationHandler[Ctx]) -> ConversationHandler[Ctx]:
        """Guard every state of `conversation` and keep the journal in step with its callbacks."""
        fallbacks = list(conversation.fallbacks)
        for handler in conversation.entry_points:
            self._follow(handler, entry=True)
        for handler in fallbacks:
            self._follow(handler)
        for state, handlers in conversation.states.items():
            if not isinstance(state, int):
                continue
            for handler in handlers:
                self._follow(handler)
            handlers.insert(0, Behind(self, app, state, fallbacks))
            handlers.insert(0, Stale(self, app, handlers, fallbacks))
        return conversation

    def _follow(self, handler: BaseHandler[Update, Ctx, Any], *, entry: bool = False) -> None:
        callback: Callback = handler.callback
        if getattr(callback, "_steps_follow", False):
            return

        @wraps(callback)
        async def followed(update: Update, context: Ctx) -> Any:
            with collecting_shown() as messages:
                result = await callback(update, context)
            if result == ConversationHandler.END:
                self.clear(context)
                return result
            if isinstance(result, int) and result != self.current(context):
                self.record(context, result)
            self.note_shown(context, messages, fresh=entry and isinstance(result, int))
            return result

        followed._steps_follow = True  # type: ignore[attr-defined]
        handler.callback = followed

    async def catch_up(self, update: Update, context: Ctx) -> object:
        """The conversation is behind the journal: do not consume the input, ask the journal's step."""
        state = self.current(context)
        asker = self.askers.get(state)
        tr = await translator(update, context)
        await answer(update)
        log.info("flow %s behind its journal (%s): asking again", self.name, state)
        await reply(update, tr("steps.interrupted"))
        if asker is None or not isinstance(state, int):  # checked by Behind.check_update
            return None
        with collecting_shown() as messages:
            result = await asker(update, context, state)
        if result == ConversationHandler.END:
            self.clear(context)
        elif isinstance(result, int):
            self.record(context, result)
            self.note_shown(context, messages)
        return result

    async def stale_press(self, update: Update, context: Ctx) -> None:
        """A press on a message of an ended instance of this flow: stale; the open one is untouched."""
        tr = await translator(update, context)
        log.info("flow %s: a press on a message of an ended instance, answered as stale", self.name)
        await answer(update, str(tr("common.stale_button")))


class Behind(BaseHandler[Update, Ctx, object]):
    """First handler of each protected state: matches only when the journal names another state.

    A handler's check sees only the update, so the journal is read from the application's
    user_data (the same dict the callbacks get as ``context.user_data``).
    """

    def __init__(self, flow: Flow, app: LiaisonApp, state: int, fallbacks: list[BaseHandler[Update, Ctx, Any]]):
        super().__init__(flow.catch_up)
        self.flow = flow
        self.app = app
        self.state = state
        self.fallbacks = fallbacks

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.effective_user is None:
            return False
        if update.callback_query is None and (update.message is None or filters.COMMAND.check_update(update)):
            return False  # commands (/cancel, /help, ...) keep their meaning
        recorded = journal_of(self.app.user_data.get(update.effective_user.id), self.flow.name)
        if recorded is None or recorded == self.state or recorded not in self.flow.askers:
            return False
        return not any(fallback.check_update(update) for fallback in self.fallbacks)


class Stale(BaseHandler[Update, Ctx, object]):
    """First handler of each protected state: a press on a message the open instance did not show.

    Matches a button press that would reach the flow (one of the state's handlers or a fallback
    takes it) on a message of the chat older than the newest one the open instance showed and not
    among those it showed: a message of an ended instance (or of another screen). No note (a
    conversation from before the notes, or one whose instance showed nothing yet): no judgement.
    """

    def __init__(
        self,
        flow: Flow,
        app: LiaisonApp,
        handlers: list[BaseHandler[Update, Ctx, Any]],
        fallbacks: list[BaseHandler[Update, Ctx, Any]],
    ):
        super().__init__(flow.stale_press)
        self.flow = flow
        self.app = app
        self.handlers = handlers  # the state's list (this guard and Behind included, skipped)
        self.fallbacks = fallbacks

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.effective_user is None or update.callback_query is None:
            return False
        message = update.callback_query.message
        if message is None:
            return False
        chat_id, message_id = message.chat.id, message.message_id
        noted = shown_of(self.app.user_data.get(update.effective_user.id), self.flow.name)
        here = [m[1] for m in noted if isinstance(m, list) and len(m) == 2 and m[0] == chat_id]
        if not here or message_id in here or message_id > max(here):
            return False
        takers = [h for h in self.handlers if not isinstance(h, Stale | Behind)] + self.fallbacks
        return any(_takes(handler, update) for handler in takers)


def _takes(handler: BaseHandler[Update, Ctx, Any], update: Update) -> bool:
    check = handler.check_update(update)
    return check is not None and check is not False
