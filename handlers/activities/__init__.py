"""Activities: /newactivity (create.py), /activities and the member buttons (member.py),
/manage, rosters, exports and /capacity (manage.py), editing (edit.py), /checkin (checkin.py),
the rating survey after an activity (rating.py). Thin: parse, check the caller, call
`ActivityService` (bot/activities/), render."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.activities import callbacks as cb
from bot.context import LiaisonApp
from bot.roles import Role
from handlers.activities import checkin, create, edit, manage, member, rating
from handlers.feature import DueWork, Feature
from handlers.menu import CommandMenu

if TYPE_CHECKING:
    from bot.services import Services

DUE_EVERY = timedelta(seconds=30)


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    # Conversations first: a press that starts or continues a flow is theirs.
    create.register(app)
    checkin.register(app)
    rating.register(app)
    edit.register(app)
    member.register(app)
    manage.register(app)
    menu.add("activities", "cmd.activities", Role.MEMBER)
    menu.add("checkin", "cmd.checkin", Role.MEMBER)
    menu.add("newactivity", "cmd.newactivity", Role.COORDINATOR)
    menu.add("manage", "cmd.manage", Role.COORDINATOR)
    menu.add("capacity", "cmd.capacity", Role.COORDINATOR)
    menu.add("editactivity", "cmd.editactivity", Role.COORDINATOR)
    menu.add_home("act.home", cb.LIST_PAGE.data(page=0), Role.MEMBER)


async def run_due(services: Services) -> None:
    """Reminders, seat offers that expire, rating surveys: whatever fell due (claimed row by row)."""
    await services.activities.run_due()


FEATURE = Feature("activities", register, due=(DueWork("due", DUE_EVERY, run_due),))
