"""ActivityService: creation, publication, sign-up with capacity and waitlist, offers, coordinator
actions, check-in, the rating survey and the due items. Owns the transactions, the audit log and
the outbox writes; SQL lives in storage/activities.py and storage/signups.py.

A domain refusal is raised as `Refusal("act.r.<code>" | "act.bad.<code>", ...)`; a role or scope
refusal as `AccessDenied`. What happened otherwise is a `Result`.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.activities import callbacks as cb
from bot.activities.base import ActivityBase, refused
from bot.activities.models import (
    ACTIVE,
    HOLDING,
    Activity,
    Draft,
    DueItem,
    NewActivity,
    Recipient,
    Result,
    RosterEntry,
    SignupAttempt,
    SignupContext,
)
from bot.activities.rules import EDIT_FIELDS, Eligibility, plan_edit, shifted, signup_refusal, validate_times
from bot.dates import show
from bot.errors import Refusal
from bot.roles import AccessDenied, Actor
from storage import activities as st
from storage import signups as su
from storage.audit import record
from storage.db import Tx
from storage.outbox import enqueue

log = logging.getLogger(__name__)

SURVEY_STILL_MEANINGFUL = timedelta(days=3)


def _signup_result(attempt: SignupAttempt) -> Result:
    """The outcome of one attempt of the one-trip sign-up; the judge's code becomes a Refusal."""
    ctx = attempt.context
    if ctx is None:
        raise refused("no_activity")
    a = ctx.activity
    if attempt.refusal is not None:
        if attempt.refusal.startswith("already_"):
            raise refused(attempt.refusal, a, status=ctx.signup_status, position=attempt.position)
        raise refused(attempt.refusal, a, status=None)
    ticket = attempt.ticket
    assert ticket is not None
    if ticket.status == "confirmed":
        return Result("confirmed", replace(a, seats_taken=a.seats_taken + 1), status="confirmed")
    return Result("waiting", a, ticket.position, "waiting")


