"""The pure rules of activities: who may sign up (the judge of the one-trip sign-up), valid
times and edits, and the parsers of what a coordinator types. No I/O, no `telegram`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.activities.models import ACTIVE, Activity, SignupContext

TIME_FIELDS = ("starts_at", "ends_at", "signup_deadline")
EDIT_FIELDS = ("title", "description", "place", *TIME_FIELDS)


@dataclass(frozen=True)
class Eligibility:
    """Who may sign up: members in the subtree of any listed group (if any) AND of a listed
    category (if any). No groups and no categories: every active member."""

    group_paths: tuple[str, ...]
    categories: tuple[str, ...]

    def allows(self, member_paths: Sequence[str], category: str | None) -> bool:
        if self.group_paths and not any(p.startswith(g) for p in member_paths for g in self.group_paths):
            return False
        return not self.categories or (category is not None and category in self.categories)


def signup_refusal(ctx: SignupContext, paths: tuple[list[str], list[str]], *, now: datetime) -> str | None:
    """Why this sign-up may not go ahead (None: it may): the code of ``act.r.<code>``.

    Pure: it runs on the database thread inside the one write transaction of the sign-up.
    """
    a = ctx.activity
    if ctx.member_id is None or ctx.member_status != "active":
        return "not_member"
    if a.status == "cancelled":
        return "cancelled"
    if ctx.signup_status in ACTIVE:
        return f"already_{ctx.signup_status}"
    if a.status == "closed" or now >= a.signup_deadline:
        return "deadline"
    if (a.categories or a.has_groups) and not Eligibility(tuple(paths[0]), a.categories).allows(paths[1], ctx.category):
        return "not_eligible"
    return None


def validate_times(starts_at: datetime, ends_at: datetime, deadline: datetime, now: datetime) -> str | None:
    """The code (``act.bad.<code>``) of the first problem with these times, or None."""
    if starts_at <= now:
        return "start_past"
    if ends_at <= starts_at:
        return "end_before_start"
    if deadline <= now:
        return "deadline_past"
    if deadline > starts_at:
        return "deadline_after_start"
    return None


def plan_edit(a: Activity, changes: dict[str, Any], now: datetime) -> tuple[dict[str, Any], str | None]:
    """The full set of changes for an edit and the code of its first problem, or None.

    Times are checked (as at creation) only when a time changes. A start moved before the
    sign-up deadline pulls the deadline along; an already-passed deadline does not block moving
    the times, but a new deadline must be in the future.
    """
    out = dict(changes)
    if not any(f in out for f in TIME_FIELDS):
        return out, None
    starts = out.get("starts_at", a.starts_at)
    ends = out.get("ends_at", a.ends_at)
    if "signup_deadline" in out:
        deadline = out["signup_deadline"]
        if deadline <= now:
            return out, "deadline_past"
    else:
        deadline = min(a.signup_deadline, starts)
        if "starts_at" in out and deadline != a.signup_deadline:
            out["signup_deadline"] = deadline
        deadline = deadline if deadline > now else now + timedelta(seconds=1)
    return out, validate_times(starts, ends, deadline, now)


def parse_capacity(text: str) -> int | None:
    """A positive seat count; raises ValueError for zero, negatives and non-numbers."""
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        raise ValueError(value)
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number


def parse_offsets(text: str) -> tuple[int, ...]:
    """Reminder offsets like '1d,2h,30m' (minutes before the start); ValueError if malformed."""
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        if len(part) < 2 or not part.isascii() or not part[:-1].isdigit() or part[-1] not in "dhm":
            raise ValueError(part)
        minutes = int(part[:-1]) * {"d": 1440, "h": 60, "m": 1}[part[-1]]
        if not 0 < minutes <= 60 * 24 * 60:
            raise ValueError(part)
        out.append(minutes)
    if not out or len(out) > 5:
        raise ValueError(text)
    return tuple(sorted(set(out), reverse=True))


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    day = min(moment.day, 28)
    return moment.replace(year=year, month=month, day=day)


def shifted(moment: datetime, repeat: str, n: int) -> datetime:
    """The n-th occurrence's moment of a weekly or monthly series."""
    return add_months(moment, n) if repeat == "monthly" else moment + timedelta(weeks=n)
