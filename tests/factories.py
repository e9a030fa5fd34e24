"""One place for seeding test data: groups of the 1+6+N tree, members, coordinators, bot users.

Every feature's tests seed through these (the `tests/<feature>_helpers.py` modules keep only what
is particular to their feature). Rows are written with plain SQL through the portable query
interface, the way the product's storage would leave them.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.runtime import BotRuntime
from storage.db import Database

EPOCH = "2026-01-01T00:00:00.000000Z"


def db_of(runtime: BotRuntime) -> Database:
    assert runtime.db is not None, "the bot runtime has not started"
    return runtime.db


async def add_group(
    db: Database,
    name: str,
    parent: int | None = None,
    kind: str | None = None,
    *,
    requires_approval: bool = False,
    at: str = EPOCH,
) -> int:
    """A group under `parent`; returns its id. Its kind: `kind`, else a head association at the
    top and a local group below."""
    if kind is None:
        kind = "head" if parent is None else "local"
    async with db.transaction() as tx:
        parent_path = "/"
        if parent is not None:
            parent_path = str(await tx.fetchval("SELECT path FROM groups WHERE id = ?", (parent,)))
        group_id = await tx.insert(
            "INSERT INTO groups (parent_id, name, kind, requires_approval, created_at) VALUES (?, ?, ?, ?, ?)",
            (parent, name, kind, 1 if requires_approval else 0, at),
        )
        await tx.execute("UPDATE groups SET path = ? WHERE id = ?", (f"{parent_path}{group_id}/", group_id))
    return group_id


async def bot_user(
    db: Database, user_id: int, language: str | None = None, *, at: str = EPOCH, overwrite: bool = True
) -> None:
    """The user has opened the chat with the bot (and chose `language`, if given; an existing
    row keeps its language when `overwrite` is false)."""
    conflict = (
        "DO UPDATE SET language = COALESCE(excluded.language, bot_users.language)" if overwrite else "DO NOTHING"
    )
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO bot_users (user_id, language, started_at, last_seen_at) VALUES (?, ?, ?, ?)"
            f" ON CONFLICT (user_id) {conflict}",
            (user_id, language, at, at),
        )


async def add_member(
    db: Database,
    user_id: int | None,
    name: str,
    groups: Iterable[int] = (),
    category: str | None = "enterprise",
    status: str = "active",
    *,
    language: str | None = None,
    expertise: Iterable[str] = (),
    at: str = EPOCH,
    **fields: str | None,
) -> int:
    """A member in `groups` (memberships active, or pending for a pending member); returns the id.

    `fields` are other columns of members (organisation, phone, position, ...). With `language`,
    the user has opened the chat and chosen that language.
    """
    columns = {"name": name, "category": category, **fields}
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    membership = "pending" if status == "pending" else ("left" if status == "left" else "active")
    async with db.transaction() as tx:
        member_id = await tx.insert(
            f"INSERT INTO members (user_id, status, registered_at, updated_at, {names})"
            f" VALUES (?, ?, ?, ?, {marks})",
            (user_id, status, at, at, *columns.values()),
        )
        await tx.executemany(
            "INSERT INTO member_groups (member_id, group_id, status, requested_at) VALUES (?, ?, ?, ?)",
            [(member_id, group_id, membership, at) for group_id in groups],
        )
        await tx.executemany(
            "INSERT INTO member_expertise (member_id, tag) VALUES (?, ?)", [(member_id, tag) for tag in expertise]
        )
    if language is not None and user_id is not None:
        await bot_user(db, user_id, language, at=at)
    return member_id


async def add_coordinator(db: Database, user_id: int, group_id: int, appointed_by: int = 0, *, at: str = EPOCH) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO coordinators (user_id, group_id, appointed_by, appointed_at) VALUES (?, ?, ?, ?)",
            (user_id, group_id, appointed_by, at),
        )
