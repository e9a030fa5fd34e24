"""The members feature's domain: models, value rules, services and button declarations.

    bot/members/models.py     what is stored and returned (dataclasses, enum values, label kinds)
    bot/members/rules.py      valid profile values and invite tokens
    bot/members/service.py    MemberService: registration, joining, approvals, data rights
    bot/members/org.py        OrgService: the group tree, invites, coordinators, the directory
    bot/members/callbacks.py  every button of the feature, declared once

Only models and rules are re-exported here (the services import bot.roles, which imports
storage.roles, which imports these models: importing the services here would make a loop).
"""

from bot.members.models import (
    CATEGORIES,
    EXPERTISE,
    Group,
    GroupSpec,
    Invite,
    InviteUnavailable,
    Member,
    Membership,
    PendingRequest,
    Registration,
    SearchFilter,
    TreeError,
)
from bot.members.rules import INVITE_PREFIX, NAME_MAX, TEXT_MAX, clean_text, new_invite_token, valid_token

__all__ = [
    "CATEGORIES",
    "EXPERTISE",
    "INVITE_PREFIX",
    "NAME_MAX",
    "TEXT_MAX",
    "Group",
    "GroupSpec",
    "Invite",
    "InviteUnavailable",
    "Member",
    "Membership",
    "PendingRequest",
    "Registration",
    "SearchFilter",
    "TreeError",
    "clean_text",
    "new_invite_token",
    "valid_token",
]
