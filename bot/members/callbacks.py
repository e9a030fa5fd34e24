"""Every button of the members feature, declared once (bot/callbacks.py).

The data strings are those the bot used before the declarations, so buttons already in chats
keep working (only the registration's group picker "Done" moved to ``reg:grpok``).
"""

from __future__ import annotations

from bot.callbacks import Button
from bot.members.models import CATEGORIES, CHILD_KINDS, DIRECTORY_STATUSES, EXPERTISE

# --- registration and profile editing (one set of steps, two flows) ---------------------------------
EDITABLE_FIELDS = ("name", "category", "organisation", "position", "expertise", "interests", "phone", "groups")
REG_CONSENT = Button("reg", "consent", answer=("yes", "no"))
REG_NAME_TG = Button("reg", "name", source=("tg",))
REG_CATEGORY = Button("reg", "cat", category=CATEGORIES)
REG_SKIP = Button("reg", "skip")
REG_EXPERTISE = Button("reg", "exp", tag=(*EXPERTISE, "done"))
REG_GROUP = Button("reg", "grp", id=int)
REG_GROUPS_DONE = Button("reg", "grpok")
REG_CONFIRM = Button("reg", "ok")
REG_EDIT = Button("reg", "edit")
REG_EDIT_FIELD = Button("reg", "editf", field=EDITABLE_FIELDS)
REG_CLOSE = Button("reg", "close")

# --- a member's own data -----------------------------------------------------------------------------
MY_GROUPS = Button("prof", "groups")
LEAVE_GROUP = Button("prof", "lv", id=int)
LEAVE_ASK = Button("prof", "quit")
LEAVE_CONFIRM = Button("prof", "quitok")
FORGET_CONFIRM = Button("prof", "forgetok")
PROFILE_FRESH = Button("prof", "fresh")
PROFILE_UPDATE = Button("prof", "upd")

# --- groups ------------------------------------------------------------------------------------------
GROUP_LIST = Button("grp", "list")
GROUP_OPEN = Button("grp", "open", id=int)
GROUP_NEW = Button("grp", "new", parent=int)  # 0: a new root group
GROUP_RENAME = Button("grp", "ren", id=int)
GROUP_ARCHIVE = Button("grp", "arch", id=int)
GROUP_APPROVAL = Button("grp", "appr", id=int)
GROUP_MOVE = Button("grp", "mv", id=int)
GROUP_MOVE_TO = Button("grpmv", id=int, parent=int)
GROUP_KIND = Button("grpkind", parent=int, kind=CHILD_KINDS)

# --- invites -----------------------------------------------------------------------------------------
INVITE_NEW = Button("inv", "new", group=int)
INVITE_LIST = Button("inv", "list", page=int)
INVITE_MAKE = Button("invmk", group=int, days=int, uses=int)
INVITE_REVOKE = Button("invrv", id=int)

# --- approvals ---------------------------------------------------------------------------------------
APPROVALS = Button("appr", "list")
APPROVALS_PAGE = Button("appr", "pg", page=int)  # /approvals beyond the first 10
APPROVE = Button("appr", "ok", member=int, group=int)
REJECT = Button("appr", "rej", member=int, group=int)

# --- coordinators ------------------------------------------------------------------------------------
COORDINATORS = Button("coord", "list")
COORDINATOR_ADD = Button("coord", "add")
COORDINATOR_SET = Button("coordset", user=int, group=int)
COORDINATOR_REMOVE = Button("coordrm", user=int, group=int)
COORDINATOR_FROM_CARD = Button("coordpick", member=int)

# --- the member directory ----------------------------------------------------------------------------
DIRECTORY_PAGE = Button("dirp", page=int)
MEMBER_CARD = Button("dir", "card", id=int)
MESSAGE_MEMBER = Button("dir", "msg", id=int)
DIRECTORY_SEARCH = Button("dir", "search")
FILTER_MENU = Button("dirf", "menu", x=("-",))
FILTER_CATEGORY = Button("dirf", "cat", value=CATEGORIES)
FILTER_EXPERTISE = Button("dirf", "exp", value=EXPERTISE)
FILTER_STATUS = Button("dirf", "st", value=DIRECTORY_STATUSES)
FILTER_GROUP = Button("dirf", "grp", id=int)
FILTER_CLEAR = Button("dirf", "clear", x=("-",))
