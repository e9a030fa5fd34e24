"""Every button of questionnaires, declared once (bot/callbacks.py); data strings as before."""

from __future__ import annotations

from bot.callbacks import Button
from bot.members.models import CATEGORIES as CATEGORIES  # the members feature owns the codes
from bot.surveys.models import KINDS

ALL = "-"  # no group / no category chosen: the whole scope, every category

# /survey building
QUESTION_KIND = Button("sv", "qk", kind=(*KINDS, "end"))
TARGET = Button("sv", "tg", group=str)
CATEGORY = Button("sv", "ct", category=(ALL, *CATEGORIES))
DEADLINE = Button("sv", "dl", days=int)
PUBLISH = Button("sv", "pub", choice=("yes", "no"))

# answering: the invitation's Start, then one button per choice ("t<i>" toggles, "d" is Done)
START = Button("sv", "go", id=int)
ANSWER = Button("sv", "a", survey=int, question=int, value=str)

# /surveys results and exports
RESULTS = Button("sv", "r", id=int)
XLSX = Button("sv", "x", id=int)
CSV = Button("sv", "c", id=int)


def group_of(value: str) -> int | None:
    return int(value) if value != ALL and value.isascii() and value.isdigit() and len(value) <= 18 else None
