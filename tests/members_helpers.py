"""Seeding helpers for tests of any feature: groups, members, coordinators (via the storage functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.members.models import Registration
from sandbox.driver import SandboxUser
from sandbox.state import SandboxMessage
from storage import members
from storage.db import Database
from storage.timefmt import to_db
from tests import factories

SEED_TIME = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
_AT = to_db(SEED_TIME)


async def seed_group(
    db: Database, name: str, kind: str = "local", parent_id: int | None = None, requires_approval: bool = False
) -> int:
    return await factories.add_group(db, name, parent_id, kind, requires_approval=requires_approval, at=_AT)


async def seed_member(
    db: Database,
    user_id: int,
    name: str,
    category: str = "enterprise",
    group_ids: tuple[int, ...] | list[int] = (),
    status: str = "active",
    expertise: tuple[str, ...] = (),
) -> int:
    reg = Registration(
        user_id=user_id,
        name=name,
        category=category,
        organisation=None,
        position=None,
        phone=None,
        expertise=expertise,
        expertise_note=None,
        interests=None,
        group_ids=tuple(group_ids),
    )
    async with db.transaction() as tx:
        member_id, stored = await members.insert_member(tx, reg, SEED_TIME, timedelta(days=180))
        if status != stored:
            await tx.execute("UPDATE members SET status = ? WHERE id = ?", (status, member_id))
            membership = status if status in ("pending", "left") else "active"
            await tx.execute("UPDATE member_groups SET status = ? WHERE member_id = ?", (membership, member_id))
    return member_id


async def seed_coordinator(db: Database, user_id: int, group_id: int, appointed_by: int = 0) -> None:
    await factories.add_coordinator(db, user_id, group_id, appointed_by, at=_AT)


async def see(user: SandboxUser, text: str) -> SandboxMessage:
    """The first message (or edit) that shows `text`; the messages seen so far when none does."""
    try:
        return await user.wait_for(lambda m: text in (m.text or ""))
    except TimeoutError:
        raise AssertionError(f"{text!r} not in {[m.text for m in user.messages]}") from None
