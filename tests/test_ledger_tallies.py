"""/stats' notice figures for everything read `notice_tallies` (migration 0612), kept by triggers
with every write to the outbox and to notice_acks: after every kind of write (set-based and
row-by-row enqueue, delivery results through the delivery worker's own statements, retries,
acknowledgements, erasure, dropped rows, moved groups) the table must hold exactly what a fresh
computation from the outbox gives, and /stats' figures for every scope must equal that fresh
computation (scopes narrower than everything are counted from the outbox itself).

The same for `group_tallies` (migration 0613): each group's active and pending memberships, kept
with every write to member_groups, against a count of member_groups, and /stats' list of groups.

Both backends (`--backend=postgresql`); the speed is measured by bench/scale.py.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage import groups as group_writes
from storage import members as member_writes
from storage import notices as notice_writes
from storage.copy import copy_database
from storage.db import Database
from storage.erasure import erase_member
from storage.ledger import LedgerRepo
from storage.migrations import migrate
from storage.outbox import OutboxRepo, OutgoingMessage, Result, enqueue
from storage.scope import member_in
from storage.segments import MemberMessage, enqueue_members
from tests.conftest import MakeDatabase
from tests.factories import add_group, add_member

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
Figures = dict[int, tuple[int, int, int]]


def _fresh_sql(cond: str) -> str:
    return (  # the query storage/ledger.py ran for every scope before migration 0612
        "SELECT o.ref_id AS id, COUNT(o.id) AS recipients, COUNT(CASE WHEN o.status = 'sent' THEN 1 END) AS delivered,"
        " COUNT(CASE WHEN o.status = 'sent' THEN a.member_id END) AS acked FROM outbox o"
        " LEFT JOIN notice_acks a ON a.notice_id = o.ref_id AND a.member_id = o.member_id"
        f" WHERE o.kind = 'notice' AND o.ref_id IS NOT NULL AND o.member_id IS NOT NULL AND {cond} GROUP BY o.ref_id"
    )


async def _fresh(db: Database, paths: Any = None) -> Figures:
    cond, params = member_in(paths, "o.member_id")
    rows = await db.fetchall(_fresh_sql(cond), params)
    return {int(r["id"]): (int(r["recipients"]), int(r["delivered"]), int(r["acked"])) for r in rows}


async def _kept_equals_fresh(db: Database, after: str = "") -> None:
    kept = {int(r["notice_id"]): (int(r["recipients"]), int(r["delivered"]), int(r["acked"]))
            for r in await db.fetchall("SELECT notice_id, recipients, delivered, acked FROM notice_tallies")}
    fresh = await _fresh(db)
    assert {k: v for k, v in kept.items() if v != (0, 0, 0)} == fresh, after
    paths = [str(r["path"]) for r in await db.fetchall("SELECT path FROM groups ORDER BY path")]
    repo = LedgerRepo(db)
    for scope in (None, *([p] for p in paths), [paths[1], paths[-1]]):
        shown = {r.notice_id: (r.recipients, r.delivered, r.acknowledged)
                 for r in await repo.notice_rows(scope, START, END)}
        assert shown == await _fresh(db, scope), (after, scope)


async def _tree(db: Database) -> dict[str, int]:
    head = await add_group(db, "总会")
    east = await add_group(db, "东区", head, "sub")
    west = await add_group(db, "西区", head, "sub")
    groups = {"head": head, "east": east, "west": west}
    for name, parent in (("东1", east), ("西1", west)):
        groups[name] = await add_group(db, name, parent)
    groups["other"] = await add_group(db, "二区总会")
    return groups


async def _notice(db: Database, nid: int) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO notices (id, author_user_id, author_lang, text, segment, status, created_at, sent_at)"
            " VALUES (?, 1, 'zh-Hans', ?, '{}', 'sent', ?, ?)",
            (nid, f"通知 {nid}", "2026-03-01T00:00:00.000000Z", "2026-03-01T00:00:00.000000Z"),
        )


async def _claim_and_report(db: Database, rng: random.Random, now: datetime) -> None:
    """The delivery worker's statements: claim due rows, mark them attempted, record results."""
    repo = OutboxRepo(db)
    claimed, _ = await repo.flush_and_claim([], now, 5, lambda item: True)
    await repo.record_and_mark([], [c.id for c in claimed], now)
    statuses = ["sent", "sent", "sent", "blocked", "failed", "unknown", "retry", "requeue"]
    results = [Result(c, rng.choice(statuses), message_id=1, error="e") for c in claimed]
    await repo.flush_and_claim(results, now, 0, lambda item: True)


