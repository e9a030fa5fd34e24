"""The members feature: registration, the organisation (groups, invites, approvals, coordinators,
the directory), a member's profile and data rights.

    registration.py  /start, /register, invite links for newcomers (guided flow "registration")
    form.py          the profile form's steps, shared by registration and /profile
    profile.py       /profile (guided flow "profile"), My groups, leaving, the profile check
    mydata.py        /mydata (every feature's part) and /forget
    groups.py        /groups          invites.py   /invite, invite links of members
    approvals.py     /approvals       coordinators.py  /coordinators
    directory.py     /members         prompts.py   the one-line text questions of those screens
    common.py        checks, summaries, the member card, messages to others (imports no sibling)
"""

from __future__ import annotations

from datetime import timedelta

from bot.context import LiaisonApp
from bot.services import Services
from handlers.feature import DueWork, Feature
from handlers.members import (
    approvals,
    coordinators,
    directory,
    groups,
    invites,
    mydata,
    profile,
    prompts,
    registration,
)
from handlers.menu import CommandMenu


def register(app: LiaisonApp, menu: CommandMenu) -> None:
    # Registration's /start comes before common's /start catch-all (registered after every feature).
    registration.register(app)
    prompts.register(app)
    profile.register(app, menu)
    groups.register(app, menu)
    invites.register(app, menu)
    approvals.register(app, menu)
    coordinators.register(app, menu)
    directory.register(app, menu)
    mydata.register(app, menu)


async def profile_checks(services: Services) -> int:
    return await services.members.run_due_refresh()


FEATURE = Feature(
    "members",
    register,
    due=(DueWork("profile_check", timedelta(hours=6), profile_checks),),
    my_data=mydata.my_data,
)

__all__ = ["FEATURE"]
