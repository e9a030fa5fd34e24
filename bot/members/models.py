"""What the members feature stores and returns: members, groups, invites, and their enums.

Storage modules return these dataclasses; services and handlers use them. The enum-like values
(category, statuses, group kinds, expertise tags) are shown to people only through `bot.labels`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot import labels

CATEGORIES = ("enterprise", "intermediary", "freelancer", "new_media", "other")
EXPERTISE = (
    "law",
    "accounting",
    "tax",
    "finance",
    "psychology",
    "education",
    "medicine",
    "it",
    "new_media",
    "design",
    "other",
)
MEMBER_STATUSES = ("active", "pending", "left", "erased")
MEMBERSHIP_STATUSES = ("active", "pending", "left", "rejected")
GROUP_KINDS = ("head", "sub", "local", "club")
CHILD_KINDS = ("sub", "local", "club")  # kinds a new sub-group may have
DIRECTORY_STATUSES = ("active", "pending", "left")  # the directory's status filter

# Label kinds (bot/labels.py): every one of these values is shown as `label.<kind>.<value>`.
CATEGORY = "category"
EXPERTISE_TAG = "expertise"
MEMBER_STATUS = "member_status"
MEMBERSHIP_STATUS = "membership_status"
GROUP_KIND = "group_kind"
labels.register(CATEGORY, CATEGORIES)
labels.register(EXPERTISE_TAG, EXPERTISE)
labels.register(MEMBER_STATUS, MEMBER_STATUSES)
labels.register(MEMBERSHIP_STATUS, MEMBERSHIP_STATUSES)
labels.register(GROUP_KIND, GROUP_KINDS)


class InviteUnavailable(Exception):
    """The invite is unknown, revoked, expired or used up."""


class TreeError(Exception):
    """A change that would break the tree (unknown parent, moving under itself)."""


@dataclass(frozen=True)
class Member:
    id: int
    user_id: int | None
    status: str
    name: str | None
    category: str | None
    organisation: str | None
    position: str | None
    phone: str | None
    expertise_note: str | None
    interests: str | None
    consent_at: datetime | None
    registered_at: datetime | None
    updated_at: datetime | None
    profile_confirmed_at: datetime | None
    expertise: tuple[str, ...] = ()


@dataclass(frozen=True)
class Membership:
    group_id: int
    group_name: str
    path: str
    status: str
    reason: str | None
    kind: str = "local"


@dataclass(frozen=True)
class Registration:
    user_id: int
    name: str
    category: str
    organisation: str | None
    position: str | None
    phone: str | None
    expertise: tuple[str, ...]
    expertise_note: str | None
    interests: str | None
    group_ids: tuple[int, ...]
    invite_token: str | None = None


@dataclass(frozen=True)
class PendingRequest:
    member_id: int
    user_id: int | None
    name: str | None
    group_id: int
    group_name: str
    category: str | None = None
    organisation: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class SearchFilter:
    paths: tuple[str, ...] | None  # None: everything
    name: str | None = None
    category: str | None = None
    group_id: int | None = None
    expertise: str | None = None
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    id: int
    parent_id: int | None
    name: str
    kind: str
    path: str
    requires_approval: bool
    archived: bool

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


@dataclass(frozen=True)
class GroupSpec:
    """One node of a tree to import."""

    name: str
    kind: str
    requires_approval: bool = False
    children: tuple[GroupSpec, ...] = ()


@dataclass(frozen=True)
class Appointment:
    user_id: int
    group_id: int
    group_name: str
    member_name: str | None


@dataclass(frozen=True)
class Invite:
    id: int
    token: str
    group_id: int
    group_name: str
    created_by: int
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked: bool

    def usable(self, now: datetime) -> bool:
        if self.revoked or (self.expires_at is not None and self.expires_at <= now):
            return False
        return self.max_uses is None or self.uses < self.max_uses


@dataclass(frozen=True)
class ScopeGroup:
    group_id: int
    path: str
    is_root: bool


@dataclass(frozen=True)
class MemberStatus:
    member_id: int
    status: str
