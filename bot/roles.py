"""Roles and scope: the one place that decides who may do what.

Owners come from configuration. Coordinators are appointed to groups; a coordinator of a
group sees its whole subtree, and a coordinator of a root group (the head association)
sees everything. Every coordinator action, including each button press (whose data can be
forged), calls `RoleService.actor` afresh and checks it with `require_*`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from enum import IntEnum

from bot.scope import Scope
from storage.roles import RoleRepo

__all__ = ["AccessDenied", "Actor", "Role", "RoleService", "Scope"]

# Telegram's service identities: never a person, let alone an admin.
ANONYMOUS_ADMIN_ID = 1087968824
SERVICE_NOTIFICATIONS_ID = 777000
SERVICE_IDS = frozenset({ANONYMOUS_ADMIN_ID, SERVICE_NOTIFICATIONS_ID, 136817688})
COORDINATORS_FRESH_S = 10.0  # how old `RoleService.at_least_coordinator`'s list of coordinators may be


class Role(IntEnum):
    STRANGER = 0
    PENDING = 1
    MEMBER = 2
    COORDINATOR = 3
    OWNER = 4


class AccessDenied(Exception):
    """The caller may not do this (role or scope)."""


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: Role
    member_id: int | None = None
    member_status: str | None = None
    scope: Scope = field(default_factory=Scope)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def is_coordinator(self) -> bool:
        return self.role >= Role.COORDINATOR

    @property
    def is_member(self) -> bool:
        return self.member_status == "active"


class RoleService:
    def __init__(self, repo: RoleRepo, owners: tuple[int, ...]) -> None:
        self._repo = repo
        self._owners = frozenset(owners)
        self._coordinators: frozenset[int] | None = None  # see `at_least_coordinator`
        self._coordinators_at = 0.0
        self._coordinators_lock = asyncio.Lock()

    async def actor(self, user_id: int) -> Actor:
        status = None if user_id in SERVICE_IDS else await self._repo.member_status(user_id)
        member_id = status.member_id if status else None
        member_status = status.status if status else None
        if user_id in SERVICE_IDS:
            return Actor(user_id, Role.STRANGER)
        if user_id in self._owners:
            return Actor(user_id, Role.OWNER, member_id, member_status, Scope(everything=True))
        groups = await self._repo.coordinator_groups(user_id)
        if groups:
            if any(g.is_root for g in groups):
                scope = Scope(everything=True)
            else:
                scope = Scope(paths=tuple(g.path for g in groups))
            return Actor(user_id, Role.COORDINATOR, member_id, member_status, scope)
        if member_status == "active":
            return Actor(user_id, Role.MEMBER, member_id, member_status)
        if member_status == "pending":
            return Actor(user_id, Role.PENDING, member_id, member_status)
        return Actor(user_id, Role.STRANGER, member_id, member_status)

    async def at_least_coordinator(self, user_id: int) -> bool:
        """`actor(user_id).role >= Role.COORDINATOR` as of at most `COORDINATORS_FRESH_S` ago.

        From a list of coordinators read at most every `COORDINATORS_FRESH_S` seconds: a first contact
        per member (an acknowledgement storm) costs no read. A hint, not an authorisation: every
        action still checks `actor`.
        """
        if user_id in SERVICE_IDS:
            return False
        if user_id in self._owners:
            return True
        if self._coordinators is None or time.monotonic() - self._coordinators_at > COORDINATORS_FRESH_S:
            async with self._coordinators_lock:  # one read for the callers arriving meanwhile
                if self._coordinators is None or time.monotonic() - self._coordinators_at > COORDINATORS_FRESH_S:
                    at = time.monotonic()
                    self._coordinators = frozenset(await self._repo.active_coordinator_user_ids())
                    self._coordinators_at = at
        return user_id in self._coordinators

    async def coordinator_user_ids(self) -> list[int]:
        return await self._repo.coordinator_user_ids()

    def is_owner(self, user_id: int) -> bool:
        return user_id in self._owners and user_id not in SERVICE_IDS

    @property
    def owners(self) -> frozenset[int]:
        return self._owners

    # Checks ---------------------------------------------------------------------------------
    @staticmethod
    def require_owner(actor: Actor) -> None:
        if not actor.is_owner:
            raise AccessDenied("owner only")

    @staticmethod
    def require_coordinator(actor: Actor) -> None:
        if not actor.is_coordinator:
            raise AccessDenied("coordinator only")

    async def require_group(self, actor: Actor, group_id: int) -> None:
        """The caller coordinates this group (or an ancestor of it)."""
        self.require_coordinator(actor)
        if not actor.scope.covers_path(await self._repo.group_path(group_id)):
            raise AccessDenied("group outside scope")

    async def require_member_in_scope(self, actor: Actor, member_id: int) -> None:
        """The member belongs (or asked to belong) to a group in the caller's scope."""
        self.require_coordinator(actor)
        if actor.scope.everything:
            return
        if not actor.scope.covers_any(await self._repo.member_group_paths(member_id)):
            raise AccessDenied("member outside scope")
