"""Organisation rules: the group tree, invites, coordinators, the member directory."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.members import INVITE_PREFIX, new_invite_token
from bot.roles import Actor
from storage.groups import KINDS, Appointment, GroupRepo, GroupSpec
from storage.groups import Group as Group  # re-exported: handlers never import storage
from storage.groups import TreeError as TreeError  # re-exported: handlers never import storage
from storage.invites import Invite, InviteRepo
from storage.members import Member, MemberRepo, SearchFilter

PAGE_SIZE = 8


class ImportError_(ValueError):
    """The import file is not a valid group tree."""


def parse_tree(data: dict[str, Any]) -> list[GroupSpec]:
    """TOML `[[group]]` tables with name, kind, optional requires_approval and nested `[[group.group]]`."""

    def node(raw: Any) -> GroupSpec:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
            raise ImportError_("every group needs a name")
        kind = raw.get("kind", "local")
        if kind not in KINDS:
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

    # --- the group tree (callers check the actor's role and scope with RoleService first) ---------
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
        """Raises TreeError when the move would make a cycle (or the groups are gone)."""
        return await self.groups.move(actor.user_id, group_id, new_parent_id, self.now())

    async def archive_group(self, actor: Actor, group_id: int) -> int:
        return await self.groups.archive(actor.user_id, group_id, self.now())

    # --- coordinators ------------------------------------------------------------------------------
    async def coordinators_of(self, path: str) -> list[int]:
        return await self.groups.coordinators_of(path)

    async def appointments(self) -> list[Appointment]:
        return await self.groups.appointments()

    async def appoint(self, actor: Actor, user_id: int, group_id: int) -> bool:
        return await self.groups.appoint(actor.user_id, user_id, group_id, self.now())

    async def dismiss(self, actor: Actor, user_id: int, group_id: int) -> bool:
        return await self.groups.dismiss(actor.user_id, user_id, group_id, self.now())

    async def import_tree(self, roots: list[GroupSpec]) -> int | None:
        return await self.groups.import_tree(roots, self.now())

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

    def search_filter(self, actor: Actor, **criteria: Any) -> SearchFilter:
        paths = None if actor.scope.everything else actor.scope.paths
        return SearchFilter(paths=paths, **criteria)

    async def directory(self, actor: Actor, criteria: dict[str, Any], page: int) -> tuple[list[Member], int]:
        """One page of the member directory within the actor's scope, and the total found."""
        return await self.members.search(self.search_filter(actor, **criteria), PAGE_SIZE, page * PAGE_SIZE)
