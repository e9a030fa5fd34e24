"""Activities: /newactivity (create.py), /activities and the member buttons (member.py),
/manage, rosters, exports and /capacity (manage.py), editing (edit.py), /checkin (checkin.py),
the rating survey after an activity (rating.py). Thin: parse, check the caller, call
`ActivityService` (bot/activities/), render."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.activities import callbacks as cb
from bot.context import LiaisonApp
from bot.dates import show
from bot.labels import label
from bot.roles import Role
from handlers.activities import cancel, checkin, create, edit, manage, member, rating
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
    cancel.register(app)
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


async def my_data(services: Services, member_id: int) -> dict[str, Any]:
    """The activities part of /mydata: the member's sign-ups, statuses in their words (bot/labels)."""
    history = await services.activities.signups.history(member_id)
    if not history:
        return {}
    member = await services.members.get(member_id)
    user_id = member.user_id if member is not None else None
    lang = await services.users.language(user_id) if user_id is not None else services.catalog.default
    tr = services.catalog.for_lang(lang)
    zone = services.settings.zone
    return {
        "sign_ups": [
            {
                "activity": s.title,
                "starts_at": show(s.starts_at, zone),
                "status": label(tr, "signup_status", s.status),
                "signed_up_at": show(s.signed_up_at, zone),
                "checked_in_at": show(s.checked_in_at, zone) if s.checked_in_at else None,
                "rating": s.rating,
                "comment": s.comment,
            }
            for s in history
        ]
    }


FEATURE = Feature("activities", register, due=(DueWork("due", DUE_EVERY, run_due),), my_data=my_data)
