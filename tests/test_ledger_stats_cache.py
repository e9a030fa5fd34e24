"""/stats is cached per part by data version (triggers bump `ledger_versions` in every writing
transaction) and by the first instant time alone changes a part: the figures must stay exactly what a
recount from scratch gives, after any sequence of writes (by the bot, or by another process) and
any move of the clock. And (#17) sign-ups of upcoming activities are counted on their own line.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.ledger.service import LedgerService
from bot.roles import Scope
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from storage.timefmt import to_db
from tests import dbsync, factories
from tests.ledger_helpers import GROUP_COORDINATOR, HEAD_COORDINATOR, NOV, seed, seed_activity, seed_notices

SCOPES = (Scope(everything=True), Scope(paths=("/1/2/",)), Scope(paths=("/1/4/",)))
GROUP_IDS = (1, 2, 3, 4, 5)


async def _write(bot: BotRuntime, rng: random.Random, clock: FakeClock, step: int) -> str:
    """One random write of the kinds the figures are counted from; returns what it did."""
    db = bot.db
    assert db is not None
    now = clock.now()
    stamp = to_db(now + timedelta(minutes=rng.randint(-30 * 24 * 60, 30 * 24 * 60)))
    members = [int(r["id"]) for r in await db.fetchall("SELECT id FROM members")]
    activities = [int(r["id"]) for r in await db.fetchall("SELECT id FROM activities")]
    items = [int(r["id"]) for r in await db.fetchall("SELECT id FROM feedback_items")]
    kind = rng.choice([
        "member", "member_status", "membership", "signup", "signup_status", "checkin", "activity",
        "activity_status", "feedback", "answer", "block", "outbox", "ack", "archive", "clock", "other_process",
    ])
    member, activity, item = rng.choice(members), rng.choice(activities), rng.choice(items)
    async with db.transaction() as tx:
        if kind == "member":
            groups = rng.sample(GROUP_IDS[1:], rng.randint(0, 2))
            status = rng.choice(["active", "active", "pending", "left"])
            await tx.execute(
                "INSERT INTO members (user_id, status, registered_at, updated_at, name, category)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (900000 + step, status, stamp, stamp, f"新成员 {step}", rng.choice([None, "enterprise", "media"])),
            )
            new = await tx.fetchval("SELECT MAX(id) FROM members")
            for group in groups:
                await tx.execute(
                    "INSERT INTO member_groups (member_id, group_id, status, requested_at) VALUES (?, ?, ?, ?)",
                    (new, group, "pending" if status == "pending" else "active", stamp),
                )
        elif kind == "member_status":
            await tx.execute(
                "UPDATE members SET status = ?, profile_confirmed_at = ?, unreachable_at = ? WHERE id = ?",
                (rng.choice(["active", "left", "pending"]), rng.choice([None, stamp]), rng.choice([None, None, stamp]),
                 member),
            )
        elif kind == "membership":
            await tx.execute(
                "UPDATE member_groups SET status = ? WHERE member_id = ?",
                (rng.choice(["active", "pending", "left", "rejected"]), member),
            )
        elif kind == "signup":
            await tx.execute("DELETE FROM activity_signups WHERE activity_id = ? AND member_id = ?", (activity, member))
            await tx.execute(
                "INSERT INTO activity_signups (activity_id, member_id, status, checked_in_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (activity, member, rng.choice(["confirmed", "confirmed", "waiting"]), rng.choice([None, stamp]),
                 stamp, stamp),
            )
        elif kind == "signup_status":
            await tx.execute(
                "UPDATE activity_signups SET status = ? WHERE activity_id = ?",
                (rng.choice(["confirmed", "cancelled", "not_going"]), activity),
            )
        elif kind == "checkin":
            await tx.execute(
                "UPDATE activity_signups SET checked_in_at = ? WHERE activity_id = ? AND member_id = ?",
                (rng.choice([None, stamp]), activity, member),
            )
        elif kind == "activity":
            starts = now + timedelta(hours=rng.randint(-24 * 20, 24 * 20))
            new = int(await tx.fetchval("SELECT MAX(id) FROM activities")) + 1  # the seed gave ids itself
            await tx.execute(
                "INSERT INTO activities (id, title, starts_at, ends_at, signup_deadline, status, has_groups,"
                " created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'published', 1, 1, ?, ?)",
                (new, f"活动 {step}", to_db(starts), to_db(starts + timedelta(hours=2)), to_db(starts), stamp, stamp),
            )
            await tx.execute(
                "INSERT INTO activity_groups (activity_id, group_id) VALUES (?, ?)", (new, rng.choice(GROUP_IDS[1:]))
            )
        elif kind == "activity_status":
            await tx.execute(
                "UPDATE activities SET status = ? WHERE id = ?", (rng.choice(["published", "cancelled"]), activity)
            )
        elif kind == "feedback":
            group = rng.choice(GROUP_IDS[1:])
            path = await tx.fetchval("SELECT path FROM groups WHERE id = ?", (group,))
            new = int(await tx.fetchval("SELECT MAX(id) FROM feedback_items")) + 1
            await tx.execute(
                "INSERT INTO feedback_items (id, year, seq, ref, kind, body, anonymous, author_member_id, status,"
                " due_at, created_at, updated_at) VALUES (?, 2026, ?, ?, ?, 'x', 0, ?, 'new', ?, ?, ?)",
                (new, 1000 + step, f"FB-2026-{1000 + step}", rng.choice(["suggestion", "need", "complaint"]),
                 member, to_db(now + timedelta(hours=rng.randint(-48, 48))), stamp, stamp),
            )
            await tx.execute(
                "INSERT INTO feedback_groups (feedback_id, group_id, path) VALUES (?, ?, ?)", (new, group, path)
            )
        elif kind == "answer":
            answered = rng.choice([True, False])
            await tx.execute(
                "UPDATE feedback_items SET status = ?, answer = ?, answered_at = ? WHERE id = ?",
                ("answered" if answered else "in_progress", "好" if answered else None, stamp if answered else None,
                 item),
            )
        elif kind == "block":
            user = await tx.fetchval("SELECT user_id FROM members WHERE id = ?", (member,))
            if user is not None:
                await tx.execute(
                    "INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (user_id) DO NOTHING", (user, stamp, stamp),
                )
                await tx.execute(
                    "UPDATE bot_users SET blocked_at = ? WHERE user_id = ?", (rng.choice([None, stamp]), user)
                )
        elif kind == "outbox":
            await tx.execute(
                "UPDATE outbox SET status = ? WHERE member_id = ?", (rng.choice(["sent", "blocked", "failed"]), member)
            )
        elif kind == "ack":
            notice = rng.choice([1, 2, 3])
            await tx.execute(
                "INSERT INTO notice_acks (notice_id, member_id, at) VALUES (?, ?, ?)"
                " ON CONFLICT (notice_id, member_id) DO NOTHING", (notice, member, stamp),
            )
        elif kind == "archive":
            await tx.execute(
                "UPDATE groups SET archived_at = ? WHERE id = ?", (rng.choice([None, stamp]), rng.choice(GROUP_IDS[1:]))
            )
    if kind == "clock":
        clock.advance(timedelta(hours=rng.randint(1, 24 * 10)))
    elif kind == "other_process":  # a CLI import, say: a connection the bot knows nothing of
        assert bot.settings is not None
        dbsync.execute(bot.settings, "UPDATE members SET category = 'media' WHERE id = ?", (member,))
    return kind


@pytest.mark.parametrize("seed_value", [1, 2, 3])
async def test_cached_stats_equal_a_recount_after_random_writes(
    bot: BotRuntime, clock: FakeClock, seed_value: int
) -> None:
    assert bot.db is not None and bot.services is not None
    clock.set(NOV + timedelta(days=10))
    await seed(bot.db)
    await seed_activity(bot.db)
    await seed_notices(bot.db)
    ledger = bot.services.ledger
    rng = random.Random(seed_value)
    done: list[str] = []
    for step in range(90):
        for scope in SCOPES:
            for period in (ledger.this_month(), ledger.this_year()):
                cached = await ledger.stats(scope, period)
                fresh = LedgerService(bot.db, bot.services.settings, clock)  # nothing cached
                assert cached == await fresh.stats(scope, period), (step, done[-3:], scope, period.code)
        done.append(await _write(bot, rng, clock, step))
    assert {"signup", "feedback", "clock", "other_process", "block"} <= set(done)


async def test_a_sign_up_recounts_only_its_activity(bot: BotRuntime, clock: FakeClock) -> None:
    """The busy bot's case: after a check-in, members, feedback and notices come from the cache and
    only the activity whose sign-ups changed is counted again."""
    assert bot.db is not None and bot.services is not None
    clock.set(NOV + timedelta(days=10))
    await seed(bot.db)
    await seed_activity(bot.db)
    ledger = bot.services.ledger
    scope, period = Scope(everything=True), ledger.this_month()
    before = await ledger.stats(scope, period)
    counted: list[object] = []
    original_count, original_rows = ledger._count, ledger.repo.activity_rows

    async def count(part: str, *args: object) -> object:
        counted.append(part)
        return await original_count(part, *args)  # type: ignore[arg-type]

    async def rows(*args: object, **kwargs: object) -> object:
        counted.append(("activities", kwargs.get("ids")))
        return await original_rows(*args, **kwargs)  # type: ignore[arg-type]

    ledger._count = count  # type: ignore[method-assign,assignment]
    ledger.repo.activity_rows = rows  # type: ignore[method-assign,assignment]
    async with bot.db.transaction() as tx:
        await tx.execute(
            "UPDATE activity_signups SET checked_in_at = created_at WHERE activity_id = 2 AND member_id = 6"
        )
    after = await ledger.stats(scope, period)
    assert counted == [("activities", [2])]
    attended = {r.activity_id: r.attended for r in before.activities.rows}
    assert {r.activity_id: r.attended for r in after.activities.rows} == attended | {2: attended[2] + 1}


async def test_stats_show_upcoming_sign_ups_on_their_own_line(tg: FakeTelegram, bot: BotRuntime) -> None:
    """#17: the sign-ups of an activity still to come are counted (not only held activities)."""
    assert bot.db is not None
    await seed(bot.db)
    await seed_activity(bot.db)  # 'Future forum' (Nov 28, one confirmed sign-up); the clock: Nov 22
    head = tg.create_user("总会", user_id=HEAD_COORDINATOR)
    await head.send("/stats")
    text = (await head.next_message()).text or ""
    assert "Upcoming: 1 activities, 1 sign-ups so far" in text
    await factories.bot_user(bot.db, GROUP_COORDINATOR, None)
    group = tg.create_user("组长", user_id=GROUP_COORDINATOR)
    await group.send("/stats")
    assert "即将举行" not in ((await group.next_message()).text or "")  # not addressed to their subtree
