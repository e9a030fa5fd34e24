"""The reading half of the activities service: which activities a coordinator may manage (scope
through storage/scope), rosters and survey answers, what a member sees, and the member's own
check-in and rating. `ActivityService` (service.py) adds creation, sign-ups and coordinator actions.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.activities.messages import Messages
from bot.activities.models import ACTIVE, MAX_TEXT, Activity, Group, Result, RosterEntry
from bot.activities.rules import Eligibility
from bot.clock import Clock
from bot.config import Language
from bot.dates import show
from bot.errors import Refusal
from bot.i18n import Catalog, Markup
from bot.roles import AccessDenied, Actor
from bot.text import truncate_text
from storage import activities as st
from storage import signups as su
from storage.db import Database

MANAGE_SINCE = timedelta(days=7)


def refused(code: str, a: Activity | None = None, *, status: str | None = None, **values: object) -> Refusal:
    """The refusal ``act.r.<code>``; `activity`/`status` let a handler re-show the card as it stands."""
    return Refusal(f"act.r.{code}", activity=a, status=status, **values)


class ActivityBase:
    def __init__(self, db: Database, clock: Clock, catalog: Catalog, zone: ZoneInfo) -> None:
        self.db = db
        self.repo = st.ActivityRepo(db)
        self.signups = su.SignupRepo(db)
        self.clock = clock
        self.catalog = catalog
        self.zone = zone
        self.messages = Messages(catalog, zone)

    def card(self, lang: Language, a: Activity) -> Markup:
        return self.messages.card(lang, a)

    # --- what a coordinator may see -------------------------------------------------------------------
    async def manageable(self, who: Actor, activity_id: int) -> Activity | None:
        """The activity if `who`'s scope covers it (every group it is addressed to), else None."""
        if not who.is_coordinator:
            return None
        return await self.repo.manageable_one(activity_id, who.scope.paths_or_none)

    async def managed(self, who: Actor, activity_id: int) -> Activity:
        """`manageable`, raising AccessDenied instead of returning None."""
        a = await self.manageable(who, activity_id)
        if a is None:
            raise AccessDenied("activity outside the coordinator's scope")
        return a

    async def manageable_upcoming(self, who: Actor) -> list[Activity]:
        """Published/closed activities (ended a week ago at the earliest) `who` may manage, in one query."""
        if not who.is_coordinator:
            return []
        return await self.repo.manageable_upcoming(self.clock.now() - MANAGE_SINCE, who.scope.paths_or_none)

    async def roster(self, who: Actor, activity_id: int) -> tuple[Activity, list[RosterEntry]] | None:
        """The activity and everyone signed up to it; None when `who` may not manage it."""
        a = await self.manageable(who, activity_id)
        return None if a is None else (a, await self.signups.roster(activity_id))

    async def to_mark(self, who: Actor, activity_id: int) -> tuple[Activity, list[RosterEntry]] | None:
        """Confirmed people, checked in or not (attendance to mark or undo); None when `who` may not
        manage it."""
        found = await self.roster(who, activity_id)
        if found is None:
            return None
        a, entries = found
        return a, [e for e in entries if e.status == "confirmed"]

    async def survey_results(
        self, who: Actor, activity_id: int
    ) -> tuple[Activity, list[tuple[int, str | None]]] | None:
        """(rating, comment) answers in the order given; None when `who` may not manage the activity."""
        a = await self.manageable(who, activity_id)
        return None if a is None else (a, await self.signups.survey_results(activity_id))

    async def pickable_groups(self, who: Actor, limit: int = 20) -> list[Group]:
        """The live groups `who` may address an activity to."""
        return [g for g in await st.all_groups(self.db) if who.scope.covers_path(g.path)][:limit]

    # --- check-in and the rating survey ---------------------------------------------------------------
    async def check_in(self, user_id: int, member_id: int | None, code: str) -> Result:
        now = self.clock.now()
        code = code.strip()
        if member_id is None:
            raise refused("not_member", title="")
        if not code.isascii() or not code.isdigit() or len(code) != 6:
            raise refused("bad_code", title="")
        for a in await self.signups.confirmed_with_code(member_id, code):
            if a.checkin_from <= now <= a.ends_at:
                async with self.db.transaction() as tx:
                    done = await su.mark_checked_in(tx, a.id, member_id, now)
                if not done:
                    raise refused("already_checked_in", a, title=a.title)
                return Result("checked_in", a)
            if now > a.ends_at:
                raise refused("code_over", a, title=a.title)
            raise refused("code_not_now", a, title=a.title, opens=show(a.checkin_from, self.zone))
        raise refused("bad_code", title="")

    async def rate(self, user_id: int, member_id: int | None, activity_id: int, rating: int) -> Result:
        if member_id is None or not 1 <= rating <= 5:
            raise refused("bad_rating")
        s = await self.signups.member_signup(activity_id, member_id)
        if s is None or s.checked_in_at is None:
            raise refused("not_attended")
        async with self.db.transaction() as tx:
            await su.save_rating(tx, activity_id, member_id, rating, self.clock.now())
        return Result("rated")

    async def comment(self, member_id: int, activity_id: int, text: str) -> bool:
        async with self.db.transaction() as tx:
            return await su.save_comment(tx, activity_id, member_id, truncate_text(text, MAX_TEXT, ""))

    # --- what a member sees ---------------------------------------------------------------------
    async def _rule(self, a: Activity) -> Eligibility:
        return Eligibility(tuple(await self.repo.group_paths_of(a.id)) if a.has_groups else (), a.categories)

    async def eligible(self, member_id: int, a: Activity) -> bool:
        rule = await self._rule(a)
        return rule.allows(await self.repo.member_paths(member_id), await self.repo.member_category(member_id))

    async def get(self, activity_id: int) -> Activity | None:
        """The activity as stored now (for re-showing one the caller was just allowed to act on)."""
        return await self.repo.get(activity_id)

    async def member_view(self, member_id: int, activity_id: int) -> tuple[Activity, str | None] | None:
        """The activity and the member's sign-up status; None unless signed up or eligible."""
        a = await self.repo.get(activity_id)
        if a is None:
            return None
        signup = await self.signups.member_signup(activity_id, member_id)
        if signup is None and not await self.eligible(member_id, a):
            return None
        return a, signup.status if signup else None

    async def held_by(self, member_id: int | None, activity_id: int) -> Activity | None:
        """The activity when the member holds or awaits a seat in it (for the calendar file), else None."""
        a = await self.repo.get(activity_id)
        signup = await self.signups.member_signup(activity_id, member_id) if member_id and a else None
        return a if signup is not None and signup.status in ACTIVE else None

    async def visible_for(self, member_id: int) -> list[tuple[Activity, str | None]]:
        """Upcoming activities the member is eligible for (or already signed up to), with status."""
        now = self.clock.now()
        upcoming = [a for a in await self.repo.upcoming(now) if a.status != "cancelled"]
        statuses = await self.signups.statuses_for_member(member_id, [a.id for a in upcoming])
        paths = await self.repo.member_paths(member_id)
        category = await self.repo.member_category(member_id)
        out: list[tuple[Activity, str | None]] = []
        for a in upcoming:
            if a.id in statuses or (await self._rule(a)).allows(paths, category):
                out.append((a, statuses.get(a.id)))
        return out