async def test_tallies_follow_every_kind_of_outbox_and_acknowledgement_write(fresh_database: Database) -> None:
    db = fresh_database
    await migrate(db)
    g = await _tree(db)
    rng = random.Random(612)
    members = [await add_member(db, 100 + i, f"M{i}", rng.sample([g["东1"], g["西1"], g["east"], g["other"]],
                                                                 rng.randint(1, 2)), "media")
               for i in range(12)]
    await _kept_equals_fresh(db, "empty")
    for nid in (1, 2, 3):
        await _notice(db, nid)
    now = NOW

    async def step(name: str, work: Any) -> None:
        async with db.transaction() as tx:
            await work(tx)
        await _kept_equals_fresh(db, name)

    message = MemberMessage("notice", 1, "x", {}, None)
    await step("set-based enqueue", lambda tx: enqueue_members(tx, message, now, scope_paths=None))
    await step("row-by-row enqueue", lambda tx: enqueue(tx, [
        OutgoingMessage("notice", 2, 100 + i, "x", member_id=m) for i, m in enumerate(members[:8])], now))
    await step("a group post (no member) and other kinds", lambda tx: enqueue(tx, [
        OutgoingMessage("notice", 2, -5, "x"), OutgoingMessage("nudge", 1, 101, "x", member_id=members[1]),
        OutgoingMessage("activity", 1, 101, "x", member_id=members[1])], now))
    # a row enqueued already sent (storage/copy.py, a restore) with its acknowledgement first
    await step("an acknowledgement before its row", lambda tx: tx.execute(
        "INSERT INTO notice_acks (notice_id, member_id, at) VALUES (3, ?, ?)", (members[0], "2026-03-01")))
    await step("a sent row", lambda tx: tx.execute(
        "INSERT INTO outbox (kind, ref_id, chat_id, member_id, text, status, not_before, created_at)"
        " VALUES ('notice', 3, 100, ?, 'x', 'sent', '2026-03-01', '2026-03-01')", (members[0],)))
    for round_ in range(8):
        await _claim_and_report(db, rng, now)
        await _kept_equals_fresh(db, f"delivery round {round_}")
        for member in rng.sample(members, 4):  # presses, some before their row is recorded 'sent'
            user = await db.fetchval("SELECT user_id FROM members WHERE id = ?", (member,))
            if user is not None:
                await notice_writes.ack(db, rng.choice([1, 2]), int(user), now)
        await _kept_equals_fresh(db, f"presses {round_}")
    totals = [sum(f[i] for f in (await _fresh(db)).values()) for i in range(3)]
    assert min(totals) > 0, totals  # something was delivered and acknowledged
    await OutboxRepo(db).recover_inflight()
    await _kept_equals_fresh(db, "recovered")
    await step("a sent row moved back (a manual resend)", lambda tx: tx.execute(
        "UPDATE outbox SET status = 'pending' WHERE id = (SELECT MIN(id) FROM outbox WHERE status = 'sent'"
        " AND kind = 'notice')"))
    await step("a row moved to another notice and member", lambda tx: tx.execute(
        "UPDATE outbox SET ref_id = 3, member_id = ?, status = 'sent' WHERE id = (SELECT MAX(id) FROM outbox"
        " WHERE kind = 'notice' AND ref_id = 1)", (members[5],)))
    await step("a row's member gone", lambda tx: tx.execute(
        "UPDATE outbox SET member_id = NULL WHERE id = (SELECT MAX(id) FROM outbox WHERE kind = 'notice'"
        " AND ref_id = 2 AND member_id IS NOT NULL)"))
    await step("a row turned into another kind", lambda tx: tx.execute(
        "UPDATE outbox SET kind = 'nudge' WHERE id = (SELECT MIN(id) FROM outbox WHERE kind = 'notice'"
        " AND ref_id = 2 AND status = 'sent')"))
    await step("an acknowledgement withdrawn", lambda tx: tx.execute(
        "DELETE FROM notice_acks WHERE member_id = (SELECT MIN(member_id) FROM notice_acks)"))
    await step("an acknowledgement moved", lambda tx: tx.execute(
        "UPDATE notice_acks SET notice_id = 3 WHERE member_id = (SELECT MAX(member_id) FROM notice_acks"
        " WHERE notice_id = 1)"))
    await step("finished nudges dropped", lambda tx: notice_writes.drop_finished_nudges(tx, 1))
    await step("rows deleted", lambda tx: tx.execute("DELETE FROM outbox WHERE kind = 'notice' AND ref_id = 2"
                                                     " AND id % 2 = 0"))
    # people and groups change: the scoped figures follow memberships of now
    await step("move a group", lambda tx: group_writes.move(tx, g["west"], g["other"]))
    await step("leave the association", lambda tx: member_writes.leave_association(tx, members[3], now))
    await step("join elsewhere", lambda tx: member_writes.join(tx, members[4], None, g["other"], now))
    for i, member in enumerate(members[:4]):
        user = await db.fetchval("SELECT user_id FROM members WHERE id = ?", (member,))
        await step(f"erase {i}", lambda tx, m=member, u=user: erase_member(
            tx, m, None if u is None else int(u), now + timedelta(seconds=1)))
    for _ in range(3):
        await _claim_and_report(db, rng, now)
    await _kept_equals_fresh(db, "the rest delivered")
    await step("the outbox emptied", lambda tx: tx.execute("DELETE FROM outbox"))
    assert await _fresh(db) == {}


