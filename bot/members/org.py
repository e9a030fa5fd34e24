"""Organisation rules: the group tree, invites, coordinators, the member directory.

Callers check the actor's role and scope with RoleService first; the directory checks its own
filters against the scope (a group filter outside it would reveal who belongs there).
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.errors import Refusal
from bot.members.models import GROUP_KINDS, Appointment, Group, GroupSpec, Invite, Member, SearchFilter, TreeError
from bot.members.rules import INVITE_PREFIX, NAME_MAX, clean_text, new_invite_token
from bot.roles import AccessDenied, Actor
from storage import audit
from storage import groups as group_store
from storage import invites as invite_store
from storage.db import Database
from storage.groups import GroupRepo
from storage.invites import InviteRepo
from storage.members import MemberRepo

PAGE_SIZE = 8


class ImportError_(ValueError):
    """The import file is not a valid group tree."""


_HEADER = re.compile(r"^\s*\[\[\s*group(?:\s*\.\s*group)*\s*\]\]")
_ALLOWED_KEYS = frozenset({"name", "kind", "requires_approval", "group"})
_NAME_REFUSALS = {
    "members.invalid.empty": "the name is empty",
    "members.invalid.control": "the name holds control or invisible formatting characters",
    "members.invalid.too_long": f"the name is longer than {NAME_MAX} characters",
}


def parse_tree(data: dict[str, Any], source: str | None = None) -> list[GroupSpec]:
    """TOML `[[group]]` tables with name, kind, optional requires_approval and nested `[[group.group]]`.

    Validated like the chat validates a new group: a name cleaned by the same rule (no control
    characters, at most NAME_MAX characters), a known kind, `head` only at the top level,
    `requires_approval` a real boolean (``"no"`` is refused, not read as true), no unknown keys.
    With `source` (the file's text) each error names the line of the group's ``[[group]]`` header.
    """
    lines = [i + 1 for i, text in enumerate((source or "").splitlines()) if _HEADER.match(text)]
    order = iter(range(len(lines) + 10_000))

    def where(index: int) -> str:
        return f"line {lines[index]}: " if index < len(lines) else ""

    def node(raw: Any, depth: int) -> GroupSpec:
        index = next(order)  # tables come in document order: the n-th group is the n-th header
        at = where(index)
        if not isinstance(raw, dict):
            raise ImportError_(f"{at}a group must be a table")
        name_raw = raw.get("name")
        if not isinstance(name_raw, str):
            raise ImportError_(f"{at}every group needs a name (text)")
        try:
            name = clean_text(name_raw, NAME_MAX)
        except Refusal as refusal:
            raise ImportError_(f"{at}{_NAME_REFUSALS.get(refusal.key, 'the name is not valid')}") from None
        unknown = sorted(set(raw) - _ALLOWED_KEYS)
        if unknown:
            raise ImportError_(f"{at}group {name!r}: unknown key(s) {', '.join(unknown)}")
        kind = raw.get("kind", "local")
        if kind not in GROUP_KINDS:
            raise ImportError_(f"{at}group {name!r}: unknown kind {kind!r} (one of {', '.join(GROUP_KINDS)})")
        if kind == "head" and depth > 0:
            raise ImportError_(f"{at}group {name!r}: a head association can only be at the top level")
        approval = raw.get("requires_approval", False)
        if not isinstance(approval, bool):
            raise ImportError_(f"{at}group {name!r}: requires_approval must be true or false, not {approval!r}")
        children = raw.get("group", [])
        if not isinstance(children, list):
            raise ImportError_(f"{at}group {name!r}: 'group' must be a list of tables")
        return GroupSpec(name, kind, approval, tuple(node(c, depth + 1) for c in children))

    roots = data.get("group")
    if not isinstance(roots, list) or not roots:
        raise ImportError_("no [[group]] tables found")
    return [node(r, 0) for r in roots]


def load_tree(path: Path) -> list[GroupSpec]:
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ImportError_(str(exc)) from None
    return parse_tree(data, text)


class OrgService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.groups = GroupRepo(db)
        self.invites = InviteRepo(db)
        self.members = MemberRepo(db)
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
        now = self.now()
        async with self.db.transaction() as tx:
            group = await group_store.insert_group(tx, name, kind, parent_id, False, now)
            await audit.record(tx, now, actor.user_id, "group.create", "group", group.id, {"name": name, "kind": kind})
        return group

    async def rename_group(self, actor: Actor, group_id: int, name: str) -> bool:
        now = self.now()
        async with self.db.transaction() as tx:
            renamed = await group_store.rename(tx, group_id, name)
            if renamed:
                await audit.record(tx, now, actor.user_id, "group.rename", "group", group_id, {"name": name})
        return renamed

    async def toggle_approval(self, actor: Actor, group: Group) -> None:
        now = self.now()
        required = not group.requires_approval
        async with self.db.transaction() as tx:
            await group_store.set_approval(tx, group.id, required)
            await audit.record(tx, now, actor.user_id, "group.approval", "group", group.id, {"required": required})

    async def move_group(self, actor: Actor, group_id: int, new_parent_id: int) -> Group:
        """Refusal ``members.groups.move_invalid`` when the move would make a cycle (or the groups are gone)."""
        now = self.now()
        try:
            async with self.db.transaction() as tx:
                group = await group_store.move(tx, group_id, new_parent_id)
                details = {"parent_id": new_parent_id}
                await audit.record(tx, now, actor.user_id, "group.move", "group", group_id, details)
        except TreeError:
            raise Refusal("members.groups.move_invalid") from None
        return group

    async def archive_group(self, actor: Actor, group_id: int) -> int:
        now = self.now()
        async with self.db.transaction() as tx:
            count = await group_store.archive(tx, group_id, now)
            if count:
                await audit.record(tx, now, actor.user_id, "group.archive", "group", group_id, {"count": count})
        return count

    async def import_tree(self, roots: list[GroupSpec]) -> int | None:
        """Create the whole tree at once; None (nothing written) when groups exist already."""
        now = self.now()
        async with self.db.transaction() as tx:
            created = await group_store.insert_tree(tx, roots, now)
            if created is not None:
                await audit.record(tx, now, None, "group.import", "group", None, {"count": created})
        return created

    # --- coordinators ------------------------------------------------------------------------------
    async def coordinators_of(self, path: str) -> list[int]:
        return await self.groups.coordinators_of(path)

    async def appointments(self) -> list[Appointment]:
        return await self.groups.appointments()

    async def appoint(self, actor: Actor, user_id: int, group_id: int) -> bool:
        now = self.now()
        async with self.db.transaction() as tx:
            added = await group_store.appoint(tx, actor.user_id, user_id, group_id, now)
            if added:
                details = {"group_id": group_id}
                await audit.record(tx, now, actor.user_id, "coordinator.appoint", "user", user_id, details)
        return added

    async def dismiss(self, actor: Actor, user_id: int, group_id: int) -> bool:
        now = self.now()
        async with self.db.transaction() as tx:
            removed = await group_store.dismiss(tx, user_id, group_id)
            if removed:
                details = {"group_id": group_id}
                await audit.record(tx, now, actor.user_id, "coordinator.dismiss", "user", user_id, details)
        return removed

    # --- invites -----------------------------------------------------------------------------------
    async def create_invite(self, actor: Actor, group_id: int, days: int | None, max_uses: int | None) -> Invite:
        now = self.now()
        expires = None if days is None else now + timedelta(days=days)
        async with self.db.transaction() as tx:
            invite_id = await invite_store.insert_invite(
                tx, actor.user_id, new_invite_token(), group_id, expires, max_uses, now
            )
            details = {"group_id": group_id, "max_uses": max_uses}
            await audit.record(tx, now, actor.user_id, "invite.create", "invite", invite_id, details)
        invite = await self.invites.get(invite_id)
        assert invite is not None
        return invite

    async def invite(self, invite_id: int) -> Invite | None:
        return await self.invites.get(invite_id)

    async def invite_by_token(self, token: str) -> Invite | None:
        return await self.invites.by_token(token)

    async def visible_invites(self, actor: Actor) -> list[Invite]:
        """Active invites to the groups the actor may see."""
        visible = {g.id for g in await self.visible_groups(actor)}
        return [i for i in await self.invites.active(self.now()) if i.group_id in visible]

    async def revoke_invite(self, actor: Actor, invite_id: int) -> bool:
        now = self.now()
        async with self.db.transaction() as tx:
            revoked = await invite_store.revoke(tx, invite_id, now)
            if revoked:
                await audit.record(tx, now, actor.user_id, "invite.revoke", "invite", invite_id, None)
        return revoked

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
