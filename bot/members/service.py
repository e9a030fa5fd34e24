"""Member rules: registration, joining, approvals, data rights, the periodic profile check."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.errors import Refusal
from bot.i18n import Catalog, normalise_language
from bot.members.callbacks import PROFILE_FRESH, PROFILE_UPDATE
from bot.members.models import EXPERTISE, InviteUnavailable, Member, Membership, PendingRequest, Registration
from bot.members.rules import valid_token
from bot.roles import Actor
from storage import audit, erasure
from storage import members as store
from storage.db import Database
from storage.members import MemberRepo
from storage.outbox import OutgoingMessage, enqueue

REFRESH_RETRY = timedelta(days=7)
PROFILE_CHECK = "profile_check"  # outbox kind of the periodic "is your profile still right?" message


class MemberService:
    def __init__(self, db: Database, clock: Clock, refresh_days: int, catalog: Catalog) -> None:
        self.db = db
        self.repo = MemberRepo(db)
        self._clock = clock
        self.refresh = timedelta(days=refresh_days)
        self._catalog = catalog

    async def by_user(self, user_id: int) -> Member | None:
        return await self.repo.by_user(user_id)

    async def get(self, member_id: int) -> Member | None:
        return await self.repo.get(member_id)

    async def registered(self, user_id: int) -> Member | None:
        """The member row of someone who registered and has not erased their data."""
        member = await self.repo.by_user(user_id)
        return member if member is not None and member.status in ("active", "pending", "left") else None

    async def register(self, reg: Registration) -> Member:
        """Refusal ``members.invite.expired_during`` when the invite was used up meanwhile."""
        now = self._clock.now()
        try:
            async with self.db.transaction() as tx:
                member_id, status = await store.insert_member(tx, reg, now, self.refresh)
                await audit.record(tx, now, reg.user_id, "member.register", "member", member_id, {"status": status})
        except InviteUnavailable:
            raise Refusal("members.invite.expired_during") from None
        member = await self.repo.get(member_id)
        assert member is not None
        return member

    async def save_profile(self, member: Member, values: dict[str, str | None], tags: tuple[str, ...]) -> None:
        """Save an edited profile and count it as confirmed (the periodic check starts again)."""
        now = self._clock.now()
        async with self.db.transaction() as tx:
            await store.update_profile(tx, member.id, values, now)
            await store.set_expertise(tx, member.id, tuple(t for t in tags if t in EXPERTISE))
            await store.confirm_profile(tx, member.id, now, self.refresh)

    async def join_by_invite(self, member: Member, token: str) -> str:
        """The membership's status (or "already"); Refusal ``members.invite.invalid`` otherwise."""
        if not valid_token(token):
            raise Refusal("members.invite.invalid")
        now = self._clock.now()
        try:
            async with self.db.transaction() as tx:
                group_id, status = await store.join(tx, member.id, token, None, now)
                if status != "already":
                    await audit.record(tx, now, member.user_id, "member.join", "group", group_id, {"status": status})
        except InviteUnavailable:
            raise Refusal("members.invite.invalid") from None
        return status

    async def memberships(self, member: Member) -> list[Membership]:
        return await self.repo.memberships(member.id)

    async def current_memberships(self, member: Member) -> list[Membership]:
        """Groups the member belongs to or waits to join."""
        return [m for m in await self.repo.memberships(member.id) if m.status in ("active", "pending")]

    async def memberships_in_scope(self, actor: Actor, member: Member) -> list[Membership]:
        """What a coordinator may see of a member's groups: only those inside their scope."""
        return [m for m in await self.current_memberships(member) if actor.scope.covers_path(m.path)]

    async def pending_requests(self, actor: Actor) -> list[PendingRequest]:
        """Join requests waiting in the groups the actor covers."""
        return await self.repo.pending_requests(actor.scope.paths_or_none)

    async def record_message(self, actor: Actor, member: Member) -> None:
        """Audit that a coordinator messaged a member (the caller checked the member is in scope)."""
        now = self._clock.now()
        async with self.db.transaction() as tx:
            await audit.record(tx, now, actor.user_id, "member.message", "member", member.id, None)

    async def decide(self, actor_id: int, member_id: int, group_id: int, approve: bool, reason: str | None) -> bool:
        now = self._clock.now()
        async with self.db.transaction() as tx:
            done = await store.decide(tx, actor_id, member_id, group_id, approve, reason, now)
            if done:
                action = "member.approve" if approve else "member.reject"
                details = {"group_id": group_id, "reason": reason}
                await audit.record(tx, now, actor_id, action, "member", member_id, details)
        return done

    async def leave_group(self, member: Member, group_id: int) -> bool:
        now = self._clock.now()
        async with self.db.transaction() as tx:
            left = await store.leave_group(tx, member.id, group_id, now)
            if left:
                await audit.record(tx, now, member.user_id, "member.leave_group", "group", group_id, None)
        return left

    async def leave(self, member: Member) -> None:
        now = self._clock.now()
        async with self.db.transaction() as tx:
            await store.leave_association(tx, member.id, now)
            await audit.record(tx, now, member.user_id, "member.leave", "member", member.id, None)

    async def erase(self, member: Member) -> None:
        now = self._clock.now()
        async with self.db.transaction() as tx:
            # every link to the member goes (storage/erasure); an anonymous row keeps the counts
            await erasure.erase_member(tx, member.id, member.user_id, now)
            await audit.record(tx, now, None, "member.erase", "member", None, None)

    async def confirm_profile(self, member: Member) -> None:
        async with self.db.transaction() as tx:
            await store.confirm_profile(tx, member.id, self._clock.now(), self.refresh)

    async def run_due_refresh(self) -> int:
        """Queue the profile check for each member whose check is due (each claimed once, in the
        member's language, through the outbox); returns how many were queued."""
        now = self._clock.now()
        day = int(now.timestamp()) // 86400  # one check a day at most per member (outbox key)
        async with self.db.transaction() as tx:
            claimed = await store.claim_due_refresh(tx, now, REFRESH_RETRY)
            messages = [self._profile_check(day, *row) for row in claimed]
            await enqueue(tx, messages, now)
        return len(claimed)

    def _profile_check(self, day: int, member_id: int, user_id: int, language: str | None) -> OutgoingMessage:
        tr = self._catalog.for_lang(normalise_language(language, self._catalog.default))
        keyboard = {
            "inline_keyboard": [
                [
                    {"text": str(tr("members.refresh.ok")), "callback_data": PROFILE_FRESH.data()},
                    {"text": str(tr("members.refresh.update")), "callback_data": PROFILE_UPDATE.data()},
                ]
            ]
        }
        return OutgoingMessage(PROFILE_CHECK, day, user_id, str(tr("members.refresh.ask")), member_id, keyboard)
