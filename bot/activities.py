"""Activities: creation, publication, sign-up with capacity and waitlist, offers, reminders,
check-in and surveys. Domain rules only (no `telegram` import); SQL lives in storage/activities.

Every outcome a user can meet is a `Result` whose `code` names a catalogue key
(``act.r.<code>``) so handlers stay thin.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Language
from bot.dates import show
from bot.i18n import Catalog, Markup
from bot.roles import Actor, Scope
from storage import activities as st
from storage.activities import Activity as Activity  # re-exported: handlers never import storage
from storage.activities import ActivityRepo, NewActivity, Recipient
from storage.activities import RosterEntry as RosterEntry  # re-exported: handlers never import storage
from storage.audit import record
from storage.db import Database, Tx
from storage.outbox import OutgoingMessage, enqueue

log = logging.getLogger(__name__)

__all__ = [
    "CATEGORIES",
    "DEFAULT_REMINDERS",
    "MAX_TEXT",
    "MAX_TITLE",
    "Activity",
    "ActivityService",
    "Draft",
    "Result",
    "RosterEntry",
    "parse_capacity",
    "parse_offsets",
    "plan_edit",
]

CATEGORIES = ("1", "2", "3", "4")
DEFAULT_REMINDERS = (1440, 120)
SURVEY_STILL_MEANINGFUL = timedelta(days=3)
CHECKIN_EARLY = timedelta(minutes=30)
MAX_TITLE = 120
MAX_TEXT = 1500
MANAGE_SINCE = timedelta(days=7)
HOLDING_OR_WAITING = ("confirmed", "waiting", "offered")


@dataclass(frozen=True)
class Result:
    ok: bool
    code: str
    activity: Activity | None = None
    position: int = 0
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def fail(code: str, activity: Activity | None = None, status: str | None = None) -> Result:
    return Result(False, code, activity, status=status)


def _refusal(ctx: st.SignupContext, paths: tuple[list[str], list[str]], *, now: datetime) -> str | None:
    """Why this sign-up may not go ahead (None: it may). Pure: runs inside the write transaction."""
    a = ctx.activity
    if ctx.member_id is None or ctx.member_status != "active":
        return "not_member"
    if a.status == "cancelled":
        return "cancelled"
    if ctx.signup_status in st.ACTIVE:
        return f"already_{ctx.signup_status}"
    if a.status == "closed" or now >= a.signup_deadline:
        return "deadline"
    if (a.categories or a.has_groups) and not Eligibility(tuple(paths[0]), a.categories).allows(paths[1], ctx.category):
        return "not_eligible"
    return None


def _signup_result(attempt: st.SignupAttempt) -> Result:
    ctx = attempt.context
    if ctx is None:
        return fail("no_activity")
    a = ctx.activity
    if attempt.refusal is not None:
        if attempt.refusal.startswith("already_"):
            return Result(False, attempt.refusal, a, attempt.position, ctx.signup_status)
        return fail(attempt.refusal, a)
    ticket = attempt.ticket
    assert ticket is not None
    if ticket.status == "confirmed":
        return Result(True, "confirmed", _with(a, seats_taken=a.seats_taken + 1), status="confirmed")
    return Result(True, "waiting", a, ticket.position, "waiting")


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


@dataclass(frozen=True)
class Draft:
    """What a coordinator typed in the /newactivity conversation."""

    title: str
    description: str
    place: str
    starts_at: datetime
    ends_at: datetime
    signup_deadline: datetime
    capacity: int | None
    group_ids: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    reminder_offsets: tuple[int, ...] = DEFAULT_REMINDERS
    survey: bool = False
    offer_hours: int | None = None
    repeat: Literal["none", "weekly", "monthly"] = "none"
    occurrences: int = 1


def validate_times(starts_at: datetime, ends_at: datetime, deadline: datetime, now: datetime) -> str | None:
    """The catalogue suffix of the first problem with these times, or None."""
    if starts_at <= now:
        return "start_past"
    if ends_at <= starts_at:
        return "end_before_start"
    if deadline <= now:
        return "deadline_past"
    if deadline > starts_at:
        return "deadline_after_start"
    return None


TIME_FIELDS = ("starts_at", "ends_at", "signup_deadline")
EDIT_FIELDS = ("title", "description", "place", *TIME_FIELDS)


def plan_edit(a: Activity, changes: dict[str, Any], now: datetime) -> tuple[dict[str, Any], str | None]:
    """The full set of changes for an edit and the catalogue suffix of its first problem, or None.

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
    if not value.isdigit() or len(value) > 6:
        raise ValueError(value)
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number


