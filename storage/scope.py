"""Scope in SQL: the ONE place that turns a coordinator's scope into a condition.

A scope is given as `paths`: None means everything (the head association's coordinators and the
owners); otherwise a tuple of group paths (``/1/2/``) whose subtrees are covered; an empty tuple
covers nothing. Every query that lists, counts or exports something a coordinator may see builds
its condition here (directory and its filters, member card, rosters, exports, stats, surveys,
audiences, feedback), so one rule cannot drift into four.

Each builder returns ``(sql, params)`` with ``?`` placeholders; aliases inside are prefixed ``s``
so they never clash with the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Paths = Sequence[str] | None
Clause = tuple[str, list[Any]]



def _true() -> Clause:
    return "1 = 1", []  # a fresh params list each time: callers may extend it


def _false() -> Clause:
    return "1 = 0", []


def _like(path: str) -> str:
    # Paths are digits and slashes; anything else is removed so a path is never a LIKE wildcard.
    return "".join(ch for ch in path if ch.isascii() and (ch.isdigit() or ch == "/")) + "%"


def path_in(paths: Paths, column: str) -> Clause:
    """`column` (a group path) lies inside one of the subtrees."""
    if paths is None:
        return _true()
    if not paths:
        return _false()
    clause = " OR ".join(f"{column} LIKE ?" for _ in paths)
    return f"({clause})", [_like(p) for p in paths]


def group_in(paths: Paths, group_column: str, *, live_only: bool = False) -> Clause:
    """The group `group_column` (an id) lies inside the scope (`live_only`: and is not archived)."""
    if paths is None:
        return _true()
    cond, params = path_in(paths, "sgr.path")
    if live_only:
        cond = f"sgr.archived_at IS NULL AND {cond}"
    return f"{group_column} IN (SELECT sgr.id FROM groups sgr WHERE {cond})", params  # noqa: S608


def within(inner: Sequence[str], outer: Paths) -> bool:
    """Every subtree of `inner` lies inside one of `outer`'s (None: everything), by the rule of
    `path_in`: then a condition on `inner` implies the same condition on `outer`."""
    if outer is None:
        return True
    prefixes = [_like(p)[:-1] for p in outer]
    return all(any(_like(p)[:-1].startswith(prefix) for prefix in prefixes) for p in inner)


def member_in(paths: Paths, member_column: str, *, active_only: bool = False) -> Clause:
    """The member belongs to (or asked to join, or belonged to) a group in scope.

    `active_only`: only active memberships of live groups count (audiences, directory).
    """
    if paths is None:
        return _true()
    cond, params = path_in(paths, "sg.path")
    status = "smg.status = 'active' AND sg.archived_at IS NULL" if active_only else "smg.status <> 'rejected'"
    return (
        f"{member_column} IN (SELECT smg.member_id FROM member_groups smg"  # noqa: S608 - fixed clauses
        f" JOIN groups sg ON sg.id = smg.group_id WHERE {status} AND {cond})",
        params,
    )


def activity_in(paths: Paths, activity_column: str) -> Clause:
    """An activity is in scope when it is addressed to a group there."""
    if paths is None:
        return _true()
    cond, params = path_in(paths, "sag_g.path")
    return (
        "EXISTS (SELECT 1 FROM activity_groups sag JOIN groups sag_g ON sag_g.id = sag.group_id"  # noqa: S608
        f" WHERE sag.activity_id = {activity_column} AND {cond})",
        params,
    )


def activity_within(paths: Paths, activity_column: str) -> Clause:
    """Every group the activity is addressed to lies in scope (and it has at least one)."""
    if paths is None:
        return _true()
    if not paths:
        return _false()
    cond, params = path_in(paths, "swg.path")
    return (
        "(EXISTS (SELECT 1 FROM activity_groups swa WHERE swa.activity_id = "  # noqa: S608
        f"{activity_column}) AND NOT EXISTS (SELECT 1 FROM activity_groups swa2 JOIN groups swg"
        f" ON swg.id = swa2.group_id WHERE swa2.activity_id = {activity_column} AND NOT {cond}))",
        params,
    )


def feedback_in(paths: Paths, item_column: str) -> Clause:
    """Feedback is in scope by the author's groups at submission time (feedback_groups)."""
    if paths is None:
        return _true()
    cond, params = path_in(paths, "sfg.path")
    return (
        f"EXISTS (SELECT 1 FROM feedback_groups sfg WHERE sfg.feedback_id = {item_column} AND {cond})",  # noqa: S608
        params,
    )


def survey_in(paths: Paths, survey_column: str) -> Clause:
    """A survey is in scope when one of the subtrees it targets is."""
    if paths is None:
        return _true()
    cond, params = path_in(paths, "sss.path")
    return (
        f"EXISTS (SELECT 1 FROM survey_scopes sss WHERE sss.survey_id = {survey_column} AND {cond})",  # noqa: S608
        params,
    )


def signups_in(paths: Paths, activity_column: str, member_column: str) -> Clause:
    """The sign-ups a scope sees: every sign-up of an activity whose groups all lie in scope (the
    roster rule), otherwise only the sign-ups of members in scope."""
    if paths is None:
        return _true()
    within, wp = activity_within(paths, activity_column)
    member, mp = member_in(paths, member_column)
    return f"({within} OR {member})", [*wp, *mp]
