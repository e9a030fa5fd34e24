"""A small known dataset for the ledger tests (core tables only), with its exact figures.

Groups:  1 浦东新联总会 /1/ (head)
         2 企业管理技术人员联谊会 /1/2/      3 陆家嘴金融城新联会 /1/2/3/
         4 新媒体从业人员联谊会 /1/4/        5 自由职业人员联谊会 /1/5/ (no members)
Members (category letter -> CATEGORIES):
  1 张伟 active A g2          2 李娜 active A g3         3 王芳 active B g4 unreachable
  4 刘洋 pending C g3 pending 5 陈静 erased B g4 left    6 Bob active D g4 (2025, stale)
  7 Eve active A g2+g4, registered in October, blocked the bot
Coordinators: 201 of group 2 (subtree /1/2/), 202 of group 1 (head: everything).
"""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import Database
from storage.timefmt import to_db

CATEGORIES = {
    "A": "民营企业和外资企业管理技术人员",
    "B": "新媒体从业人员",
    "C": "自由职业人员",
    "D": "中介组织和社会组织从业人员",
}
GROUPS = [
    (1, None, "浦东新联总会", "head", "/1/"),
    (2, 1, "企业管理技术人员联谊会", "sub", "/1/2/"),
    (3, 2, "陆家嘴金融城新联会", "local", "/1/2/3/"),
    (4, 1, "新媒体从业人员联谊会", "sub", "/1/4/"),
    (5, 1, "自由职业人员联谊会", "sub", "/1/5/"),
]
NOV = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
MEMBERS = [
    # id, user_id, status, name, cat, registered
    (1, 101, "active", "张伟", "A", NOV),
    (2, 102, "active", "李娜", "A", NOV),
    (3, 103, "active", "王芳", "B", NOV),
    (4, 104, "pending", "刘洋", "C", NOV),
    (5, None, "erased", None, "B", NOV),
    (6, 106, "active", "Bob", "D", datetime(2025, 1, 1, tzinfo=UTC)),
    (7, 107, "active", "Eve <b>", "A", datetime(2026, 10, 15, tzinfo=UTC)),
]
MEMBERSHIPS = [
    (1, 2, "active"), (2, 3, "active"), (3, 4, "active"), (4, 3, "pending"),
    (5, 4, "left"), (6, 4, "active"), (7, 2, "active"), (7, 4, "active"),
]
GROUP_COORDINATOR = 201
HEAD_COORDINATOR = 202


async def seed(db: Database) -> None:
    now = to_db(NOV)
    async with db.transaction() as tx:
        for gid, parent, name, kind, path in GROUPS:
            await tx.execute(
                "INSERT INTO groups (id, parent_id, name, kind, path, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (gid, parent, name, kind, path, now),
            )
        for mid, uid, status, name, cat, registered in MEMBERS:
            await tx.execute(
                "INSERT INTO members (id, user_id, status, name, category, phone, registered_at, updated_at,"
                " unreachable_at, erased_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mid, uid, status, name, CATEGORIES[cat], f"=1390000000{mid}" if mid == 1 else None,
                    to_db(registered), now, now if mid == 3 else None, now if status == "erased" else None,
                ),
            )
        for mid, gid, status in MEMBERSHIPS:
            await tx.execute(
                "INSERT INTO member_groups (member_id, group_id, status, requested_at) VALUES (?, ?, ?, ?)",
                (mid, gid, status, now),
            )
        for uid in (101, 102, 103, 104, 106, 107, GROUP_COORDINATOR, HEAD_COORDINATOR):
            await tx.execute(
                "INSERT INTO bot_users (user_id, language, started_at, last_seen_at, blocked_at) VALUES (?, ?, ?, ?, ?)",
                (uid, "en" if uid == HEAD_COORDINATOR else None, now, now, now if uid == 107 else None),
            )
        for uid, gid in ((GROUP_COORDINATOR, 2), (HEAD_COORDINATOR, 1)):
            await tx.execute(
                "INSERT INTO coordinators (user_id, group_id, appointed_by, appointed_at) VALUES (?, ?, ?, ?)",
                (uid, gid, 1, now),
            )