async def test_a_database_from_before_the_table_is_filled_when_migrated(fresh_database: Database) -> None:
    """Migration 0612 on a database holding notices and acknowledgements: the table starts exact."""
    db = fresh_database
    await migrate(db)
    g = await _tree(db)
    members = [await add_member(db, 200 + i, f"N{i}", [g["东1"]], "media") for i in range(5)]
    await _undo_0612(db)
    await _notice(db, 7)
    async with db.transaction() as tx:
        await enqueue(tx, [OutgoingMessage("notice", 7, 200 + i, "x", member_id=m) for i, m in enumerate(members)],
                      NOW)
        await tx.execute("UPDATE outbox SET status = 'sent' WHERE member_id IN (?, ?, ?)", members[:3])
        await tx.execute("INSERT INTO notice_acks (notice_id, member_id, at) VALUES (7, ?, 'x'), (7, ?, 'x')",
                         (members[0], members[4]))
    assert await migrate(db) == [612]
    assert (await db.fetchone("SELECT recipients, delivered, acked FROM notice_tallies WHERE notice_id = 7")) \
        is not None
    await _kept_equals_fresh(db)
    assert (await _fresh(db))[7] == (5, 3, 1)


async def _undo_0612(db: Database) -> None:
    async with db.transaction() as tx:
        names = [("notice_tallies_outbox_i", "outbox"), ("notice_tallies_outbox_u", "outbox"),
                 ("notice_tallies_outbox_d", "outbox"), ("notice_tallies_ack_i", "notice_acks"),
                 ("notice_tallies_ack_u", "notice_acks"), ("notice_tallies_ack_d", "notice_acks")]
        if db.dialect == "postgresql":
            names += [("notice_tallies_outbox_m", "outbox"), ("notice_tallies_outbox_t", "outbox"),
                      ("notice_tallies_ack_t", "notice_acks")]
        for name, table in names:
            await tx.execute(f"DROP TRIGGER {name}" + (f" ON {table}" if db.dialect == "postgresql" else ""))
        await tx.execute("DROP TABLE notice_tallies")
        if db.dialect == "postgresql":
            for function in ("notice_tallies_outbox_added", "notice_tallies_outbox_removed",
                             "notice_tallies_outbox_sent", "notice_tallies_outbox_moved",
                             "notice_tallies_ack_changed", "notice_tallies_truncated"):
                await tx.execute(f"DROP FUNCTION {function}()")
        await tx.execute("DELETE FROM schema_migrations WHERE version = 612")


