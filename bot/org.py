"""Organisation rules: the group tree, invites, coordinators, the member directory."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.members import INVITE_PREFIX, new_invite_token
from bot.roles import Actor
from storage.groups import KINDS, Group, GroupRepo, GroupSpec
from storage.invites import Invite, InviteRepo
from storage.members import MemberRepo, SearchFilter

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

    async def visible_groups(self, actor: Actor) -> list[Group]:
        return [g for g in await self.groups.all() if actor.scope.covers_path(g.path)]

    async def import_tree(self, roots: list[GroupSpec]) -> int | None:
        return await self.groups.import_tree(roots, self.now())

    async def create_invite(self, actor: Actor, group_id: int, days: int | None, max_uses: int | None) -> Invite:
        now = self.now()
        expires = None if days is None else now + timedelta(days=days)
        return await self.invites.create(actor.user_id, new_invite_token(), group_id, expires, max_uses, now)

    @staticmethod
    def invite_link(bot_username: str, invite: Invite) -> str:
        return f"https://t.me/{bot_username}?start={INVITE_PREFIX}{invite.token}"

    def search_filter(self, actor: Actor, **criteria: Any) -> SearchFilter:
        paths = None if actor.scope.everything else actor.scope.paths
        return SearchFilter(paths=paths, **criteria)
