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

import re
import zlib
from datetime import UTC, datetime

from storage.db import Database
from storage.timefmt import to_db
from tests import factories

CATEGORIES = {  # stored keys, as registration stores them (shown to people through bot/labels)
    "A": "enterprise",
    "B": "new_media",
    "C": "freelancer",
    "D": "intermediary",
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
    """The dataset above, through tests/factories.py (then what the factories do not set)."""
    now = to_db(NOV)
    for gid, parent, group_name, kind, _path in GROUPS:
        assert await factories.add_group(db, group_name, parent, kind, at=now) == gid
    for mid, uid, status, name, cat, registered in MEMBERS:
        fields = {"phone": "=13900000001"} if mid == 1 else {}
        if mid == 3:
            fields["unreachable_at"] = now
        if status == "erased":
            fields["erased_at"] = now
        groups = [gid for member, gid, _status in MEMBERSHIPS if member == mid]
        added = await factories.add_member(db, uid, name, groups, CATEGORIES[cat], status, at=to_db(registered),
                                           **fields)
        assert added == mid
    for uid in (101, 102, 103, 104, 106, 107, GROUP_COORDINATOR, HEAD_COORDINATOR):
        await factories.bot_user(db, uid, "en" if uid == HEAD_COORDINATOR else None, at=now)
    for uid, gid in ((GROUP_COORDINATOR, 2), (HEAD_COORDINATOR, 1)):
        await factories.add_coordinator(db, uid, gid, 1, at=now)
    async with db.transaction() as tx:
        await tx.executemany(
            "UPDATE member_groups SET status = ?, requested_at = ? WHERE member_id = ? AND group_id = ?",
            [(status, now, mid, gid) for mid, gid, status in MEMBERSHIPS],
        )
        await tx.execute("UPDATE bot_users SET blocked_at = ? WHERE user_id = 107", (now,))


def _t(text: str) -> str:
    return to_db(datetime.fromisoformat(text).replace(tzinfo=UTC))


# Activities (UTC): id, title, starts, ends, status, group or None
ACTIVITIES = [
    (1, "读书会", "2026-11-10T02:00", "2026-11-10T04:00", "published", 3),
    (2, "新媒体沙龙", "2026-11-15T06:00", "2026-11-15T08:00", "published", 4),
    (3, "取消的活动", "2026-11-12T02:00", "2026-11-12T04:00", "cancelled", 4),
    (4, "Future forum", "2026-11-28T02:00", "2026-11-28T04:00", "published", None),
    (5, "October walk", "2026-10-20T02:00", "2026-10-20T04:00", "published", 2),
]
# activity, member, status, checked in
SIGNUPS = [
    (1, 1, "confirmed", True), (1, 2, "confirmed", True), (1, 7, "confirmed", False), (1, 3, "cancelled", False),
    (2, 3, "confirmed", True), (2, 6, "confirmed", False), (2, 7, "waiting", False),
    (3, 6, "confirmed", False), (4, 1, "confirmed", False), (5, 1, "confirmed", True),
]
# id, kind, anonymous, author, group, status, created, answered, due
FEEDBACK = [
    (1, "suggestion", 0, 1, 2, "answered", "2026-11-06T00:00", "2026-11-06T10:00", "2026-11-13T00:00"),
    (2, "need", 1, 2, 3, "new", "2026-11-07T00:00", None, "2026-11-14T00:00"),
    (3, "complaint", 0, 3, 4, "closed", "2026-11-08T00:00", "2026-11-08T04:00", "2026-11-15T00:00"),
    (4, "suggestion", 0, 6, 4, "in_progress", "2026-11-20T00:00", None, "2026-11-27T00:00"),
    (5, "suggestion", 1, 6, 4, "answered", "2026-10-10T00:00", "2026-10-12T00:00", "2026-10-17T00:00"),
]
ANONYMOUS_BODY = "匿名的需求：希望增加夜间活动"


async def seed_activity(db: Database) -> None:
    """Activities, sign-ups, feedback and a questionnaire on top of `seed` (their own tables)."""
    now = to_db(NOV)
    async with db.transaction() as tx:
        for aid, title, starts, ends, status, group in ACTIVITIES:
            await tx.execute(
                "INSERT INTO activities (id, title, starts_at, ends_at, signup_deadline, status, has_groups,"
                " created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (aid, title, _t(starts), _t(ends), _t(starts), status, int(group is not None), 1, now, now),
            )
            if group is not None:
                await tx.execute("INSERT INTO activity_groups (activity_id, group_id) VALUES (?, ?)", (aid, group))
        for aid, mid, status, checked in SIGNUPS:
            starts = next(a[2] for a in ACTIVITIES if a[0] == aid)
            await tx.execute(
                "INSERT INTO activity_signups (activity_id, member_id, status, checked_in_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (aid, mid, status, _t(starts) if checked else None, now, now),
            )
        for fid, kind, anon, author, group, status, created, answered, due in FEEDBACK:
            body = ANONYMOUS_BODY if fid == 2 else f"建议 {fid}"
            await tx.execute(
                "INSERT INTO feedback_items (id, year, seq, ref, kind, body, anonymous, author_member_id, status,"
                " answer, answered_at, due_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    fid, 2026, fid, f"FB-2026-{fid:04d}", kind, body, anon, None if anon else author, status,
                    "已答复" if answered else None, _t(answered) if answered else None, _t(due), _t(created),
                    _t(created),
                ),
            )
            path = next(g[4] for g in GROUPS if g[0] == group)
            await tx.execute(
                "INSERT INTO feedback_groups (feedback_id, group_id, path) VALUES (?, ?, ?)", (fid, group, path)
            )
            user = next(m[1] for m in MEMBERS if m[0] == author)
            await tx.execute(
                "INSERT INTO feedback_authors (feedback_id, member_id, user_id, created_at) VALUES (?, ?, ?, ?)",
                (fid, author, user, _t(created)),
            )
        for sid, title, path in ((1, "满意度调查", "/1/2/"), (2, "新媒体调研", "/1/4/")):
            await tx.execute(
                "INSERT INTO surveys (id, title, created_by, invited, deadline_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (sid, title, 1, 3, now, now),
            )
            await tx.execute("INSERT INTO survey_scopes (survey_id, path) VALUES (?, ?)", (sid, path))
            await tx.execute(
                "INSERT INTO survey_questions (id, survey_id, position, kind, text, options) VALUES (?, ?, 1, ?, ?, ?)",
                (sid, sid, "single", "满意吗？", '["满意", "不满意"]'),
            )
        for rid, sid, mid, value in ((1, 1, 1, "0"), (2, 1, 2, "0"), (3, 1, 7, "1"), (4, 2, 3, "1")):
            await tx.execute(
                "INSERT INTO survey_responses (id, survey_id, member_id, started_at, completed_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (rid, sid, mid, now, now),
            )
            await tx.execute(
                "INSERT INTO survey_answers (response_id, question_id, value) VALUES (?, ?, ?)", (rid, sid, value)
            )