async def test_a_copied_database_has_the_table_rebuilt_by_its_triggers(
    fresh_database: Database, make_database: MakeDatabase,
) -> None:
    """storage/copy.py leaves the derived table out; the target's triggers fill it as the outbox
    and the acknowledgements arrive, whichever comes first."""
    db = fresh_database
    await migrate(db)
    g = await _tree(db)
    members = [await add_member(db, 300 + i, f"C{i}", [g["西1"]], "media") for i in range(4)]
    await _notice(db, 9)
    async with db.transaction() as tx:
        await enqueue(tx, [OutgoingMessage("notice", 9, 300 + i, "x", member_id=m) for i, m in enumerate(members)],
                      NOW)
        await tx.execute("UPDATE outbox SET status = 'sent' WHERE member_id <> ?", (members[0],))
    await notice_writes.ack(db, 9, 301, NOW)
    await notice_writes.ack(db, 9, 300, NOW)
    async with make_database() as target:
        report = await copy_database(db, target)
        assert "notice_tallies" not in report.counts and "group_tallies" not in report.counts
        await _kept_equals_fresh(target)
        await _groups_kept_equal_fresh(target)
        assert (await _fresh(target))[9] == (4, 3, 1)


# --- group_tallies (migration 0613) ---------------------------------------------------------------
FRESH_GROUPS = (
    "SELECT group_id, COUNT(CASE WHEN status = 'active' THEN 1 END) AS active,"
    " COUNT(CASE WHEN status = 'pending' THEN 1 END) AS pending FROM member_groups GROUP BY group_id"
)


async def _groups_kept_equal_fresh(db: Database, after: str = "") -> None:
    kept = {int(r["group_id"]): (int(r["active"]), int(r["pending"]))
            for r in await db.fetchall("SELECT group_id, active, pending FROM group_tallies")}
    fresh = {int(r["group_id"]): (int(r["active"]), int(r["pending"])) for r in await db.fetchall(FRESH_GROUPS)}
    assert {k: v for k, v in kept.items() if v != (0, 0)} == {k: v for k, v in fresh.items() if v != (0, 0)}, after
    paths = [str(r["path"]) for r in await db.fetchall("SELECT path FROM groups ORDER BY path")]
    for scope in (None, [paths[0]], [paths[1], paths[-1]]):
        figures = await LedgerRepo(db).member_figures(scope, START, END, NOW)
        assert figures.by_group, (after, scope)
        assert {g.group_id: (g.active, g.pending) for g in figures.by_group} == {
            g.group_id: fresh.get(g.group_id, (0, 0)) for g in figures.by_group}, (after, scope)