class ActivityService(ActivityBase):
    """Every action on activities (the reads, check-in and rating are in `ActivityBase`)."""

    # --- create and publish ------------------------------------------------------------------------
    async def create(self, who: Actor, draft: Draft) -> Result:
        now = self.clock.now()
        problem = validate_times(draft.starts_at, draft.ends_at, draft.signup_deadline, now)
        if problem:
            raise Refusal(f"act.bad.{problem}")
        if not who.is_coordinator:
            raise AccessDenied("only coordinators create activities")
        async with self.db.transaction() as tx:
            paths = await st.group_paths(tx, draft.group_ids)
            if len(paths) != len(draft.group_ids) or not who.scope.covers_all(paths.values()):
                raise AccessDenied("activity outside the coordinator's scope")
            series_id = None
            if draft.repeat != "none" and draft.occurrences > 1:
                series_id = await st.create_series(tx, draft.repeat, who.user_id, now)
            first: Activity | None = None
            for n in range(max(1, draft.occurrences if series_id else 1)):
                new = NewActivity(
                    title=draft.title,
                    description=draft.description,
                    place=draft.place,
                    starts_at=shifted(draft.starts_at, draft.repeat, n),
                    ends_at=shifted(draft.ends_at, draft.repeat, n),
                    signup_deadline=shifted(draft.signup_deadline, draft.repeat, n),
                    capacity=draft.capacity,
                    offer_hours=draft.offer_hours,
                    survey=draft.survey,
                    reminder_offsets=draft.reminder_offsets,
                    categories=draft.categories,
                    group_ids=draft.group_ids,
                    series_id=series_id,
                    checkin_opens=draft.checkin_opens,
                )
                activity_id = await st.insert_activity(tx, new, who.user_id, now)
                await self._arm(tx, activity_id, new, now)
                if first is None:
                    first = await st.activity_in_tx(tx, activity_id)
            assert first is not None
            recipients = await self._eligible(tx, first, list(paths.values()))
            buttons = [
                [
                    ("act.btn.signup", cb.SIGN_UP, {"id": first.id}),
                    ("act.btn.not_going", cb.NOT_GOING, {"id": first.id}),
                ]
            ]
            if series_id:
                buttons.append([("act.btn.signup_series", cb.SIGN_UP_SERIES, {"id": first.id})])
            await enqueue(
                tx,
                [self.messages.outgoing("activity", first.id, r, "act.announce", first, buttons) for r in recipients],
                now,
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
        return Result("created", first, extra={"recipients": len(recipients)})

    async def audience_size(self, who: Actor, draft: Draft) -> int:
        """How many members the announcement of `draft` would reach now (the summary shows it)."""
        paths = await st.group_paths(self.db, draft.group_ids)
        rule = Eligibility(tuple(paths.values()), draft.categories)
        return sum(1 for r in await st.active_members(self.db) if rule.allows(r.paths, r.category))

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
        """One write trip: the judge (bot/activities/rules.py) decides inside the transaction."""
        now = self.clock.now()
        (attempt,) = await su.sign_up(self.db, [activity_id], user_id, now, partial(signup_refusal, now=now))
        return _signup_result(attempt)

    async def sign_up_series(self, user_id: int, activity_id: int) -> Result:
        a = await self.repo.get(activity_id)
        if a is None or a.series_id is None:
            raise refused("no_activity")
        now = self.clock.now()
        occurrences = [o.id for o in await self.repo.series_members(a.series_id, now)]
        attempts = (
            await su.sign_up(self.db, occurrences, user_id, now, partial(signup_refusal, now=now))
            if occurrences
            else []
        )
        done = 0
        first: Refusal | None = None
        for attempt in attempts:
            try:
                _signup_result(attempt)
                done += 1
            except Refusal as refusal:
                if refusal.key.startswith("act.r.already_"):
                    done += 1
                elif first is None:
                    first = refusal
        if not done:
            raise first or refused("deadline", a)
        return Result("series", a, status="confirmed", extra={"count": done})

    @staticmethod
    async def _open_context(tx: Tx, activity_id: int, user_id: int) -> SignupContext:
        """The member's sign-up context for an activity that exists and is not cancelled."""
        ctx = await su.signup_context(tx, activity_id, user_id)
        if ctx is None:
            raise refused("no_activity")
        if ctx.activity.status == "cancelled":
            raise refused("cancelled", ctx.activity)
        return ctx

    async def not_going(self, user_id: int, activity_id: int) -> Result:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            ctx = await self._open_context(tx, activity_id, user_id)
            if ctx.member_id is None or ctx.member_status != "active":
                raise refused("not_member", ctx.activity)
            if ctx.signup_status in ACTIVE and ctx.signup_id is not None:
                a = await self._withdraw(tx, ctx.activity, ctx.signup_id, ctx.signup_status or "", "not_going", now)
                return Result("not_going", a, status="not_going")
            if ctx.signup_status == "not_going":
                raise refused("already_not_going", ctx.activity, status="not_going")
            await su.put_signup(tx, activity_id, ctx.member_id, "not_going", now, ctx.signup_id)
            return Result("not_going", ctx.activity, status="not_going")

    async def cancel_signup(self, user_id: int, activity_id: int) -> Result:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            ctx = await self._open_context(tx, activity_id, user_id)
            if ctx.signup_status not in ACTIVE or ctx.signup_id is None:
                raise refused("not_signed_up", ctx.activity)
            if now >= ctx.activity.ends_at:
                raise refused("over", ctx.activity)
            a = await self._withdraw(tx, ctx.activity, ctx.signup_id, ctx.signup_status or "", "cancelled", now)
            return Result("withdrawn", a, status="cancelled")

    async def _withdraw(self, tx: Tx, a: Activity, signup_id: int, was: str, to: str, now: datetime) -> Activity:
        await su.set_signup_status(tx, signup_id, to, now)
        if was in HOLDING:
            await su.free_seat(tx, a.id)
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
            head = await su.first_waiting(tx, activity_id)
            if head is None:
                return
            await su.add_seat(tx, activity_id)
            who = await st.member_recipient(tx, head.member_id)
            ref = {"id": activity_id}
            if a.offer_hours:
                expires = now + timedelta(hours=a.offer_hours)
                await su.set_signup_status(tx, head.id, "offered", now, expires)
                await st.add_due(tx, activity_id, "offer", expires, head.member_id, head.id)
                if who:
                    buttons = [[("act.btn.accept", cb.ACCEPT_OFFER, ref), ("act.btn.decline", cb.CANCEL_SIGNUP, ref)]]
                    until = show(expires, self.zone)
                    msg = self.messages.outgoing("act_offer", head.id, who, "act.offer", a, buttons, until=until)
                    await enqueue(tx, [msg], now)
            else:
                await su.set_signup_status(tx, head.id, "confirmed", now)
                if who:
                    buttons = [[("act.btn.cancel_signup", cb.CANCEL_SIGNUP, ref)]]
                    msg = self.messages.outgoing("act_promo", head.id, who, "act.promoted", a, buttons)
                    await enqueue(tx, [msg], now)

    async def accept_offer(self, user_id: int, activity_id: int) -> Result:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            ctx = await self._open_context(tx, activity_id, user_id)
            if ctx.signup_status != "offered" or ctx.signup_id is None:
                raise refused("no_offer", ctx.activity)
            await su.set_signup_status(tx, ctx.signup_id, "confirmed", now, expect="offered")
            await st.cancel_due(tx, activity_id, "offer", ctx.signup_id)
            return Result("confirmed", ctx.activity, status="confirmed")

    async def expire_offer(self, tx: Tx, signup_id: int, now: datetime) -> bool:
        s = await su.signup_of(tx, signup_id)
        if s is None or s.status != "offered":
            return False
        a = await st.activity_in_tx(tx, s.activity_id)
        assert a is not None
        await self._withdraw(tx, a, signup_id, "offered", "cancelled", now)
        who = await st.member_recipient(tx, s.member_id)
        if who:
            await enqueue(tx, [self.messages.outgoing("act_expired", signup_id, who, "act.offer_expired", a)], now)
        return True

    # --- coordinator actions -----------------------------------------------------------------------
    async def change_capacity(self, who: Actor, activity_id: int, capacity: int | None) -> Result:
        await self.managed(who, activity_id)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            current = await st.activity_in_tx(tx, activity_id)
            if current is None or current.status == "cancelled":
                raise refused("cancelled", current)
            if not await st.set_capacity(tx, activity_id, capacity, now):
                raise refused("capacity_below_taken", current)
            await self._promote(tx, activity_id, now)
            await record(tx, now, who.user_id, "activity.capacity", "activity", activity_id, {"capacity": capacity})
            a = await st.activity_in_tx(tx, activity_id)
        return Result("capacity_changed", a)

    async def export_roster(self, who: Actor, activity_id: int, kind: str) -> tuple[Activity, list[RosterEntry]]:
        """The roster for an export file (scope checked); the export (personal data leaving the bot) is audited."""
        a = await self.managed(who, activity_id)
        entries = await self.signups.roster(activity_id)
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
        return a, entries

    async def close_signup(self, who: Actor, activity_id: int) -> Result:
        await self.managed(who, activity_id)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            a = await st.activity_in_tx(tx, activity_id)
            if a is None or a.status != "published":
                raise refused("not_open", a)
            await st.set_status(tx, activity_id, "closed", now)
            await record(tx, now, who.user_id, "activity.close", "activity", activity_id)
        return Result("closed", a)

    async def cancel_preview(self, who: Actor, activity_id: int) -> tuple[Activity, int]:
        """The activity and how many people cancelling it would tell (asked before cancelling)."""
        a = await self.managed(who, activity_id)
        if a.status == "cancelled":
            raise refused("cancelled", a)
        async with self.db.transaction() as tx:
            return a, len(await su.holders(tx, activity_id, ACTIVE))

    async def cancel_activity(self, who: Actor, activity_id: int, reason: str = "") -> Result:
        """Cancel; everyone holding or awaiting a seat is told (with the reason, when one is given)."""
        await self.managed(who, activity_id)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            a = await st.activity_in_tx(tx, activity_id)
            if a is None or a.status == "cancelled":
                raise refused("cancelled", a)
            await st.set_status(tx, activity_id, "cancelled", now)
            await st.cancel_due(tx, activity_id)
            a = replace(a, status="cancelled")
            people = await su.holders(tx, activity_id, ACTIVE)
            await enqueue(
                tx,
                [
                    self.messages.outgoing(
                        "act_cancel",
                        activity_id,
                        r,
                        "act.cancelled_notice_reason" if reason else "act.cancelled_notice",
                        a,
                        reason=reason,
                    )
                    for r in people
                ],
                now,
            )
            details = {"told": len(people), **({"reason": reason} if reason else {})}
            await record(tx, now, who.user_id, "activity.cancel", "activity", activity_id, details)
        return Result("activity_cancelled", a, extra={"told": len(people)})

    async def edit(self, who: Actor, activity_id: int, changes: dict[str, Any]) -> Result:
        """Change title/place/description/times; members holding or awaiting a seat are told."""
        await self.managed(who, activity_id)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            a = await st.activity_in_tx(tx, activity_id)
            if a is None or a.status == "cancelled":
                raise Refusal("act.bad.cancelled")
            changes, problem = plan_edit(a, changes, now)
            if problem:
                raise Refusal(f"act.bad.{problem}")
            revision = await st.update_fields(tx, activity_id, changes, now)
            new = await st.activity_in_tx(tx, activity_id)
            assert new is not None
            if "starts_at" in changes or "ends_at" in changes:
                await st.cancel_due(tx, activity_id)
                await self._arm(tx, activity_id, _as_new(new), now)
            people = await su.holders(tx, activity_id, ACTIVE)
            messages = []
            for r in people:
                tr = self.catalog.for_lang(self.messages.language(r.language))
                what = ", ".join(str(tr(f"act.field.{name}")) for name in EDIT_FIELDS if name in changes)
                messages.append(
                    self.messages.outgoing(
                        f"act_edit_r{revision}", activity_id, r, "act.changed_notice", new, what=what
                    )
                )
            await enqueue(tx, messages, now)
            await record(tx, now, who.user_id, "activity.edit", "activity", activity_id, {"fields": sorted(changes)})
        return Result("edited", new, extra={"told": len(people)})

    async def checkin_code(self, who: Actor, activity_id: int) -> str:
        await self.managed(who, activity_id)
        async with self.db.transaction() as tx:
            await st.set_checkin_code(tx, activity_id, f"{secrets.randbelow(900000) + 100000}")
            a = await st.activity_in_tx(tx, activity_id)
            await record(tx, self.clock.now(), who.user_id, "activity.checkin_code", "activity", activity_id)
        assert a is not None and a.checkin_code is not None
        return a.checkin_code

    async def mark_attended(self, who: Actor, activity_id: int, member_id: int) -> Result:
        """Mark a confirmed member as attended, whenever it is (coordinators confirmed it)."""
        return await self.toggle_attended(who, activity_id, member_id, outside_window=True)

    async def toggle_attended(
        self, who: Actor, activity_id: int, member_id: int, *, outside_window: bool = False
    ) -> Result:
        """Manual check-in: marks a confirmed member, a second tap undoes it (both audited).

        Outside the check-in window (`checkin_opens` minutes before the start until the end) a mark is only
        made when `outside_window` says the coordinator confirmed it; otherwise the result is
        ``outside_window`` with the window's opening, and nothing changes.
        """
        a = await self.managed(who, activity_id)
        now = self.clock.now()
        opens = a.checkin_from
        async with self.db.transaction() as tx:
            if await su.unmark_checked_in(tx, activity_id, member_id, now):
                await record(tx, now, who.user_id, "activity.unmark_attended", "member", member_id, {"activity": a.id})
                return Result("unmarked", a)
            if not outside_window and not opens <= now <= a.ends_at:
                return Result("outside_window", a, extra={"opens": opens}, ok=False)
            if not await su.mark_checked_in(tx, activity_id, member_id, now):
                raise refused("not_marked")
            await record(tx, now, who.user_id, "activity.mark_attended", "member", member_id, {"activity": a.id})
        return Result("marked", a)

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

    async def _handle(self, tx: Tx, item: DueItem, now: datetime) -> None:
        a = await st.activity_in_tx(tx, item.activity_id)
        if a is None or a.status == "cancelled":
            await st.mark_due_skipped(tx, item.id, "activity cancelled")
            return
        ref = {"id": a.id}
        if item.kind == "offer":
            await self.expire_offer(tx, item.tag, now)
        elif item.kind == "reminder":
            if now >= a.starts_at:
                await st.mark_due_skipped(tx, item.id, "activity already started")
                return
            people = await su.holders(tx, a.id, ("confirmed",))
            buttons = [[("act.btn.cant_come", cb.CANCEL_SIGNUP, ref), ("act.btn.checkin", cb.CHECK_IN, ref)]]
            msgs = [self.messages.outgoing("act_rem", item.id, r, "act.reminder", a, buttons) for r in people]
            await enqueue(tx, msgs, now)
        elif item.kind == "survey":
            if now > a.ends_at + SURVEY_STILL_MEANINGFUL:
                await st.mark_due_skipped(tx, item.id, "too late for a survey")
                return
            people = await su.checked_in(tx, a.id)
            stars = [[(f"act.btn.star{n}", cb.RATE, {"id": a.id, "stars": n}) for n in range(1, 6)]]
            msgs = [self.messages.outgoing("act_survey", a.id, r, "act.survey", a, stars) for r in people]
            await enqueue(tx, msgs, now)


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
        checkin_opens=a.checkin_opens,
    )
