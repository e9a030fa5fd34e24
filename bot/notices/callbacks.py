"""Every button of notices, declared once (bot/callbacks.py): the service building the outbox's
"Got it" keyboard, the activity view's "Notify participants" and the handlers import these.

The data strings are the ones buttons already in chats carry (``ack:7``, ``ntl:v:7``, ...).
"""

from __future__ import annotations

from bot.callbacks import Button

# --- /notice composing (ntc) -----------------------------------------------------------------------
AUDIENCE_KINDS = ("all", "groups", "cats", "act", "svy")
OPTIONS = ("groups", "nudge", "urgent", "paid")
# participant status <-> its one-letter code in the data
STATUS_CODES = {"confirmed": "c", "waitlisted": "w", "attended": "a"}

COMPOSE_AUDIENCE = Button("ntc", "a", kind=AUDIENCE_KINDS)  # everyone / by group / by category / ...
COMPOSE_CANCEL = Button("ntc", "x")
COMPOSE_BACK = Button("ntc", "back")  # from a picker back to the audience question
PICK_GROUP = Button("ntc", "g", id=int)  # toggle a group
PICK_CATEGORY = Button("ntc", "c", index=int)  # toggle a category (its place in the offered list)
PICK_DONE = Button("ntc", "done")
ACTIVITY_PAGE = Button("ntc", "ap", page=int)
ACTIVITY_PICK = Button("ntc", "ai", id=int)
STATUS_PICK = Button("ntc", "as", id=int, status=tuple(STATUS_CODES.values()))
QUESTIONNAIRE_PAGE = Button("ntc", "qp", page=int)
QUESTIONNAIRE_PICK = Button("ntc", "qi", id=int)
SEND_NOW = Button("ntc", "send")
SEND_AT = Button("ntc", "when")
REPEAT = Button("ntc", "rep")
OPTION = Button("ntc", "t", name=OPTIONS)  # toggle an option of the preview
CONFIRM_SCHEDULE = Button("ntc", "ok")  # schedule with the time shown in the summary
QUICK_TIME = Button("ntc", "qt", at=int)  # a suggested sending time (minutes since 1970, UTC)
NOTIFY_PARTICIPANTS = Button("ntc", "pre", id=int)  # on an activity's management view

# --- /notices status (ntl) ---------------------------------------------------------------------------------
LIST = Button("ntl", "list")
VIEW = Button("ntl", "v", id=int)
WHO_HAS_NOT = Button("ntl", "w", id=int, page=int)
NUDGE = Button("ntl", "n", id=int)
CANCEL_NOTICE = Button("ntl", "x", id=int)  # asks first
CANCEL_CONFIRM = Button("ntl", "xy", id=int)  # "yes, cancel it"
UNREACHED = Button("ntl", "u", id=int, page=int)  # under a delivery report: who was not reached (new message)
UNREACHED_PAGE = Button("ntl", "up", id=int, page=int)  # paging that list (edits it)

# --- editing a scheduled notice --------------------------------------------------------------------------
EDIT_TEXT = Button("nte", id=int)
EDIT_TIME = Button("ntt", id=int)
CHANGE_AUDIENCE = Button("nta", id=int)

# --- members ---------------------------------------------------------------------------------------------
ACK = Button("ack", id=int)  # "Got it" under a notice and its nudges


def ack_markup(notice_id: int, label: str) -> dict[str, object]:
    """The outbox's keyboard of a notice (and its nudges) for one language's label."""
    return {"inline_keyboard": [[{"text": label, "callback_data": ACK.data(id=notice_id)}]]}