# Notices: id, sent, [(member, outbox status, acknowledged)]
NOTICES = [
    (1, "2026-11-09T01:00", [(1, "sent", True), (2, "sent", False), (3, "sent", True), (6, "sent", False),
                             (7, "blocked", False)]),
    (2, "2026-11-11T01:00", [(1, "sent", False), (2, "sent", True)]),
    (3, "2026-10-11T01:00", [(1, "sent", True)]),
]


async def seed_notices(db: Database) -> None:
    async with db.transaction() as tx:
        for nid, sent, recipients in NOTICES:
            await tx.execute(
                "INSERT INTO notices (id, author_user_id, author_lang, text, segment, status, created_at, sent_at)"
                " VALUES (?, ?, 'zh-Hans', ?, '{}', 'sent', ?, ?)",
                (nid, HEAD_COORDINATOR, f"<b>学习通知 {nid}</b> &amp; 材料", _t(sent), _t(sent)),
            )
            for mid, status, acked in recipients:
                await tx.execute(
                    "INSERT INTO outbox (kind, ref_id, chat_id, member_id, text, status, not_before, created_at)"
                    " VALUES ('notice', ?, ?, ?, 'x', ?, ?, ?)",
                    (nid, 1000 + mid, mid, status, _t(sent), _t(sent)),
                )
                if acked:
                    await tx.execute(
                        "INSERT INTO notice_acks (notice_id, member_id, at) VALUES (?, ?, ?)", (nid, mid, _t(sent))
                    )


