"""The Mini App's paged reads: SQL only (issue #20).

The chat pages its lists 8 at a time with OFFSET; the Mini App shows tables of 50 rows over up to
100,000 members, so its lists page on the server by key (keyset pagination: "after this (name,
id)"), walking an index and stopping after one page, whatever the page's depth. Scope comes as
`paths` from the service (storage/scope.py's builders, the one scope rule). Totals are separate
calls so the caller can cache them (bot/webapp/cache.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.members.models import PendingRequest, SearchFilter
from storage.db import Database
from storage.members import directory_where
from storage.scope import Paths, feedback_in, path_in


@dataclass(frozen=True)
class DirectoryRow:
    id: int
    name: str
    category: str | None
    organisation: str | None
    expertise: tuple[str, ...]


async def directory_page(db: Database, flt: SearchFilter, after: tuple[str, int] | None,
                         limit: int) -> list[DirectoryRow]:
    """One page of the directory in (name, id) order, starting after the key `after`."""
    clause, params = directory_where(flt)
    if after is not None:
        # The row-value comparison is the key; the plain `>=` beside it lets SQLite seek the index.
        clause += " AND COALESCE(m.name, '') >= ? AND (COALESCE(m.name, ''), m.id) > (?, ?)"
        params += [after[0], after[0], after[1]]
    rows = await db.fetchall(
        "SELECT m.id, COALESCE(m.name, '') AS name, m.category, m.organisation FROM members m"  # noqa: S608
        f" WHERE {clause} ORDER BY COALESCE(m.name, ''), m.id LIMIT ?",
        (*params, limit),
    )
    ids = [int(r["id"]) for r in rows]
    tags: dict[int, list[str]] = {}
    if ids:
        marks = ", ".join("?" for _ in ids)
        for r in await db.fetchall(
            f"SELECT member_id, tag FROM member_expertise WHERE member_id IN ({marks}) ORDER BY tag", ids  # noqa: S608
        ):
            tags.setdefault(int(r["member_id"]), []).append(str(r["tag"]))
    return [DirectoryRow(int(r["id"]), str(r["name"]), r["category"], r["organisation"],
                         tuple(tags.get(int(r["id"]), ()))) for r in rows]


async def directory_count(db: Database, flt: SearchFilter) -> int:
    clause, params = directory_where(flt)
    return int(await db.fetchval(f"SELECT COUNT(*) FROM members m WHERE {clause}", params))  # noqa: S608


def _pending_where(paths: Paths) -> tuple[str, list[Any]]:
    cond, params = path_in(paths, "g.path")
    return (" FROM member_groups mg JOIN members m ON m.id = mg.member_id JOIN groups g ON g.id = mg.group_id"
            f" WHERE mg.status = 'pending' AND m.status IN ('pending', 'active') AND {cond}", params)


async def pending_page(db: Database, paths: Paths, after: tuple[str, int, int] | None,
                       limit: int) -> list[tuple[str, PendingRequest]]:
    """Join requests in scope, oldest first, one page after the key (requested_at, member, group)."""
    base, params = _pending_where(paths)
    if after is not None:
        base += " AND mg.requested_at >= ? AND (mg.requested_at, mg.member_id, mg.group_id) > (?, ?, ?)"
        params += [after[0], after[0], after[1], after[2]]
    rows = await db.fetchall(
        "SELECT mg.requested_at, m.id, m.user_id, m.name, g.id AS group_id, g.name AS group_name,"
        " m.category, m.organisation, m.phone" + base
        + " ORDER BY mg.requested_at, mg.member_id, mg.group_id LIMIT ?",
        (*params, limit),
    )
    return [(str(r["requested_at"]), PendingRequest(int(r["id"]), r["user_id"], r["name"], int(r["group_id"]),
                                                    str(r["group_name"]), r["category"], r["organisation"],
                                                    r["phone"])) for r in rows]


async def pending_count(db: Database, paths: Paths) -> int:
    base, params = _pending_where(paths)
    return int(await db.fetchval("SELECT COUNT(*)" + base, params))


_NOT_ACKED = (
    " FROM outbox o JOIN members m ON m.id = o.member_id"
    " WHERE o.kind = 'notice' AND o.ref_id = ? AND o.member_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM notice_acks a WHERE a.notice_id = o.ref_id AND a.member_id = o.member_id)"
)
# A recipient's group as the notice's pending list shows it (storage/notices.py `pending`): their
# deepest active group.
_GROUP_OF = (
    "COALESCE((SELECT g.name FROM member_groups mg JOIN groups g ON g.id = mg.group_id"
    " WHERE mg.member_id = m.id AND mg.status = 'active' ORDER BY g.path DESC LIMIT 1), '')"
)


async def not_acked_by_group(db: Database, notice_id: int) -> list[tuple[str, int]]:
    """Recipients of the notice who have not acknowledged, counted by group over the whole notice."""
    rows = await db.fetchall(
        f"SELECT {_GROUP_OF} AS group_name, COUNT(*) AS n" + _NOT_ACKED
        + " GROUP BY group_name ORDER BY n DESC, group_name",
        (notice_id,),
    )
    return [(str(r["group_name"]), int(r["n"])) for r in rows]


def _board_where(paths: Paths, status: str | None, overdue_at: str | None,
                 open_statuses: tuple[str, ...]) -> tuple[str, list[Any]]:
    cond, scope_params = feedback_in(paths, "f.id")
    where, params = [cond], list(scope_params)
    if overdue_at is not None:  # the 逾期 column: open and past the target time
        where.append(f"f.status IN ({', '.join('?' for _ in open_statuses)}) AND f.due_at < ?")
        params += [*open_statuses, overdue_at]
    elif status:
        where.append("f.status = ?")
        params.append(status)
    return " AND ".join(where), params


async def board_page(db: Database, paths: Paths, status: str | None, overdue_at: str | None,
                     open_statuses: tuple[str, ...], before: int | None, limit: int) -> list[int]:
    """Feedback item ids of one board column in scope, newest first, below the id `before`."""
    clause, params = _board_where(paths, status, overdue_at, open_statuses)
    if before is not None:
        clause += " AND f.id < ?"
        params.append(before)
    rows = await db.fetchall(
        f"SELECT f.id FROM feedback_items f WHERE {clause} ORDER BY f.id DESC LIMIT ?", (*params, limit)  # noqa: S608
    )
    return [int(r["id"]) for r in rows]


async def board_count(db: Database, paths: Paths, status: str | None, overdue_at: str | None,
                      open_statuses: tuple[str, ...]) -> int:
    clause, params = _board_where(paths, status, overdue_at, open_statuses)
    return int(await db.fetchval(f"SELECT COUNT(*) FROM feedback_items f WHERE {clause}", params))  # noqa: S608


@dataclass(frozen=True)
class BoardCard:
    id: int
    ref: str
    kind: str
    body: str
    status: str
    anonymous: bool
    author_name: str | None
    assignee_user_id: int | None
    answer: str | None
    due_at: str
    group_names: tuple[str, ...]
    attachments: int


async def board_cards(db: Database, ids: list[int]) -> list[BoardCard]:
    """The page's cards in three queries (not one item at a time). An anonymous item shows no group
    here (the chat's item view shows one only when the crowd is large enough)."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = await db.fetchall(
        "SELECT f.id, f.ref, f.kind, f.body, f.status, f.anonymous, f.assignee_user_id, f.answer, f.due_at,"  # noqa: S608
        " CASE WHEN f.anonymous = 0 THEN m.name END AS author_name,"
        " (SELECT COUNT(*) FROM feedback_attachments fa WHERE fa.feedback_id = f.id) AS files"
        f" FROM feedback_items f LEFT JOIN members m ON m.id = f.author_member_id WHERE f.id IN ({marks})",
        ids,
    )
    groups: dict[int, list[str]] = {}
    for r in await db.fetchall(
        "SELECT fg.feedback_id, g.name FROM feedback_groups fg JOIN groups g ON g.id = fg.group_id"  # noqa: S608
        f" WHERE fg.feedback_id IN ({marks}) ORDER BY fg.path", ids
    ):
        groups.setdefault(int(r["feedback_id"]), []).append(str(r["name"] or ""))
    by_id = {int(r["id"]): r for r in rows}
    return [BoardCard(i, str(c["ref"]), str(c["kind"]), str(c["body"]), str(c["status"]), bool(c["anonymous"]),
                      c["author_name"], c["assignee_user_id"], c["answer"], str(c["due_at"]),
                      () if c["anonymous"] else tuple(groups.get(i, ())), int(c["files"]))
            for i in ids if (c := by_id.get(i)) is not None]


