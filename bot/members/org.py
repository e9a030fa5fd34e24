"""Organisation rules: the group tree, invites, coordinators, the member directory.

Callers check the actor's role and scope with RoleService first; the directory checks its own
filters against the scope (a group filter outside it would reveal who belongs there).
"""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.errors import Refusal
from bot.members.models import GROUP_KINDS, Appointment, Group, GroupSpec, Invite, Member, SearchFilter, TreeError
from bot.members.rules import INVITE_PREFIX, new_invite_token
from bot.roles import AccessDenied, Actor
from storage.groups import GroupRepo
from storage.invites import InviteRepo
from storage.members import MemberRepo

PAGE_SIZE = 8


class ImportError_(ValueError):
    """The import file is not a valid group tree."""


def parse_tree(data: dict[str, Any]) -> list[GroupSpec]:
    """TOML `[[group]]` tables with name, kind, optional requires_approval and nested `[[group.group]]`."""

    def node(raw: Any) -> GroupSpec:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
            raise ImportError_("every group needs a name")
        kind = raw.get("kind", "local")
        if kind not in GROUP_KINDS:
            raise ImportError_(f"unknown kind {kind!r} for {raw['name']!r}")
        children = raw.get("group", [])
        if not isinstance(children, list):
            raise ImportError_("'group' must be a list of tables")
        return GroupSpec(
            raw["name"].strip(), kind, bool(raw.get("requires_approval", False)), tuple(node(c) for c in children)
        )

    roots = data.get("group")
    if not isinstance(roots, list) or not roots:
        raise ImportError_("no [[group]] tables found")
    return [node(r) for r in roots]


def load_tree(path: Path) -> list[GroupSpec]:
    with path.open("rb") as handle:
        return parse_tree(tomllib.load(handle))


class OrgService:
    def __init__(self, groups: GroupRepo, invites: InviteRepo, members: MemberRepo, clock: Clock) -> None:
        self.groups = groups
        self.invites = invites
        self.members = members
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    # --- the group tree ----------------------------------------------------------------------------
    async def group(self, group_id: int) -> Group | None:
        return await self.groups.get(group_id)

    async def all_groups(self) -> list[Group]:
        return await self.groups.all()

    async def visible_groups(self, actor: Actor) -> list[Group]:
        return [g for g in await self.groups.all() if actor.scope.covers_path(g.path)]

    async def create_group(self, actor: Actor, name: str, kind: str, parent_id: int | None) -> Group:
        return await self.groups.create(actor.user_id, name, kind, parent_id, False, self.now())

    async def rename_group(self, actor: Actor, group_id: int, name: str) -> bool:
        return await self.groups.rename(actor.user_id, group_id, name, self.now())

    async def toggle_approval(self, actor: Actor, group: Group) -> None:
        await self.groups.set_approval(actor.user_id, group.id, not group.requires_approval, self.now())

    async def move_group(self, actor: Actor, group_id: int, new_parent_id: int) -> Group:
        """Refusal ``members.groups.move_invalid`` when the move would make a cycle (or the groups are gone)."""
        try:
            return await self.groups.move(actor.user_id, group_id, new_parent_id, self.now())
        except TreeError:
            raise Refusal("members.groups.move_invalid") from None

    async def archive_group(self, actor: Actor, group_id: int) -> int:
        return await self.groups.archive(actor.user_id, group_id, self.now())

    async def import_tree(self, roots: list[GroupSpec]) -> int | None:
        return await self.groups.import_tree(roots, self.now())

    # --- coordinators ------------------------------------------------------------------------------
    async def coordinators_of(self, path: str) -> list[int]:
        return await self.groups.coordinators_of(path)

    async def appointments(self) -> list[Appointment]:
        return await self.groups.appointments()

    async def appoint(self, actor: Actor, user_id: int, group_id: int) -> bool:
        return await self.groups.appoint(actor.user_id, user_id, group_id, self.now())

    async def dismiss(self, actor: Actor, user_id: int, group_id: int) -> bool:
        return await self.groups.dismiss(actor.user_id, user_id, group_id, self.now())

    # --- invites -----------------------------------------------------------------------------------
    async def create_invite(self, actor: Actor, group_id: int, days: int | None, max_uses: int | None) -> Invite:
        now = self.now()
        expires = None if days is None else now + timedelta(days=days)
        return await self.invites.create(actor.user_id, new_invite_token(), group_id, expires, max_uses, now)

    async def invite(self, invite_id: int) -> Invite | None:
        return await self.invites.get(invite_id)

    async def invite_by_token(self, token: str) -> Invite | None:
        return await self.invites.by_token(token)

    async def visible_invites(self, actor: Actor) -> list[Invite]:
        """Active invites to the groups the actor may see."""
        visible = {g.id for g in await self.visible_groups(actor)}
        return [i for i in await self.invites.active(self.now()) if i.group_id in visible]

    async def revoke_invite(self, actor: Actor, invite_id: int) -> bool:
        return await self.invites.revoke(actor.user_id, invite_id, self.now())

    @staticmethod
    def invite_link(bot_username: str, invite: Invite) -> str:
        return f"https://t.me/{bot_username}?start={INVITE_PREFIX}{invite.token}"

    # --- the directory -----------------------------------------------------------------------------
    async def search_filter(self, actor: Actor, **criteria: Any) -> SearchFilter:
        """The directory's filter within the actor's scope; AccessDenied for a group outside it."""
        group_id = criteria.get("group_id")
        if group_id is not None and not actor.scope.everything:
            group = await self.groups.get(int(group_id))
            if group is None or not actor.scope.covers_path(group.path):
                raise AccessDenied("group filter outside scope")
        return SearchFilter(paths=actor.scope.paths_or_none, **criteria)

    async def directory(self, actor: Actor, criteria: dict[str, Any], page: int) -> tuple[list[Member], int]:
        """One page of the member directory within the actor's scope, and the total found."""
        flt = await self.search_filter(actor, **criteria)
        return await self.members.search(flt, PAGE_SIZE, page * PAGE_SIZE)
