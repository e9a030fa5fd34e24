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
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, ConversationHandler, filters

from bot.context import Ctx, LiaisonApp
from handlers.base import answer, reply, translator

log = logging.getLogger(__name__)

JOURNAL = "steps"  # user_data key: {flow name: state the flow asked last}

# Re-ask a state's question; returns the state the conversation is in afterwards.
Asker = Callable[[Update, Ctx, int], Awaitable[object]]
Callback = Callable[[Update, Ctx], Awaitable[Any]]


def journal_of(user_data: dict[str, Any] | None, flow: str) -> object | None:
    """The state `flow` asked last according to `user_data` (None: nothing recorded)."""
    journal = user_data.get(JOURNAL) if isinstance(user_data, dict) else None
    return journal.get(flow) if isinstance(journal, dict) else None


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
        journal = data.get(JOURNAL) if data is not None else None
        if isinstance(journal, dict):
            journal.pop(self.name, None)
            if not journal and data is not None:
                data.pop(JOURNAL, None)

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
        for handler in [*conversation.entry_points, *fallbacks]:
            self._follow(handler)
        for state, handlers in conversation.states.items():
            if not isinstance(state, int):
                continue
            for handler in handlers:
                self._follow(handler)
            handlers.insert(0, Behind(self, app, state, fallbacks))
        return conversation

    def _follow(self, handler: BaseHandler[Update, Ctx, Any]) -> None:
        callback: Callback = handler.callback
        if getattr(callback, "_steps_follow", False):
            return

        @wraps(callback)
        async def followed(update: Update, context: Ctx) -> Any:
            result = await callback(update, context)
            if result == ConversationHandler.END:
                self.clear(context)
            elif isinstance(result, int) and result != self.current(context):
                self.record(context, result)
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
        result = await asker(update, context, state)
        if result == ConversationHandler.END:
            self.clear(context)
        elif isinstance(result, int):
            self.record(context, result)
        return result


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
