"""Every button of the activities feature, declared once (bot/callbacks.py).

Services building outbox keyboards (announcements, offers, reminders, surveys) and the handlers
receiving the presses import these. The data strings are the ones the bot always sent, so
buttons already in chats keep working.
"""

from __future__ import annotations

from bot.callbacks import Button
from bot.labels import KINDS

# Members: the activity card and the messages the bot sends on its own.
SIGN_UP = Button("act", "su", id=int)
NOT_GOING = Button("act", "ng", id=int)
CANCEL_SIGNUP = Button("act", "cx", id=int)  # also "can't come" (reminder) and "decline" (offer)
ACCEPT_OFFER = Button("act", "ac", id=int)
SIGN_UP_SERIES = Button("act", "ss", id=int)
CALENDAR = Button("act", "ics", id=int)
OPEN = Button("act", "op", id=int)
CHECK_IN = Button("act", "ci", id=int)
RATE = Button("act", "rt", id=int, stars=int)
LIST_PAGE = Button("actl", page=int)

# /newactivity.
PICK_GROUP = Button("actg", id=int)
PICK_CATEGORY = Button("actc", cat=KINDS["category"])
ELIGIBILITY_DONE = Button("actd")
SURVEY_CHOICE = Button("acts", yes=("0", "1"))
PUBLISH = Button("actp", choice=("go", "no"))

# /manage and the roster view.
MANAGE_PAGE = Button("actml", page=int)
ROSTER = Button("actm", "ro", id=int)
ROSTER_PAGE = Button("actm", "rp", id=int, page=int)
ATTENDANCE = Button("actm", "att", id=int)
ATTENDANCE_PAGE = Button("actm", "ap", id=int, page=int)
SURVEY_RESULTS = Button("actm", "sv", id=int)
SURVEY_PAGE = Button("actm", "sp", id=int, page=int)
EXPORT_CSV = Button("actm", "csv", id=int)
EXPORT_XLSX = Button("actm", "xlsx", id=int)
CHECKIN_CODE = Button("actm", "code", id=int)
CLOSE = Button("actm", "close", id=int)
CANCEL_ACTIVITY = Button("actm", "cancel", id=int)
MARK_ATTENDED = Button("actm", "mk", id=int, member=int)

# The guided edit (short field codes in the data; see handlers/activities/edit.py).
EDIT_FIELD_CODES = ("ti", "de", "pl", "st", "en", "dl", "ca")
EDIT_MENU = Button("acte", id=int)
EDIT_FIELD = Button("acte", "f", id=int, field=EDIT_FIELD_CODES)
EDIT_SAVE = Button("acte", "ok", id=int, field=EDIT_FIELD_CODES)
EDIT_DISCARD = Button("acte", "no", id=int)

# Starts /notice with this activity's participants as the audience. Declared (and handled) by the
# notices feature; here only to build the data (not registered, so it is not declared twice).
NOTIFY_PARTICIPANTS = Button("ntc", "pre", register=False, id=int)

# Cancelling an activity asks first (how many will be told; an optional reason for their message).
CANCEL_CONFIRM = Button("actm", "cx", id=int)
CANCEL_KEEP = Button("actm", "keep", id=int)
# Manual check-in outside the check-in window, confirmed.
MARK_CONFIRM = Button("actm", "mkc", id=int, member=int)

# /newactivity: a quick answer of a step (its `pick`-th button), taken as if it had been typed.
QUICK_STEPS = ("desc", "place", "cap", "dl", "rem", "off", "rep", "start")
QUICK = Button("actq", step=QUICK_STEPS, pick=int)
# /newactivity: "everyone I may address" at the who step, in one tap.
WHO_ALL = Button("actw")
# /newactivity's 更多选项 under the summary: the menu, one option's screen, a value chosen with a
# button (`val` is a preset token, see handlers/activities/more.py), and back to the summary.
MORE_OPTIONS = ("desc", "end", "dl", "rem", "rep", "chk", "sv", "off", "cat")
MORE = Button("actx")
MORE_OPEN = Button("actx", "o", opt=MORE_OPTIONS)
MORE_SET = Button("actx", "s", opt=MORE_OPTIONS, val=str)
MORE_BACK = Button("actx", "b")