async def notice_figures(db: Database, ids: list[int]) -> dict[int, tuple[int, int, int, int]]:
    """(recipients, delivered, failed, acknowledged) of each notice of a page, in two queries (the
    same counts as storage/notices.py `stats`, which counts one notice)."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    found = {i: (0, 0, 0, 0) for i in ids}
    for r in await db.fetchall(
        "SELECT ref_id, COUNT(*) AS total,"  # noqa: S608 - fixed clauses only
        " SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS delivered,"
        " SUM(CASE WHEN status IN ('blocked', 'failed', 'skipped') THEN 1 ELSE 0 END) AS failed"
        f" FROM outbox WHERE kind = 'notice' AND ref_id IN ({marks}) AND member_id IS NOT NULL GROUP BY ref_id",
        ids,
    ):
        found[int(r["ref_id"])] = (int(r["total"] or 0), int(r["delivered"] or 0), int(r["failed"] or 0), 0)
    for r in await db.fetchall(
        f"SELECT notice_id, COUNT(*) AS n FROM notice_acks WHERE notice_id IN ({marks}) GROUP BY notice_id", ids  # noqa: S608
    ):
        total, delivered, failed, _ = found[int(r["notice_id"])]
        found[int(r["notice_id"])] = (total, delivered, failed, int(r["n"]))
    return found