def parse_offsets(text: str) -> tuple[int, ...]:
    """Reminder offsets like '1d,2h,30m' (minutes before the start); ValueError if malformed."""
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        if len(part) < 2 or not part[:-1].isdigit() or part[-1] not in "dhm":
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


def keyboard(rows: list[list[tuple[str, str]]]) -> dict[str, Any]:
    """An InlineKeyboardMarkup as JSON for the outbox."""
    return {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in rows]}


class ActivityService:
    def __init__(self, db: Database, clock: Clock, catalog: Catalog, zone: ZoneInfo) -> None:
        self.db = db
        self.repo = ActivityRepo(db)
        self.clock = clock
        self.catalog = catalog
        self.zone = zone

    # --- texts for the outbox ---------------------------------------------------------------------
    def _lang(self, code: str | None) -> Language:
        if code == "en":
            return "en"
        if code == "zh-Hans":
            return "zh-Hans"
        return self.catalog.default

    def card(self, lang: Language, a: Activity) -> Markup:
        """The activity as users see it (title, time, place, seats)."""
        tr = self.catalog.for_lang(lang)
        lines = [
            tr("act.card.title", title=a.title),
            tr("act.card.when", start=show(a.starts_at, self.zone), end=show(a.ends_at, self.zone)),
        ]
        if a.place:
            lines.append(tr("act.card.place", place=a.place))
        if a.description:
            lines.append(tr("act.card.description", text=a.description))
        if a.capacity is not None:
            lines.append(tr("act.card.seats", taken=a.seats_taken, capacity=a.capacity))
        lines.append(tr("act.card.deadline", deadline=show(a.signup_deadline, self.zone)))
        if a.status == "cancelled":
            lines.append(tr("act.card.cancelled"))
        elif a.status == "closed":
            lines.append(tr("act.card.closed"))
        return Markup("\n".join(lines))

    def _message(
        self,
        kind: str,
        ref: int,
        who: Recipient,
        key: str,
        a: Activity,
        buttons: list[list[tuple[str, str]]] | None = None,
        **values: Any,
    ) -> OutgoingMessage:
        lang = self._lang(who.language)
        tr = self.catalog.for_lang(lang)
        text = tr(key, title=a.title, **values) + "\n\n" + self.card(lang, a)
        rows = [[(str(tr(label)), data) for label, data in row] for row in buttons] if buttons else None
        return OutgoingMessage(kind, ref, who.user_id, text, who.member_id, None if rows is None else keyboard(rows))

    # --- create and publish ------------------------------------------------------------------------
    def check_scope(self, who: Actor, group_paths: Sequence[str]) -> bool:
        scope: Scope = who.scope
        if scope.everything:
            return True
        return bool(group_paths) and all(scope.covers_path(p) for p in group_paths)

    async def create(self, who: Actor, draft: Draft) -> Result:
        now = self.clock.now()
        problem = validate_times(draft.starts_at, draft.ends_at, draft.signup_deadline, now)
        if problem:
            return fail(problem)
        if not who.is_coordinator:
            return fail("not_allowed")
        async with self.db.transaction() as tx:
            paths = await st.group_paths(tx, draft.group_ids)
            if len(paths) != len(draft.group_ids) or not self.check_scope(who, list(paths.values())):
                return fail("out_of_scope")
            series_id = None
            if draft.repeat != "none" and draft.occurrences > 1:
                series_id = await st.create_series(tx, draft.repeat, who.user_id, now)
            first: Activity | None = None
            for n in range(max(1, draft.occurrences if series_id else 1)):
                shift = (
                    (lambda m, k=n: add_months(m, k))
                    if draft.repeat == "monthly"
                    else (lambda m, k=n: m + timedelta(weeks=k))
                )
                new = NewActivity(
                    title=draft.title,
                    description=draft.description,
                    place=draft.place,
                    starts_at=shift(draft.starts_at),
                    ends_at=shift(draft.ends_at),
                    signup_deadline=shift(draft.signup_deadline),
                    capacity=draft.capacity,
                    offer_hours=draft.offer_hours,
                    survey=draft.survey,
                    reminder_offsets=draft.reminder_offsets,
                    categories=draft.categories,
                    group_ids=draft.group_ids,
                    series_id=series_id,
                )
                activity_id = await st.insert_activity(tx, new, who.user_id, now)
                await self._arm(tx, activity_id, new, now)
                if first is None:
                    first = await st.activity_in_tx(tx, activity_id)
            assert first is not None
            recipients = await self._eligible(tx, first, list(paths.values()))
            buttons = [[("act.btn.signup", f"act:su:{first.id}"), ("act.btn.not_going", f"act:ng:{first.id}")]]
            if series_id:
                buttons.append([("act.btn.signup_series", f"act:ss:{first.id}")])
            await enqueue(
                tx, [self._message("activity", first.id, r, "act.announce", first, buttons) for r in recipients], now
            )
            await record(
                tx,
                now,
                who.user_id,
                "activity.create",
                "activity",
                first.id,
                {"title": draft.title, "occurrences": draft.occurrences, "recipients": len(recipients)},
            )
        return Result(True, "created", first, extra={"recipients": len(recipients)})

    async def _arm(self, tx: Tx, activity_id: int, new: NewActivity, now: datetime) -> None:
        for offset in new.reminder_offsets:
            due = new.starts_at - timedelta(minutes=offset)
            if due > now:
                await st.add_due(tx, activity_id, "reminder", due, tag=offset)
        if new.survey:
            await st.add_due(tx, activity_id, "survey", new.ends_at)

    async def _eligible(self, tx: Tx, a: Activity, paths: list[str]) -> list[Recipient]:
        rule = Eligibility(tuple(paths), a.categories)
        return [r for r in await st.active_members(tx) if rule.allows(r.paths, r.category)]

    # --- member actions (the hot path) -------------------------------------------------------------
    async def sign_up(self, user_id: int, activity_id: int) -> Result:
        now = self.clock.now()
        (attempt,) = await st.sign_up(self.db, [activity_id], user_id, now, partial(_refusal, now=now))
        return _signup_result(attempt)

    async def sign_up_series(self, user_id: int, activity_id: int) -> Result:
        a = await self.repo.get(activity_id)
        if a is None or a.series_id is None:
            return fail("no_activity")
        now = self.clock.now()
        occurrences = [o.id for o in await self.repo.series_members(a.series_id, now)]
        attempts = (
            await st.sign_up(self.db, occurrences, user_id, now, partial(_refusal, now=now)) if occurrences else []
        )
        results = [_signup_result(attempt) for attempt in attempts]
        done = [r for r in results if r.ok or r.code.startswith("already_")]
        if not done:
            return results[0] if results else fail("deadline", a)
        return Result(True, "series", a, extra={"count": len(done)})

    async def not_going(self, user_id: int, activity_id: int) -> Result:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            ctx = await st.signup_context(tx, activity_id, user_id)
            if ctx is None:
                return fail("no_activity")
            if ctx.member_id is None or ctx.member_status != "active":
                return fail("not_member", ctx.activity)
            if ctx.activity.status == "cancelled":
                return fail("cancelled", ctx.activity)
            if ctx.signup_status in st.ACTIVE and ctx.signup_id is not None:
                a = await self._withdraw(tx, ctx.activity, ctx.signup_id, ctx.signup_status or "", "not_going", now)
                return Result(True, "not_going", a, status="not_going")
            if ctx.signup_status == "not_going":
                return Result(False, "already_not_going", ctx.activity, status="not_going")
            await st.put_signup(tx, activity_id, ctx.member_id, "not_going", now, ctx.signup_id)
            return Result(True, "not_going", ctx.activity, status="not_going")

    async def cancel_signup(self, user_id: int, activity_id: int) -> Result:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            ctx = await st.signup_context(tx, activity_id, user_id)
            if ctx is None:
                return fail("no_activity")
            if ctx.activity.status == "cancelled":
                return fail("cancelled", ctx.activity)
            if ctx.signup_status not in st.ACTIVE or ctx.signup_id is None:
                return fail("not_signed_up", ctx.activity)
            if now >= ctx.activity.ends_at:
                return fail("over", ctx.activity)
            a = await self._withdraw(tx, ctx.activity, ctx.signup_id, ctx.signup_status or "", "cancelled", now)
            return Result(True, "withdrawn", a, status="cancelled")

    async def _withdraw(self, tx: Tx, a: Activity, signup_id: int, was: str, to: str, now: datetime) -> Activity:
        await st.set_signup_status(tx, signup_id, to, now)
        if was in st.HOLDING:
            await st.free_seat(tx, a.id)
            if was == "offered":
                await st.cancel_due(tx, a.id, "offer", signup_id)
            await self._promote(tx, a.id, now)
        fresh = await st.activity_in_tx(tx, a.id)
        assert fresh is not None
        return fresh

    async def _promote(self, tx: Tx, activity_id: int, now: datetime) -> None:
        """Fill free seats from the head of the waitlist (seat offered or confirmed)."""
        while True:
            a = await st.activity_in_tx(tx, activity_id)
            if a is None or a.status == "cancelled" or now >= a.ends_at:
                return
            if a.capacity is not None and a.seats_taken >= a.capacity:
                return
            head = await st.first_waiting(tx, activity_id)
            if head is None:
                return
            await st.add_seat(tx, activity_id)
            who = await st.member_recipient(tx, head.member_id)
            if a.offer_hours:
                expires = now + timedelta(hours=a.offer_hours)
                await st.set_signup_status(tx, head.id, "offered", now, expires)
                await st.add_due(tx, activity_id, "offer", expires, head.member_id, head.id)
                if who:
                    buttons = [
                        [("act.btn.accept", f"act:ac:{activity_id}"), ("act.btn.decline", f"act:cx:{activity_id}")]
                    ]
                    msg = self._message(
                        "act_offer", head.id, who, "act.offer", a, buttons, until=show(expires, self.zone)
                    )
                    await enqueue(tx, [msg], now)
            else:
                await st.set_signup_status(tx, head.id, "confirmed", now)
                if who:
                    buttons = [[("act.btn.cancel_signup", f"act:cx:{activity_id}")]]
                    await enqueue(tx, [self._message("act_promo", head.id, who, "act.promoted", a, buttons)], now)

    async def accept_offer(self, user_id: int, activity_id: int) -> Result:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            ctx = await st.signup_context(tx, activity_id, user_id)
            if ctx is None:
                return fail("no_activity")
            if ctx.activity.status == "cancelled":
                return fail("cancelled", ctx.activity)
            if ctx.signup_status != "offered" or ctx.signup_id is None:
                return fail("no_offer", ctx.activity)
            await st.set_signup_status(tx, ctx.signup_id, "confirmed", now, expect="offered")
            await st.cancel_due(tx, activity_id, "offer", ctx.signup_id)
            return Result(True, "confirmed", ctx.activity, status="confirmed")

    async def expire_offer(self, tx: Tx, signup_id: int, now: datetime) -> bool:
        s = await st.signup_of(tx, signup_id)
        if s is None or s.status != "offered":
            return False
        a = await st.activity_in_tx(tx, s.activity_id)
        assert a is not None
        await self._withdraw(tx, a, signup_id, "offered", "cancelled", now)
        who = await st.member_recipient(tx, s.member_id)
        if who:
            await enqueue(tx, [self._message("act_expired", signup_id, who, "act.offer_expired", a)], now)
        return True

    # --- coordinator actions -----------------------------------------------------------------------
    async def manageable(self, who: Actor, activity_id: int) -> Activity | None:
        """The activity if `who` may manage it (creator, owner, or its groups in scope)."""
        if not who.is_coordinator:
            return None
        a = await self.repo.get(activity_id)
        if a is None:
            return None
        if who.scope.everything or a.created_by == who.user_id:
            return a
        return a if self.check_scope(who, await self.repo.group_paths_of(activity_id)) else None

    async def manageable_upcoming(self, who: Actor) -> list[Activity]:
        """Published/closed activities (ended a week ago at the earliest) `who` may manage, in one query."""
        if not who.is_coordinator:
            return []
        scope = None if who.scope.everything else who.scope.paths
        return await self.repo.manageable_upcoming(self.clock.now() - MANAGE_SINCE, scope, who.user_id)

    async def roster(self, who: Actor, activity_id: int) -> tuple[Activity, list[RosterEntry]] | None:
        """The activity and everyone signed up to it; None when `who` may not manage it."""
        a = await self.manageable(who, activity_id)
        return None if a is None else (a, await self.repo.roster(activity_id))

    async def to_mark(self, who: Actor, activity_id: int) -> tuple[Activity, list[RosterEntry]] | None:
        """Confirmed people not yet checked in (attendance to mark); None when `who` may not manage it."""
        found = await self.roster(who, activity_id)
        if found is None:
            return None
        a, entries = found
        return a, [e for e in entries if e.status == "confirmed" and e.checked_in_at is None]

    async def survey_results(
        self, who: Actor, activity_id: int
    ) -> tuple[Activity, list[tuple[int, str | None]]] | None:
        """(rating, comment) answers in the order given; None when `who` may not manage the activity."""
        a = await self.manageable(who, activity_id)
        return None if a is None else (a, await self.repo.survey_results(activity_id))

    async def pickable_groups(self, who: Actor, limit: int = 20) -> list[tuple[int, str, str]]:
        """(id, name, path) of the live groups `who` may address an activity to."""
        return [g for g in await st.all_groups(self.db) if who.scope.covers_path(g[2])][:limit]

    async def change_capacity(self, who: Actor, activity_id: int, capacity: int | None) -> Result:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            current = await st.activity_in_tx(tx, activity_id)
            if current is None or current.status == "cancelled":
                return fail("cancelled", current)
            if not await st.set_capacity(tx, activity_id, capacity, now):
                return fail("capacity_below_taken")
            await self._promote(tx, activity_id, now)
            await record(tx, now, who.user_id, "activity.capacity", "activity", activity_id, {"capacity": capacity})
            a = await st.activity_in_tx(tx, activity_id)
        return Result(True, "capacity_changed", a)

    async def export_roster(self, who: Actor, activity_id: int, kind: str) -> list[st.RosterEntry]:
        """The roster for an export file; the export (personal data leaving the bot) is audited."""
        entries = await self.repo.roster(activity_id)
        async with self.db.transaction() as tx:
            await record(
                tx,
                self.clock.now(),
                who.user_id,
                "activity.export",
                "activity",
                activity_id,
                {"format": kind, "rows": len(entries)},
            )
        return entries

    async def close_signup(self, who: Actor, activity_id: int) -> Result:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            a = await st.activity_in_tx(tx, activity_id)
            if a is None or a.status != "published":
                return fail("not_open", a)
            await st.set_status(tx, activity_id, "closed", now)
            await record(tx, now, who.user_id, "activity.close", "activity", activity_id)
        return Result(True, "closed", a)

    async def cancel_activity(self, who: Actor, activity_id: int) -> Result:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            a = await st.activity_in_tx(tx, activity_id)
            if a is None or a.status == "cancelled":
                return fail("cancelled", a)
            await st.set_status(tx, activity_id, "cancelled", now)
            await st.cancel_due(tx, activity_id)
            a = _with(a, status="cancelled")
            people = await st.holders(tx, activity_id, st.ACTIVE)
            await enqueue(
                tx, [self._message("act_cancel", activity_id, r, "act.cancelled_notice", a) for r in people], now
            )
            await record(tx, now, who.user_id, "activity.cancel", "activity", activity_id, {"told": len(people)})
        return Result(True, "activity_cancelled", a, extra={"told": len(people)})

    async def edit(self, who: Actor, activity_id: int, changes: dict[str, Any]) -> Result:
        """Change title/place/description/times; members holding or awaiting a seat are told."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            a = await st.activity_in_tx(tx, activity_id)
            if a is None or a.status == "cancelled":
                return fail("cancelled", a)
            changes, problem = plan_edit(a, changes, now)
            if problem:
                return fail(problem, a)
            revision = await st.update_fields(tx, activity_id, changes, now)
            new = await st.activity_in_tx(tx, activity_id)
            assert new is not None
            if "starts_at" in changes or "ends_at" in changes:
                await st.cancel_due(tx, activity_id)
                await self._arm(tx, activity_id, _as_new(new), now)
            people = await st.holders(tx, activity_id, st.ACTIVE)
            messages = []
            for r in people:
                tr = self.catalog.for_lang(self._lang(r.language))
                what = ", ".join(str(tr(f"act.field.{name}")) for name in EDIT_FIELDS if name in changes)
                messages.append(
                    self._message(f"act_edit_r{revision}", activity_id, r, "act.changed_notice", new, what=what)
                )
            await enqueue(tx, messages, now)
            await record(tx, now, who.user_id, "activity.edit", "activity", activity_id, {"fields": sorted(changes)})
        return Result(True, "edited", new, extra={"told": len(people)})

    async def checkin_code(self, who: Actor, activity_id: int) -> str:
        async with self.db.transaction() as tx:
            await st.set_checkin_code(tx, activity_id, f"{secrets.randbelow(900000) + 100000}")
            a = await st.activity_in_tx(tx, activity_id)
            await record(tx, self.clock.now(), who.user_id, "activity.checkin_code", "activity", activity_id)
        assert a is not None and a.checkin_code is not None
        return a.checkin_code

    async def check_in(self, user_id: int, member_id: int | None, code: str) -> Result:
        now = self.clock.now()
        code = code.strip()
        if member_id is None:
            return fail("not_member")
        if not code.isdigit() or len(code) != 6:
            return fail("bad_code")
        for a in await self.repo.confirmed_with_code(member_id, code):
            if a.starts_at - CHECKIN_EARLY <= now <= a.ends_at:
                async with self.db.transaction() as tx:
                    done = await st.mark_checked_in(tx, a.id, member_id, now)
                return Result(True, "checked_in" if done else "already_checked_in", a)
            return fail("code_not_now", a)
        return fail("bad_code")

    async def mark_attended(self, who: Actor, activity_id: int, member_id: int) -> Result:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            done = await st.mark_checked_in(tx, activity_id, member_id, now)
            if done:
                await record(
                    tx, now, who.user_id, "activity.mark_attended", "member", member_id, {"activity": activity_id}
                )
        return Result(done, "marked" if done else "not_marked")

    async def rate(self, user_id: int, member_id: int | None, activity_id: int, rating: int) -> Result:
        if member_id is None or not 1 <= rating <= 5:
            return fail("bad_rating")
        s = await self.repo.member_signup(activity_id, member_id)
        if s is None or s.checked_in_at is None:
            return fail("not_attended")
        async with self.db.transaction() as tx:
            await st.save_rating(tx, activity_id, member_id, rating, self.clock.now())
        return Result(True, "rated")

    async def comment(self, member_id: int, activity_id: int, text: str) -> bool:
        async with self.db.transaction() as tx:
            return await st.save_comment(tx, activity_id, member_id, text[:MAX_TEXT])

    async def eligible(self, member_id: int, a: Activity) -> bool:
        rule = Eligibility(tuple(await self.repo.group_paths_of(a.id)) if a.has_groups else (), a.categories)
        return rule.allows(await self.repo.member_paths(member_id), await self.repo.member_category(member_id))

    # --- what a member sees ---------------------------------------------------------------------
    async def get(self, activity_id: int) -> Activity | None:
        """The activity as stored now (for re-showing one the caller was just allowed to act on)."""
        return await self.repo.get(activity_id)

    async def member_view(self, member_id: int, activity_id: int) -> tuple[Activity, str | None] | None:
        """The activity and the member's sign-up status; None unless signed up or eligible."""
        a = await self.repo.get(activity_id)
        if a is None:
            return None
        signup = await self.repo.member_signup(activity_id, member_id)
        if signup is None and not await self.eligible(member_id, a):
            return None
        return a, signup.status if signup else None

    async def held_by(self, member_id: int | None, activity_id: int) -> Activity | None:
        """The activity when the member holds or awaits a seat in it (for the calendar file), else None."""
        a = await self.repo.get(activity_id)
        signup = await self.repo.member_signup(activity_id, member_id) if member_id and a else None
        return a if signup is not None and signup.status in HOLDING_OR_WAITING else None

    # --- lists ----------------------------------------------------------------------------------
    async def visible_for(self, member_id: int) -> list[tuple[Activity, str | None]]:
        """Upcoming activities the member is eligible for (or already signed up to), with status."""
        now = self.clock.now()
        upcoming = [a for a in await self.repo.upcoming(now) if a.status != "cancelled"]
        statuses = await self.repo.statuses_for_member(member_id, [a.id for a in upcoming])
        paths = await self.repo.member_paths(member_id)
        category = await self.repo.member_category(member_id)
        out: list[tuple[Activity, str | None]] = []
        for a in upcoming:
            rule = Eligibility(tuple(await self.repo.group_paths_of(a.id)) if a.has_groups else (), a.categories)
            if a.id in statuses or rule.allows(paths, category):
                out.append((a, statuses.get(a.id)))
        return out

    # --- due items ---------------------------------------------------------------------------
    async def run_due(self) -> int:
        """Handle every due item whose time has come; each is claimed in its own transaction."""
        handled = 0
        now = self.clock.now()
        for due_id in await self.repo.due_ids(now):
            async with self.db.transaction() as tx:
                item = await st.claim_due(tx, due_id, now)
                if item is None:
                    continue
                handled += 1
                await self._handle(tx, item, now)
        return handled

    async def _handle(self, tx: Tx, item: st.DueItem, now: datetime) -> None:
        a = await st.activity_in_tx(tx, item.activity_id)
        if a is None or a.status == "cancelled":
            await st.mark_due_skipped(tx, item.id, "activity cancelled")
            return
        if item.kind == "offer":
            await self.expire_offer(tx, item.tag, now)
        elif item.kind == "reminder":
            if now >= a.starts_at:
                await st.mark_due_skipped(tx, item.id, "activity already started")
                return
            people = await st.holders(tx, a.id, ("confirmed",))
            buttons = [[("act.btn.cant_come", f"act:cx:{a.id}"), ("act.btn.checkin", f"act:ci:{a.id}")]]
            msgs = [self._message("act_rem", item.id, r, "act.reminder", a, buttons) for r in people]
            await enqueue(tx, msgs, now)
        elif item.kind == "survey":
            if now > a.ends_at + SURVEY_STILL_MEANINGFUL:
                await st.mark_due_skipped(tx, item.id, "too late for a survey")
                return
            people = await st.checked_in(tx, a.id)
            buttons = [[(f"act.btn.star{n}", f"act:rt:{a.id}:{n}") for n in range(1, 6)]]
            await enqueue(tx, [self._message("act_survey", a.id, r, "act.survey", a, buttons) for r in people], now)


def _with(a: Activity, **changes: Any) -> Activity:
    from dataclasses import replace

    return replace(a, **changes)


def _as_new(a: Activity) -> NewActivity:
    return NewActivity(
        a.title,
        a.description,
        a.place,
        a.starts_at,
        a.ends_at,
        a.signup_deadline,
        a.capacity,
        a.offer_hours,
        a.survey,
        a.reminder_offsets,
        a.categories,
        (),
    )