async def test_group_tallies_follow_random_membership_writes(fresh_database: Database) -> None:
    """Many membership writes of every kind in random order (seeded), several in one transaction."""
    db = fresh_database
    await migrate(db)
    g = await _tree(db)
    groups = list(g.values())
    rng = random.Random(613)
    member_ids = [await add_member(db, 400 + i, f"G{i}", rng.sample(groups, rng.randint(0, 2)), "media",
                                   rng.choice(["active", "active", "pending", "left"])) for i in range(20)]
    await _groups_kept_equal_fresh(db, "start")
    now = NOW
    for round_ in range(10):
        async with db.transaction() as tx:
            for _ in range(6):
                member, group = rng.choice(member_ids), rng.choice(groups)
                if not await tx.fetchval("SELECT 1 FROM members WHERE id = ?", (member,)):
                    continue
                action = rng.randrange(7)
                if action == 0:
                    await member_writes.join(tx, member, None, group, now)
                elif action == 1:
                    await member_writes.leave_group(tx, member, group, now)
                elif action == 2:
                    await member_writes.decide(tx, 0, member, group, rng.random() < 0.7, None, now)
                elif action == 3:
                    await member_writes.leave_association(tx, member, now)
                elif action == 4:
                    await tx.execute("UPDATE member_groups SET status = ? WHERE member_id = ? AND group_id = ?",
                                     (rng.choice(["active", "pending", "left", "rejected"]), member, group))
                elif action == 5:
                    await tx.execute("DELETE FROM member_groups WHERE member_id = ? AND group_id = ?", (member, group))
                else:
                    user = await tx.fetchval("SELECT user_id FROM members WHERE id = ?", (member,))
                    await erase_member(tx, member, None if user is None else int(user), now + timedelta(seconds=round_))
        await _groups_kept_equal_fresh(db, f"round {round_}")
    async with db.transaction() as tx:
        await tx.execute("UPDATE member_groups SET group_id = ? WHERE group_id = ? AND member_id NOT IN"
                         " (SELECT member_id FROM member_groups WHERE group_id = ?)",
                         (g["other"], g["东1"], g["other"]))
    await _groups_kept_equal_fresh(db, "memberships moved to another group")
    async with db.transaction() as tx:
        await group_writes.move(tx, g["west"], g["other"])
    await _groups_kept_equal_fresh(db, "a group moved")
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM member_groups")
    assert await db.fetchval("SELECT COUNT(*) FROM group_tallies WHERE active <> 0 OR pending <> 0") == 0


async def test_group_tallies_are_filled_when_migrated(fresh_database: Database) -> None:
    """Migration 0613 on a database holding memberships: the table starts exact."""
    db = fresh_database
    await migrate(db)
    g = await _tree(db)
    async with db.transaction() as tx:
        for name in ("group_tallies_i", "group_tallies_u", "group_tallies_d"):
            await tx.execute(f"DROP TRIGGER {name}" + (" ON member_groups" if db.dialect == "postgresql" else ""))
        if db.dialect == "postgresql":
            await tx.execute("DROP TRIGGER group_tallies_t ON member_groups")
            for function in ("group_tallies_added", "group_tallies_removed", "group_tallies_changed",
                             "group_tallies_truncated"):
                await tx.execute(f"DROP FUNCTION {function}()")
        await tx.execute("DROP TABLE group_tallies")
        await tx.execute("DROP INDEX members_pending")
        await tx.execute("DELETE FROM schema_migrations WHERE version = 613")
    await add_member(db, 501, "A", [g["东1"], g["西1"]], "media")
    await add_member(db, 502, "B", [g["东1"]], "media", status="pending")
    await add_member(db, 503, "C", [g["西1"]], "media", status="left")
    assert await migrate(db) == [613]
    assert await db.fetchval("SELECT active FROM group_tallies WHERE group_id = ?", (g["东1"],)) == 1
    await _groups_kept_equal_fresh(db)


async def test_a_bulk_enqueue_refreshes_the_outbox_statistics(
    fresh_database: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL: the set-based enqueue of a big notice ANALYZEs the outbox in its transaction, so
    the planner does not take a million-row outbox for empty until autovacuum comes (a district's
    /stats probed memberships once per outbox row: 0.4 -> 2-3 s). SQLite: nothing to refresh."""
    from storage import segments

    db = fresh_database
    await migrate(db)
    g = await _tree(db)
    for i in range(6):
        await add_member(db, 600 + i, f"S{i}", [g["东1"]], "media")
    await _notice(db, 11)
    monkeypatch.setattr(segments, "ANALYZE_ABOVE", 5)
    async with db.transaction() as tx:
        assert await enqueue_members(tx, MemberMessage("notice", 11, "x", {}, None), NOW, scope_paths=None) == 6
    if db.dialect == "postgresql":
        analyzed = await db.fetchval(
            "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'outbox'")
        tuples = await db.fetchval("SELECT reltuples FROM pg_class WHERE relname = 'outbox'")
        assert (int(analyzed), float(tuples)) == (0, 6.0)
