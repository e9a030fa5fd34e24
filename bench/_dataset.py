"""Generate a large realistic ledger database, fast (plain sqlite3, executemany, big transactions).

    python bench/_dataset.py OUT.db [--members 100000]

Fills only the tables that exist (the schema comes from the project's migrations):
groups (1 + 6 + N), members with categories and statuses, memberships, bot users,
activities with sign-ups and check-ins, feedback items with their groups and authors,
and a few questionnaires. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.db import Database
from storage.migrations import migrate

CATEGORIES = [
    "民营企业和外资企业管理技术人员",
    "中介组织和社会组织从业人员",
    "自由职业人员",
    "新媒体从业人员",
]
SUBS = ["企业管理技术人员联谊会", "专业机构从业人员联谊会", "自由职业人员联谊会", "新媒体从业人员联谊会",
        "创新创业人员联谊会", "陆家嘴金融城新联会"]
NAMES = ["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "Alice", "Bob 🙂"]
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_S = int((datetime(2026, 11, 20, tzinfo=UTC) - EPOCH).total_seconds())
FMT = "%Y-%m-%dT%H:%M:%S.%fZ"


def ts(moment: datetime) -> str:
    return moment.strftime(FMT)


def rand_time(rng: random.Random) -> datetime:
    return EPOCH + timedelta(seconds=rng.randrange(SPAN_S))


async def create_schema(path: Path) -> None:
    db = await Database.open(path)
    try:
        await migrate(db)
    finally:
        await db.close()


def generate(path: Path, members: int, activities: int, signups: int, feedback: int, seed: int = 7) -> dict[str, int]:
    if path.exists():
        path.unlink()
    asyncio.run(create_schema(path))
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    now = ts(datetime(2026, 11, 20, tzinfo=UTC))
    counts: dict[str, int] = {}
    with conn:
        groups = [(1, None, "浦东新联总会", "head", "/1/", now)]
        for i, name in enumerate(SUBS, start=2):
            groups.append((i, 1, name, "sub", f"/1/{i}/", now))
        next_id = len(groups) + 1
        for sub in range(2, 2 + len(SUBS)):
            for j in range(10):
                groups.append((next_id, sub, f"街道新联会 {sub}-{j}", "local", f"/1/{sub}/{next_id}/", now))
                next_id += 1
        conn.executemany(
            "INSERT INTO groups (id, parent_id, name, kind, path, created_at) VALUES (?, ?, ?, ?, ?, ?)", groups
        )
        leaf_ids = [g[0] for g in groups if g[3] == "local"]
        counts["groups"] = len(groups)

        statuses = ["active"] * 90 + ["pending"] * 3 + ["left"] * 4 + ["erased"] * 3
        member_rows = []
        membership_rows = []
        user_rows = []
        for mid in range(1, members + 1):
            status = rng.choice(statuses)
            registered = rand_time(rng)
            confirmed = registered + timedelta(days=rng.randrange(0, 400))
            user_id = 10_000_000 + mid if status != "erased" else None
            member_rows.append((
                mid, user_id, status, None if status == "erased" else rng.choice(NAMES),
                rng.choice(CATEGORIES), ts(registered), ts(registered),
                ts(confirmed) if rng.random() < 0.7 else None,
                ts(registered) if rng.random() < 0.02 else None,
            ))
            for gid in rng.sample(leaf_ids, 2 if rng.random() < 0.3 else 1):
                mg_status = "pending" if status == "pending" else ("left" if status in ("left", "erased") else "active")
                membership_rows.append((mid, gid, mg_status, ts(registered)))
            if user_id is not None:
                user_rows.append((user_id, ts(registered), ts(registered)))
        conn.executemany(
            "INSERT INTO members (id, user_id, status, name, category, registered_at, updated_at,"
            " profile_confirmed_at, unreachable_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            member_rows,
        )
        conn.executemany(
            "INSERT INTO member_groups (member_id, group_id, status, requested_at) VALUES (?, ?, ?, ?)",
            membership_rows,
        )
        conn.executemany("INSERT INTO bot_users (user_id, started_at, last_seen_at) VALUES (?, ?, ?)", user_rows)
        counts.update(members=members, member_groups=len(membership_rows))
        del member_rows, user_rows

        if {"activities", "activity_signups", "activity_groups"} <= tables:
            per = max(1, signups // activities)
            act_rows, group_rows, signup_rows = [], [], []
            for aid in range(1, activities + 1):
                starts = rand_time(rng)
                act_rows.append((
                    aid, f"活动 {aid}", ts(starts), ts(starts + timedelta(hours=2)), ts(starts),
                    "cancelled" if rng.random() < 0.03 else "published", 1, now, now,
                ))
                if rng.random() < 0.8:
                    group_rows.append((aid, rng.choice(leaf_ids)))
                for member in rng.sample(range(1, members + 1), min(per, members)):
                    confirmed = rng.random() < 0.9
                    signup_rows.append((
                        aid, member, "confirmed" if confirmed else "cancelled",
                        ts(starts) if confirmed and rng.random() < 0.75 else None, ts(starts), ts(starts),
                    ))
            conn.executemany(
                "INSERT INTO activities (id, title, starts_at, ends_at, signup_deadline, status, created_by,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                act_rows,
            )
            conn.executemany("INSERT INTO activity_groups (activity_id, group_id) VALUES (?, ?)", group_rows)
            conn.executemany(
                "INSERT INTO activity_signups (activity_id, member_id, status, checked_in_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                signup_rows,
            )
            counts.update(activities=activities, activity_signups=len(signup_rows))
            del signup_rows

        if {"feedback_items", "feedback_groups", "feedback_authors"} <= tables:
            kinds = ["suggestion", "need", "complaint", "other"]
            fstatuses = ["new", "assigned", "in_progress", "answered", "closed"]
            items, fgroups, authors = [], [], []
            paths = {g[0]: g[4] for g in groups}
            for fid in range(1, feedback + 1):
                created = rand_time(rng)
                status = rng.choice(fstatuses)
                anonymous = int(rng.random() < 0.2)
                author = rng.randrange(1, members + 1)
                done = status in ("answered", "closed")
                answered = created + timedelta(hours=rng.randrange(1, 300)) if done else None
                items.append((
                    fid, created.year, fid, f"FB-{created.year}-{fid:06d}", rng.choice(kinds), f"建议内容 {fid}",
                    anonymous, None if anonymous else author, status, "已答复" if answered else None,
                    ts(answered) if answered else None, ts(created + timedelta(days=7)), ts(created), ts(created),
                ))
                gid = rng.choice(leaf_ids)
                fgroups.append((fid, gid, paths[gid]))
                authors.append((fid, author, 10_000_000 + author, ts(created)))
            conn.executemany(
                "INSERT INTO feedback_items (id, year, seq, ref, kind, body, anonymous, author_member_id, status,"
                " answer, answered_at, due_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                items,
            )
            conn.executemany("INSERT INTO feedback_groups (feedback_id, group_id, path) VALUES (?, ?, ?)", fgroups)
            conn.executemany(
                "INSERT INTO feedback_authors (feedback_id, member_id, user_id, created_at) VALUES (?, ?, ?, ?)",
                authors,
            )
            counts["feedback_items"] = feedback

        if {"notices", "notice_acks", "outbox"} <= tables:
            outbox, acks = [], []
            notice_count = max(5, members // 2000)
            for nid in range(1, notice_count + 1):
                sent = rand_time(rng)
                conn.execute(
                    "INSERT INTO notices (id, author_user_id, author_lang, text, segment, status, created_at, sent_at)"
                    " VALUES (?, 1, 'zh-Hans', ?, '{}', 'sent', ?, ?)",
                    (nid, f"<b>学习通知 {nid}</b> 请按时参加", ts(sent), ts(sent)),
                )
                for member in rng.sample(range(1, members + 1), min(2000, members)):
                    status = "sent" if rng.random() < 0.95 else "blocked"
                    outbox.append(("notice", nid, 10_000_000 + member, member, "x", status, ts(sent), ts(sent)))
                    if status == "sent" and rng.random() < 0.6:
                        acks.append((nid, member, ts(sent)))
            conn.executemany(
                "INSERT INTO outbox (kind, ref_id, chat_id, member_id, text, status, not_before, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                outbox,
            )
            conn.executemany("INSERT INTO notice_acks (notice_id, member_id, at) VALUES (?, ?, ?)", acks)
            counts.update(notices=notice_count, outbox=len(outbox))
    conn.execute("ANALYZE")
    conn.close()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    started = time.monotonic()
    scale = args.members / 100_000
    counts = generate(Path(args.out), args.members, max(10, int(2000 * scale)), int(500_000 * scale),
                      int(50_000 * scale))
    print(counts, f"in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
