"""City scale on PostgreSQL: 16 district trees of 1+6+N, 1,000,000 members (issue 19).

    python bench/scale.py            # 1,000,000 members (loading takes a few minutes)
    python bench/scale.py --quick    # 100,000 members (run_all.py)
    python bench/scale.py --members 250000

The database: the PostgreSQL server at LIAISON_DATABASE_URL (a database is created and dropped),
else a throwaway cluster (tests/pg_cluster.py). A child process migrates the schema and loads
the city with COPY (psycopg's `Cursor.copy` / `write_row`, rows generated as a stream); this
process then measures what a coordinator waits for, through the services the bot uses:

* segment counts (the notice preview): the city, one district, one sub-association, one category
  of one district, one category of the city, one district narrowed to a local group — the
  largest is reported;
  goal <= 200 ms;
* enqueueing a notice to everyone in the city (`NoticeService.create`, the same call /notify
  makes): goal <= 60 s;
* /stats for the city (`LedgerService.stats`, a fresh service, nothing cached), before and right
  after the city-wide notice: goal <= 1 s (both); a district's /stats is reported beside it;
* this process's peak resident memory (VmHWM): goal < 300 MB.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import postgresql_database

DISTRICTS = 16
SUBS = 6
LOCALS_PER_SUB = 10
OWNER_ID = 9000001
CATEGORIES = ["民营企业和外资企业管理技术人员", "中介组织和社会组织从业人员", "自由职业人员", "新媒体从业人员"]
NAMES = ["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "Alice", "Bob 🙂"]
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_S = int((NOW - EPOCH).total_seconds())


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# --- loading (child process) ------------------------------------------------------------------
def city_groups() -> list[tuple[int, int | None, str, str, str, str]]:
    """(id, parent_id, name, kind, path, created_at) of 16 trees of 1 + 6 + 60."""
    now = ts(NOW)
    rows: list[tuple[int, int | None, str, str, str, str]] = []
    next_id = 1
    for district in range(1, DISTRICTS + 1):
        head = next_id
        next_id += 1
        rows.append((head, None, f"第{district}区新联总会", "head", f"/{head}/", now))
        for sub in range(1, SUBS + 1):
            sub_id = next_id
            next_id += 1
            rows.append((sub_id, head, f"第{district}区联谊会 {sub}", "sub", f"/{head}/{sub_id}/", now))
            for local in range(1, LOCALS_PER_SUB + 1):
                rows.append((next_id, sub_id, f"第{district}区街道新联会 {sub}-{local}", "local",
                             f"/{head}/{sub_id}/{next_id}/", now))
                next_id += 1
    return rows


def load(url: str, members: int, seed: int = 19) -> dict[str, Any]:
    """Migrate and fill the city with COPY; returns the row counts and seconds taken."""
    import psycopg

    from storage.migrations import migrate
    from storage.pg import PgDatabase

    started = time.perf_counter()

    async def schema() -> None:
        db = await PgDatabase.connect(url)
        try:
            await migrate(db)
        finally:
            await db.close()

    asyncio.run(schema())
    rng = random.Random(seed)
    groups = city_groups()
    locals_by_district: dict[int, list[int]] = {}
    head_of: dict[int, int] = {}
    for gid, _parent, _name, kind, path, _at in groups:
        head_of[gid] = int(path.strip("/").split("/")[0])
        if kind == "local":
            locals_by_district.setdefault(head_of[gid], []).append(gid)
    heads = sorted(locals_by_district)
    statuses = ["active"] * 92 + ["pending"] * 3 + ["left"] * 3 + ["erased"] * 2
    counts: dict[str, int] = {"groups": len(groups), "members": members}

    def member_rows() -> Iterator[tuple[Any, ...]]:
        memberships = bot_users = 0
        for mid in range(1, members + 1):
            status = rng.choice(statuses)
            registered = EPOCH + timedelta(seconds=rng.randrange(SPAN_S))
            user_id = 10_000_000 + mid if status != "erased" else None
            stamp = ts(registered)
            district = heads[mid % DISTRICTS]
            local = locals_by_district[district]
            member_row = (mid, user_id, status, None if status == "erased" else rng.choice(NAMES),
                          rng.choice(CATEGORIES), stamp, stamp,
                          stamp if rng.random() < 0.7 else None, stamp if rng.random() < 0.01 else None)
            mg_status = "pending" if status == "pending" else ("left" if status in ("left", "erased") else "active")
            chosen = rng.sample(local, 2 if rng.random() < 0.3 else 1)
            memberships += len(chosen)
            user = None
            if user_id is not None:
                bot_users += 1
                user = (user_id, "en" if rng.random() < 0.1 else None, "zh-hans", stamp, stamp)
            yield member_row, [(mid, gid, mg_status, stamp) for gid in chosen], user
        counts["member_groups"] = memberships
        counts["bot_users"] = bot_users

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        # The throwaway cluster commits asynchronously (synchronous_commit=off): VACUUM right after
        # such a commit cannot set the rows' hint bits, so it marks no page all-visible and every
        # index-only count then reads the table too -- a state autovacuum ends in a live database.
        # A synchronous commit of the load leaves the settled database that is meant to be measured.
        cur.execute("SET synchronous_commit = on")
        with cur.copy("COPY groups (id, parent_id, name, kind, path, created_at) FROM STDIN") as copy:
            for row in groups:
                copy.write_row(row)
        # Three COPY streams cannot be open at once on one connection: members first (the
        # memberships and users are written to spill lists of tuples, cheap next to the rows).
        spill_groups: list[tuple[Any, ...]] = []
        spill_users: list[tuple[Any, ...]] = []
        with cur.copy("COPY members (id, user_id, status, name, category, registered_at, updated_at,"
                      " profile_confirmed_at, unreachable_at) FROM STDIN") as copy:
            for member_row, memberships, user in member_rows():
                copy.write_row(member_row)
                spill_groups.extend(memberships)
                if user is not None:
                    spill_users.append(user)
        with cur.copy("COPY member_groups (member_id, group_id, status, requested_at) FROM STDIN") as copy:
            for row in spill_groups:
                copy.write_row(row)
        del spill_groups
        with cur.copy("COPY bot_users (user_id, language, tg_language, started_at, last_seen_at)"
                      " FROM STDIN") as copy:
            for row in spill_users:
                copy.write_row(row)
        del spill_users
        activities = max(160, members // 500)  # 2,000 for a million
        signups = 0
        with cur.copy("COPY activities (id, title, starts_at, ends_at, signup_deadline, status, created_by,"
                      " created_at, updated_at, has_groups) FROM STDIN") as copy:
            for aid in range(1, activities + 1):
                starts = EPOCH + timedelta(seconds=rng.randrange(SPAN_S))
                copy.write_row((aid, f"活动 {aid}", ts(starts), ts(starts + timedelta(hours=2)), ts(starts),
                                "cancelled" if rng.random() < 0.03 else "published", OWNER_ID, ts(NOW), ts(NOW), 1))
        with cur.copy("COPY activity_groups (activity_id, group_id) FROM STDIN") as copy:
            for aid in range(1, activities + 1):
                copy.write_row((aid, rng.choice(locals_by_district[heads[aid % DISTRICTS]])))
        with cur.copy("COPY activity_signups (activity_id, member_id, status, checked_in_at, created_at,"
                      " updated_at) FROM STDIN") as copy:
            for aid in range(1, activities + 1):
                for member in rng.sample(range(1, members + 1), 100):
                    confirmed = rng.random() < 0.9
                    copy.write_row((aid, member, "confirmed" if confirmed else "cancelled",
                                    ts(NOW) if confirmed and rng.random() < 0.75 else None, ts(NOW), ts(NOW)))
                    signups += 1
        counts.update(activities=activities, activity_signups=signups)
        for table in ("groups", "members", "activities"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    counts["load_s"] = round(time.perf_counter() - started, 1)
    return counts


# --- measuring (this process) -------------------------------------------------------------------
def memory_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def timed(work: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = await work
    return value, time.perf_counter() - started


async def measure(url: str) -> dict[str, Any]:
    from bot.clock import FakeClock
    from bot.config import load_settings
    from bot.i18n import Catalog
    from bot.ledger.service import LedgerService
    from bot.notices import Segment
    from bot.notices.models import Draft
    from bot.roles import Actor, Role
    from bot.scope import Scope
    from bot.services import Services
    from storage.pg import PgDatabase

    settings = load_settings(None, LIAISON_DATABASE_URL=url, LIAISON_OWNERS=str(OWNER_ID))
    clock = FakeClock(NOW)
    db = await PgDatabase.connect(url)
    try:
        services = Services.create(settings, db, clock, Catalog.load(settings.language))
        segments = services.notices.segments
        head = await db.fetchone("SELECT id, path FROM groups WHERE kind = 'head' ORDER BY id LIMIT 1")
        sub = await db.fetchone("SELECT id, path FROM groups WHERE kind = 'sub' ORDER BY id LIMIT 1")
        local = await db.fetchone("SELECT id, path FROM groups WHERE kind = 'local' ORDER BY id LIMIT 1")
        assert head is not None and sub is not None and local is not None
        city = Scope(everything=True)
        district = Scope(paths=(str(head["path"]),))
        cases = {
            "city": (Segment(everyone=True), city),
            "district": (Segment(everyone=True), district),
            "sub": (Segment(group_ids=(int(sub["id"]),)), city),
            "district_category": (Segment(categories=(CATEGORIES[2],)), district),
            "city_category": (Segment(categories=(CATEGORIES[2],)), city),
            "district_local": (Segment(group_ids=(int(local["id"]),)), district),
        }
        counts: dict[str, dict[str, float]] = {}
        for name, (segment, scope) in cases.items():
            await segments.count(db, segment, scope)  # warm the cache pages once
            best = float("inf")
            found = 0
            for _ in range(3):
                found, seconds = await timed(segments.count(db, segment, scope))
                best = min(best, seconds)
            counts[name] = {"members": found, "ms": round(best * 1000, 1)}
            print(f"segment count {name}: {found} in {best * 1000:.1f} ms", flush=True)

        ledger = LedgerService(db, settings, clock)
        stats, stats_s = await timed(ledger.stats(city, ledger.this_year()))
        print(f"/stats city (cold): {stats_s:.2f} s, {stats.members.total} members", flush=True)
        district_ledger = LedgerService(db, settings, clock)
        _, stats_district_s = await timed(district_ledger.stats(district, district_ledger.this_year()))
        print(f"/stats district (cold): {stats_district_s:.2f} s", flush=True)

        owner = Actor(OWNER_ID, Role.OWNER, scope=city)
        draft = Draft("<b>全市通知</b> 请各区按时报送材料。", Segment(everyone=True), paid=True)
        created, enqueue_s = await timed(services.notices.create(owner, draft, "zh-Hans"))
        queued = int(await db.fetchval("SELECT COUNT(*) FROM outbox WHERE kind = 'notice' AND ref_id = ?",
                                       (created.notice_id,)))
        print(f"enqueue to the city: {created.recipients} recipients, {queued} outbox rows in {enqueue_s:.1f} s",
              flush=True)
        # After a million-row enqueue: what the next small write costs (an outbox scan would show here).
        _, next_s = await timed(services.notices.create(
            Actor(OWNER_ID, Role.OWNER, scope=city), Draft("小范围通知", Segment(group_ids=(int(local["id"]),))),
            "zh-Hans"))
        print(f"next small notice: {next_s * 1000:.0f} ms", flush=True)
        after = LedgerService(db, settings, clock)  # the city's notice now counts in /stats
        _, stats_after_s = await timed(after.stats(city, after.this_year()))
        print(f"/stats city after the notice (cold): {stats_after_s:.2f} s", flush=True)
        district_after = LedgerService(db, settings, clock)  # a district's /stats counts from the outbox
        _, stats_district_after_s = await timed(district_after.stats(district, district_after.this_year()))
        print(f"/stats district after the notice (cold): {stats_district_after_s:.2f} s", flush=True)
    finally:
        await db.close()
    rss = memory_mb()
    return {
        "segment_count_ms": max(c["ms"] for c in counts.values()),
        "segment_counts": counts,
        "enqueue_s": round(enqueue_s, 2),
        "enqueued": queued,
        "recipients": created.recipients,
        "next_small_notice_ms": round(next_s * 1000, 1),
        "stats_s": round(stats_s, 3),
        "stats_district_s": round(stats_district_s, 3),
        "stats_after_notice_s": round(stats_after_s, 3),
        "stats_district_after_notice_s": round(stats_district_after_s, 3),
        "rss_mb": round(rss, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 members")
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    members = args.members or (100_000 if args.quick else 1_000_000)
    if args.load:
        print(json.dumps(load(args.load, members)))
        return 0
    with postgresql_database() as url:
        child = subprocess.run([sys.executable, __file__, "--load", url, "--members", str(members)],
                               check=True, capture_output=True, text=True)
        loaded = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"loaded: {loaded}", flush=True)
        figures = asyncio.run(measure(url))
    figures.update(members=members, districts=DISTRICTS, load_s=loaded["load_s"],
                   rows={k: v for k, v in loaded.items() if k != "load_s"},
                   goals_met={"segment_count_ms<=200": figures["segment_count_ms"] <= 200,
                              "enqueue_s<=60": figures["enqueue_s"] <= 60,
                              "stats_s<=1": max(figures["stats_s"], figures["stats_after_notice_s"]) <= 1,
                              "rss_mb<300": figures["rss_mb"] < 300})
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
