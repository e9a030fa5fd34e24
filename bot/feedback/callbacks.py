"""Every button of the feedback loop, declared once (bot/callbacks.py).

Data strings are those of before the declarations (stale buttons in chats keep working), except
the assignee choice, which has its own action now (``fb:to:<item>:<user>``).
"""

from __future__ import annotations

from bot.callbacks import Button
from bot.feedback.models import KINDS, STATUSES

ALL = "-"  # a filter that is not set

# /feedback (and the home button)
NEW = Button("fb", "new")
KIND = Button("fb", "k", kind=KINDS)
ATTACH_DONE = Button("fb", "ad")
ANONYMOUS = Button("fb", "an", anonymous=("0", "1"))
CONFIRM = Button("fb", "ok", choice=("yes", "no"))

# the member's answer message
HELPFUL = Button("fb", "h", id=int, helpful=("0", "1"))
REOPEN = Button("fb", "re", id=int)

# coordinators: queue, item, actions
QUEUE = Button("fbq", status=(ALL, *STATUSES), kind=(ALL, *KINDS), group=str, page=int)
EXPORT = Button("fb", "exp")
VIEW = Button("fb", "v", id=int)
TAKE = Button("fb", "take", id=int)
START_WORK = Button("fb", "prog", id=int)
CLOSE = Button("fb", "close", id=int)
FILES = Button("fb", "files", id=int)
ASSIGNEES = Button("fb", "asg", id=int)
ASSIGN_TO = Button("fb", "to", id=int, user=int)
NOTE = Button("fb", "note", id=int)
ANSWER = Button("fb", "ans", id=int)
ANSWER_SEND = Button("fb", "anss")  # under the answer's preview (the text is in the open flow)
ANSWER_EDIT = Button("fb", "anse")

# /digest
DIGEST_PREVIEW = Button("fbd", "p", group=str)
DIGEST_SEND = Button("fbd", "s", group=str)


def group_of(value: str) -> int | None:
    """A group filter's value: None for all groups (or a malformed value)."""
    return int(value) if value != ALL and value.isascii() and value.isdigit() and len(value) <= 18 else None