# --- reading our documents back ------------------------------------------------------------------
def pdf_text(data: bytes) -> list[str]:
    """The text drawn on the pages of a matplotlib-made PDF: one string per text object (BT..ET).

    Enough for our own documents (no PDF library is installed): TrueType (Type 42) fonts with a
    ToUnicode map, text shown with TJ/Tj in Flate-compressed content streams.
    """
    objects = {int(m[1]): m[2] for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}
    dicts = {n: b.split(b"stream", 1)[0] for n, b in objects.items()}
    fonts: dict[bytes, dict[int, str]] = {}
    for body in dicts.values():
        for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", body):
            unicode_ref = re.search(rb"/ToUnicode (\d+) 0 R", dicts.get(int(number), b""))
            fonts[name] = _cmap(_stream(objects[int(unicode_ref[1])])) if unicode_ref else {}
    lines: list[str] = []
    for page in (b for b in dicts.values() if re.search(rb"/Type\s*/Page[^s]", b)):
        for number in re.findall(rb"/Contents (\d+) 0 R", page):
            lines += _shown_text(_stream(objects[int(number)]), fonts)
    return lines


def _stream(body: bytes) -> bytes:
    match = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
    if match is None:
        return b""
    raw = match[1]
    return zlib.decompress(raw) if b"/FlateDecode" in body.split(b"stream", 1)[0] else raw


def _cmap(text: bytes) -> dict[int, str]:
    out: dict[int, str] = {}

    def uni(hexa: bytes) -> str:
        return bytes.fromhex(hexa.decode()).decode("utf-16-be")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for code, dst in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            out[int(code, 16)] = uni(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(\[[^\]]*\]|<[0-9a-fA-F]+>)", block):
            first, last = int(lo, 16), int(hi, 16)
            if dst.startswith(b"["):
                for offset, item in enumerate(re.findall(rb"<([0-9a-fA-F]+)>", dst)):
                    out[first + offset] = uni(item)
            else:
                start = int(dst[1:-1], 16)
                for offset in range(last - first + 1):
                    out[first + offset] = chr(start + offset)
    return out


_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}


def _literal(content: bytes, i: int) -> tuple[bytes, int]:
    """The PDF literal string starting at content[i] == '(' and the index after it."""
    out = bytearray()
    depth, i = 1, i + 1
    while depth:
        c = content[i]
        if c == ord("\\"):
            nxt = content[i + 1]
            octal = re.match(rb"[0-7]{1,3}", content[i + 1 : i + 4])
            if octal:
                out.append(int(octal[0], 8) & 0xFF)
                i += 1 + len(octal[0])
                continue
            out += _ESCAPES.get(nxt, bytes([nxt]) if nxt not in (10, 13) else b"")
            i += 2
            continue
        depth += (c == ord("(")) - (c == ord(")"))
        if depth:
            out.append(c)
        i += 1
    return bytes(out), i


def _shown_text(content: bytes, fonts: dict[bytes, dict[int, str]]) -> list[str]:
    lines: list[str] = []
    current: list[str] = []
    operands: list[bytes | tuple[bytes]] = []  # strings are 1-tuples, everything else plain tokens
    font: dict[int, str] = {}
    i = 0
    while i < len(content):
        c = content[i : i + 1]
        if c == b"(":
            string, i = _literal(content, i)
            operands.append((string,))
            continue
        if c.isspace() or c in b"[]":
            i += 1
            continue
        token = re.match(rb"/?[^\s\[\]()/<>]+|<[^>]*>", content[i:])
        if token is None:
            i += 1
            continue
        word = token[0]
        i += len(word)
        if word.startswith((b"/", b"<")) or re.fullmatch(rb"[-+.0-9]+", word):
            operands.append(word)
            continue
        if word == b"Tf" and len(operands) >= 2 and isinstance(operands[-2], bytes):
            font = fonts.get(operands[-2][1:], {})
        elif word in (b"TJ", b"Tj", b"'", b'"'):
            for item in operands:
                if isinstance(item, tuple):
                    raw = item[0]
                    codes = [int.from_bytes(raw[k : k + 2], "big") for k in range(0, len(raw) - 1, 2)]
                    current.append("".join(font.get(code, chr(code)) for code in codes))
        elif word == b"BT":
            current = []
        elif word == b"ET":
            lines.append("".join(current))
        operands = []
    return lines
