"""Segment counts read `reachable_memberships` (migration 0293), a table kept by triggers: after
every kind of write it must hold exactly what a fresh computation from member_groups and members
gives, and every count must equal the length of the list `members(...)` selects (the audience).

Both backends (`--backend=postgresql`); the speed is measured by bench/scale.py.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import groups as group_writes
from storage import members as member_writes
from storage.copy import copy_database
from storage.db import Database
from storage.erasure import erase_member
from storage.migrations import migrate
from storage.segments import count_members, members
from storage.users import UserRepo
from tests.conftest import MakeDatabase
from tests.factories import add_group, add_member

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CATEGORIES = ("enterprise", "freelance", "media", None)
REACHABLE = "m.status = 'active' AND m.user_id IS NOT NULL AND m.unreachable_at IS NULL"
FRESH = (
    "SELECT mg.member_id, mg.group_id, m.category FROM member_groups mg JOIN members m ON m.id = mg.member_id"
    f" WHERE mg.status = 'active' AND {REACHABLE}"
)


def _rows(rows: Sequence[Any]) -> list[tuple[int, int, str | None]]:
    return sorted((int(r[0]), int(r[1]), r[2]) for r in rows)


async def _kept_equals_fresh(db: Database, after: str = "") -> None:
    kept = _rows(await db.fetchall("SELECT member_id, group_id, category FROM reachable_memberships"))
    assert kept == _rows(await db.fetchall(FRESH)), after


async def _paths(db: Database) -> list[str]:
    return [str(r["path"]) for r in await db.fetchall("SELECT path FROM groups ORDER BY path")]


async def _counts_agree(db: Database, rng: random.Random, cases: int | None = None) -> int:
    """`count_members` == len(`members`) for scopes (everything, one subtree, two) x segment groups
    (none, one, two) x categories x the sender left out or not; all combinations, or `cases` of them.
    Returns how many audiences were not empty (so a test can see it counted something)."""
    paths = await _paths(db)
    users = [int(r[0]) for r in await db.fetchall("SELECT user_id FROM members WHERE user_id IS NOT NULL")]
    scopes: list[list[str] | None] = [None, *([p] for p in paths), [paths[0], paths[-1]], []]
    chosen: list[list[str]] = [[], *([p] for p in paths), [paths[1], paths[-1]]]
    kinds: list[list[str]] = [[], ["enterprise"], ["freelance", "media"]]
    senders: list[int | None] = [None, *(users[:1])]
    combos = [(s, g, c, x) for s in scopes for g in chosen for c in kinds for x in senders]
    if cases is not None:
        combos = rng.sample(combos, min(cases, len(combos)))
    non_empty = 0
    for scope_paths, group_paths, categories, exclude in combos:
        listed = await members(db, scope_paths=scope_paths, group_paths=group_paths, categories=categories,
                               exclude_user=exclude)
        counted = await count_members(db, scope_paths=scope_paths, group_paths=group_paths, categories=categories,
                                      exclude_user=exclude)
        assert counted == len(listed), (scope_paths, group_paths, categories, exclude)
        non_empty += bool(listed)
    return non_empty


async def _tree(db: Database) -> dict[str, int]:
    """Two districts: 1 + 2 + 4 groups and 1 + 1 + 1."""
    head = await add_group(db, "总会")
    east = await add_group(db, "东区", head, "sub")
    west = await add_group(db, "西区", head, "sub", requires_approval=True)
    groups = {"head": head, "east": east, "west": west}
    for name, parent in (("东1", east), ("东2", east), ("西1", west), ("西2", west)):
        groups[name] = await add_group(db, name, parent)
    other = await add_group(db, "二区总会")
    groups["other"] = other
    groups["other_sub"] = await add_group(db, "二区联谊会", other, "sub")
    groups["other_local"] = await add_group(db, "二区街道", groups["other_sub"])
    return groups


async def test_counts_follow_every_kind_of_membership_write(fresh_database: Database) -> None:
    db = fresh_database
    await migrate(db)
    g = await _tree(db)
    ids = {
        "alice": await add_member(db, 101, "Alice", [g["东1"]], "enterprise"),
        "bob": await add_member(db, 102, "Bob", [g["东1"], g["西1"]], "freelance"),
        "carol": await add_member(db, 103, "Carol", [g["east"]], "media"),
        "dan": await add_member(db, 104, "Dan", [g["other_local"]], None),
        "erin": await add_member(db, 105, "Erin", [g["西2"]], "pending", status="pending"),
        "fay": await add_member(db, 106, "Fay", [g["东2"]], "enterprise", unreachable_at="2026-01-01T00:00:00.000000Z"),
        "gus": await add_member(db, None, "Gus", [g["东2"]], "enterprise"),
        "hal": await add_member(db, 108, "Hal", [g["东2"], g["other_local"]], "media"),
    }
    rng = random.Random(19)
    await _kept_equals_fresh(db)
    assert await _counts_agree(db, rng) > 0
    assert await count_members(db, scope_paths=None, group_paths=[await _path(db, g["east"])]) == 4

    async def step(name: str, work: Any) -> None:
        async with db.transaction() as tx:
            await work(tx)
        await _kept_equals_fresh(db, name)
        await _counts_agree(db, rng, cases=60)

    now = NOW
    # joining, by invite-less join: into an open group (active) and one that needs approval (pending)
    await step("join open", lambda tx: member_writes.join(tx, ids["alice"], None, g["东2"], now))
    await step("join pending", lambda tx: member_writes.join(tx, ids["carol"], None, g["西1"], now))
    await step("approve", lambda tx: member_writes.decide(tx, 0, ids["carol"], g["西1"], True, None, now))
    await step("approve a pending member",
               lambda tx: member_writes.decide(tx, 0, ids["erin"], g["西2"], True, None, now))
    await step("leave a group", lambda tx: member_writes.leave_group(tx, ids["bob"], g["东1"], now))
    await step("rejoin", lambda tx: member_writes.join(tx, ids["bob"], None, g["东1"], now))
    await step("category", lambda tx: member_writes.update_profile(tx, ids["alice"], {"category": "media"}, now))
    await step("category gone", lambda tx: member_writes.update_profile(tx, ids["hal"], {"category": None}, now))
    await step("other fields", lambda tx: member_writes.update_profile(tx, ids["alice"], {"name": "Alicia"}, now))
    # delivery found the user unreachable (storage/outbox.py's statement), then they wrote again
    await step("unreachable", lambda tx: tx.execute(
        "UPDATE members SET unreachable_at = ? WHERE user_id = ? AND unreachable_at IS NULL",
        ("2026-03-01T00:00:00.000000Z", 102)))
    await UserRepo(db).touch(102, now)
    await UserRepo(db).touch(106, now)
    await _kept_equals_fresh(db)
    await step("leave the association", lambda tx: member_writes.leave_association(tx, ids["hal"], now))
    await step("come back", lambda tx: member_writes.join(tx, ids["hal"], None, g["other_local"], now))
    await step("reject", lambda tx: member_writes.join(tx, ids["dan"], None, g["西2"], now))
    await step("rejected", lambda tx: member_writes.decide(tx, 0, ids["dan"], g["西2"], False, "no", now))
    # the group tree: renamed, moved (paths of a subtree rewritten), archived
    await step("rename", lambda tx: group_writes.rename(tx, g["east"], "东区（新）"))
    await step("move", lambda tx: group_writes.move(tx, g["east"], g["other"]))
    await step("archive", lambda tx: group_writes.archive(tx, g["西1"], now))
    await step("a membership row moved to another member and group", lambda tx: tx.execute(
        "UPDATE member_groups SET member_id = ?, group_id = ? WHERE member_id = ? AND group_id = ?",
        (ids["gus"], g["西2"], ids["alice"], g["东2"])))
    await step("a membership row deleted", lambda tx: tx.execute(
        "DELETE FROM member_groups WHERE member_id = ? AND group_id = ?", (ids["bob"], g["西1"])))
    await step("an account linked", lambda tx: tx.execute("UPDATE members SET user_id = ? WHERE id = ?",
                                                           (107, ids["gus"])))
    # erasure moves the memberships to an anonymous row and deletes the member's row
    await step("erase", lambda tx: erase_member(tx, ids["carol"], 103, now))
    await step("a member deleted", lambda tx: tx.execute("DELETE FROM members WHERE id = ?", (ids["dan"],)))
    assert await _counts_agree(db, rng) > 0


async def _path(db: Database, group_id: int) -> str:
    return str(await db.fetchval("SELECT path FROM groups WHERE id = ?", (group_id,)))


async def test_random_writes_keep_the_table_exact(fresh_database: Database) -> None:
    """Many writes of every kind in random order (seeded), several in one transaction."""
    db = fresh_database
    await migrate(db)
    groups = list((await _tree(db)).values())
    rng = random.Random(1919)
    member_ids = [await add_member(db, 1000 + i, f"M{i}", rng.sample(groups, rng.randint(0, 2)),
                                   rng.choice(CATEGORIES), rng.choice(["active", "active", "pending", "left"]))
                  for i in range(24)]
    now = NOW
    for round_ in range(12):
        async with db.transaction() as tx:
            for _ in range(6):
                member, group = rng.choice(member_ids), rng.choice(groups)
                exists = await tx.fetchval("SELECT 1 FROM members WHERE id = ?", (member,))
                if not exists:
                    continue
                action = rng.randrange(9)
                if action == 0:
                    await member_writes.join(tx, member, None, group, now)
                elif action == 1:
                    await member_writes.leave_group(tx, member, group, now)
                elif action == 2:
                    await member_writes.decide(tx, 0, member, group, rng.random() < 0.7, None, now)
                elif action == 3:
                    await member_writes.update_profile(tx, member, {"category": rng.choice(CATEGORIES)}, now)
                elif action == 4:
                    stamp = None if rng.random() < 0.5 else "2026-03-01T00:00:00.000000Z"
                    await tx.execute("UPDATE members SET unreachable_at = ? WHERE id = ?", (stamp, member))
                elif action == 5:
                    await tx.execute("UPDATE members SET status = ? WHERE id = ?",
                                     (rng.choice(["active", "pending", "left"]), member))
                elif action == 6:
                    await member_writes.leave_association(tx, member, now)
                elif action == 7:
                    await tx.execute("UPDATE member_groups SET status = ? WHERE member_id = ? AND group_id = ?",
                                     (rng.choice(["active", "pending", "left", "rejected"]), member, group))
                elif round_ % 4 == 3:
                    user = await tx.fetchval("SELECT user_id FROM members WHERE id = ?", (member,))
                    await erase_member(tx, member, None if user is None else int(user), now + timedelta(seconds=round_))
        await _kept_equals_fresh(db)
        await _counts_agree(db, rng, cases=40)
    assert await _counts_agree(db, rng) > 0


async def test_a_database_from_before_the_table_is_filled_when_migrated(fresh_database: Database) -> None:
    """Migration 0293 on a database holding members: the table starts exact."""
    db = fresh_database
    await migrate(db)
    g = await _tree(db)
    await _undo_0293(db)
    await add_member(db, 201, "A", [g["东1"], g["西2"]], "media")
    await add_member(db, 202, "B", [g["东1"]], "freelance", status="left")
    await add_member(db, 203, "C", [g["other_local"]], None, unreachable_at="2026-01-01T00:00:00.000000Z")
    await add_member(db, 204, "D", [g["other_local"]], "enterprise")
    assert await migrate(db) == [293]
    assert len(await db.fetchall("SELECT 1 FROM reachable_memberships")) == 3
    await _kept_equals_fresh(db)
    await _counts_agree(db, random.Random(3))


async def _undo_0293(db: Database) -> None:
    async with db.transaction() as tx:
        for name, table in (("reachable_mg_insert", "member_groups"), ("reachable_mg_update", "member_groups"),
                            ("reachable_mg_delete", "member_groups"), ("reachable_member_update", "members"),
                            ("reachable_member_delete", "members")):
            await tx.execute(f"DROP TRIGGER {name}" + (f" ON {table}" if db.dialect == "postgresql" else ""))
        await tx.execute("DROP TABLE reachable_memberships")
        await tx.execute("DROP INDEX members_reachable_category")
        if db.dialect == "postgresql":
            await tx.execute("DROP FUNCTION reachable_membership_changed()")
            await tx.execute("DROP FUNCTION reachable_member_changed()")
        await tx.execute("DELETE FROM schema_migrations WHERE version = 293")


async def test_a_copied_database_has_the_table_rebuilt_by_its_triggers(
    fresh_database: Database, make_database: MakeDatabase,
) -> None:
    """storage/copy.py leaves the derived table out; the target's triggers fill it as the
    memberships arrive, so counts on the copy are right."""
    db = fresh_database
    await migrate(db)
    g = await _tree(db)
    await add_member(db, 301, "A", [g["东1"], g["东2"]], "media")
    await add_member(db, 302, "B", [g["西1"]], "freelance")
    await add_member(db, 303, "C", [g["西1"]], "freelance", status="left")
    async with make_database() as target:
        report = await copy_database(db, target)
        assert "reachable_memberships" not in report.counts
        await _kept_equals_fresh(target)
        assert _rows(await target.fetchall("SELECT member_id, group_id, category FROM reachable_memberships")) == \
            _rows(await db.fetchall("SELECT member_id, group_id, category FROM reachable_memberships"))
        await _counts_agree(target, random.Random(4))
