"""SQL behind audience selection: active, reachable members by scope, group subtree and category."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from storage.db import Database


class Reader(Protocol):
    async def fetchall(self, sql: str, params: Any = ()) -> Any: ...


class Recipient(NamedTuple):
    """One member a notice goes to. Immutable like the frozen dataclasses elsewhere, but a
    NamedTuple: a segment can hold 100,000 of them, and building one costs about a third of a
    frozen dataclass (measured 16 -> 5 ms for 18,000 recipients; issue #10)."""

    member_id: int
    user_id: int
    language: str | None


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    path: str


def path_clause(alias: str, paths: Sequence[str], params: list[Any]) -> str:
    clauses = []
    for path in paths:
        clauses.append(f"{alias}.path LIKE ?")
        params.append(path.replace("%", "").replace("_", "") + "%")
    return "(" + " OR ".join(clauses) + ")"


def in_groups(paths: Sequence[str], params: list[Any]) -> str:
    """`m.id IN (...)`: members with an active membership in a live group under one of `paths`."""
    sub = path_clause("g", paths, params)
    # IN (subquery) lets the planner walk the groups of the segment first (measured 189 -> ~75 ms
    # for a group of 100,000 members) instead of probing every member with EXISTS.
    return (
        "m.id IN (SELECT mg.member_id FROM member_groups mg JOIN groups g ON g.id = mg.group_id"  # noqa: S608
        f" WHERE mg.status = 'active' AND g.archived_at IS NULL AND {sub})"
    )


def reachable(scope_paths: Sequence[str] | None, params: list[Any]) -> str | None:
    """Where-clause (alias `m`) of active members with a Telegram account who are not marked
    unreachable, inside `scope_paths` (None = everything); None when the scope is empty."""
    where = ["m.status = 'active'", "m.user_id IS NOT NULL", "m.unreachable_at IS NULL"]
    if scope_paths is not None:
        if not scope_paths:
            return None
        where.append(in_groups(scope_paths, params))
    return " AND ".join(where)


def _members_where(
    scope_paths: Sequence[str] | None, group_paths: Sequence[str], categories: Sequence[str], params: list[Any]
) -> str | None:
    where = reachable(scope_paths, params)
    if where is None:
        return None
    if categories:
        where += " AND m.category IN (" + ", ".join("?" for _ in categories) + ")"
        params.extend(categories)
    if group_paths:
        where += " AND " + in_groups(group_paths, params)
    return where


def recipients(rows: Sequence[Any]) -> list[Recipient]:
    """Rows of (member id, user id, language) as recipients (positional access: the fast path)."""
    make = Recipient._make
    return [make(r) for r in rows]


async def members(
    reader: Reader,
    *,
    scope_paths: Sequence[str] | None,
    group_paths: Sequence[str] = (),
    categories: Sequence[str] = (),
) -> list[Recipient]:
    """Active members with a Telegram account who are not marked unreachable.

    `scope_paths` None means everything; otherwise members of a group in one of those subtrees.
    `group_paths` (subtrees) and `categories` narrow the selection further when given.
    """
    params: list[Any] = []
    where = _members_where(scope_paths, group_paths, categories, params)
    if where is None:
        return []
    sql = (
        "SELECT m.id, m.user_id, COALESCE(bu.language, bu.tg_language) AS language"  # noqa: S608
        " FROM members m LEFT JOIN bot_users bu ON bu.user_id = m.user_id"
        f" WHERE {where} ORDER BY m.id"  # (clauses are fixed strings, values are parameters)
    )
    return recipients(await reader.fetchall(sql, params))


async def count_members(
    reader: Reader,
    *,
    scope_paths: Sequence[str] | None,
    group_paths: Sequence[str] = (),
    categories: Sequence[str] = (),
) -> int:
    """How many `members(...)` would return, without fetching them (for previews)."""
    params: list[Any] = []
    where = _members_where(scope_paths, group_paths, categories, params)
    if where is None:
        return 0
    rows = await reader.fetchall(f"SELECT COUNT(*) FROM members m WHERE {where}", params)  # noqa: S608
    return int(rows[0][0])


class SegmentRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def groups(self, scope_paths: Sequence[str] | None) -> list[GroupRow]:
        params: list[Any] = []
        where = "g.archived_at IS NULL"
        if scope_paths is not None:
            if not scope_paths:
                return []
            where += " AND " + path_clause("g", scope_paths, params)
        rows = await self._db.fetchall(
            f"SELECT g.id, g.name, g.path FROM groups g WHERE {where} ORDER BY g.path",  # noqa: S608
            params,
        )
        return [GroupRow(int(r["id"]), str(r["name"]), str(r["path"])) for r in rows]

    async def group_paths(self, group_ids: Sequence[int]) -> dict[int, str]:
        if not group_ids:
            return {}
        rows = await self._db.fetchall(
            "SELECT id, path FROM groups WHERE id IN (" + ", ".join("?" for _ in group_ids) + ")",  # noqa: S608
            list(group_ids),
        )
        return {int(r["id"]): str(r["path"]) for r in rows}

    async def categories(self) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT DISTINCT category FROM members WHERE category IS NOT NULL AND status = 'active' ORDER BY category"
        )
        return [str(r["category"]) for r in rows]
