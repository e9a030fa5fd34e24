"""Member rules: what a valid profile value is, registration, joining, approvals, data rights."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.roles import Actor
from storage.members import InviteUnavailable as InviteUnavailable  # re-exported: handlers never import storage
from storage.members import Member as Member
from storage.members import MemberRepo, Membership, PendingRequest
from storage.members import Registration as Registration

CATEGORIES = ("enterprise", "intermediary", "freelancer", "new_media", "other")
EXPERTISE = (
    "law",
    "accounting",
    "tax",
    "finance",
    "psychology",
    "education",
    "medicine",
    "it",
    "new_media",
    "design",
    "other",
)
NAME_MAX = 64
TEXT_MAX = 200
INVITE_PREFIX = "inv_"
REFRESH_RETRY = timedelta(days=7)

__all__ = ["Invalid", "InviteUnavailable", "MemberService", "clean_text", "new_invite_token"]


class Invalid(ValueError):
    """A value the member typed is not acceptable; `reason` names why (empty/too_long/control)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_text(value: str | None, max_len: int = TEXT_MAX) -> str:
    """Trim, refuse control characters, empty text and overlong text (counted in characters).

    Markup is kept as typed (it is escaped when shown); emoji and right-to-left text are fine,
    but bidirectional override/isolate controls are refused with the other control characters.
    """
    text = (value or "").strip()
    if not text:
        raise Invalid("empty")
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf") and ch not in ("\u200d", "\ufe0f"):
            raise Invalid("control")
    if len(text) > max_len:
        raise Invalid("too_long")
    return text


def new_invite_token() -> str:
    """URL-safe token; with the prefix well under Telegram's 64-character payload limit."""
    return secrets.token_urlsafe(16)


def valid_token(token: str) -> bool:
    return 0 < len(token) <= 64 - len(INVITE_PREFIX) and all(c.isascii() and (c.isalnum() or c in "-_") for c in token)


class MemberService:
    def __init__(self, repo: MemberRepo, clock: Clock, refresh_days: int) -> None:
        self.repo = repo
        self._clock = clock
        self.refresh = timedelta(days=refresh_days)

    async def by_user(self, user_id: int) -> Member | None:
        return await self.repo.by_user(user_id)

    async def get(self, member_id: int) -> Member | None:
        return await self.repo.get(member_id)

    async def registered(self, user_id: int) -> Member | None:
        """The member row of someone who registered and has not erased their data."""
        member = await self.repo.by_user(user_id)
        return member if member is not None and member.status in ("active", "pending", "left") else None

    async def register(self, reg: Registration) -> Member:
        return await self.repo.register(reg, self._clock.now(), self.refresh)

    async def update(self, member: Member, column: str, value: str | None) -> None:
        await self.repo.update_field(member.id, column, value, self._clock.now())

    async def save_profile(self, member: Member, values: dict[str, str | None], tags: tuple[str, ...]) -> None:
        await self.repo.update_profile(member.id, values, tuple(t for t in tags if t in EXPERTISE), self._clock.now())

    async def set_expertise(self, member: Member, tags: tuple[str, ...]) -> None:
        await self.repo.set_expertise(member.id, tuple(t for t in tags if t in EXPERTISE), self._clock.now())

    async def join_by_invite(self, member: Member, token: str) -> str:
        if not valid_token(token):
            raise InviteUnavailable(token)
        return await self.repo.join(member.id, member.user_id or 0, token, None, self._clock.now())

    async def join_group(self, member: Member, group_id: int) -> str:
        return await self.repo.join(member.id, member.user_id or 0, None, group_id, self._clock.now())

    async def memberships(self, member: Member) -> list[Membership]:
        return await self.repo.memberships(member.id)

    async def pending_requests(self, actor: Actor) -> list[PendingRequest]:
        """Join requests waiting in the groups the actor covers."""
        return await self.repo.pending_requests(None if actor.scope.everything else actor.scope.paths)

    async def record_message(self, actor: Actor, member: Member) -> None:
        """Audit that a coordinator messaged a member (the caller checked the member is in scope)."""
        await self.repo.record_message(actor.user_id, member.id, self._clock.now())

    async def decide(self, actor_id: int, member_id: int, group_id: int, approve: bool, reason: str | None) -> bool:
        return await self.repo.decide(actor_id, member_id, group_id, approve, reason, self._clock.now())

    async def leave_group(self, member: Member, group_id: int) -> bool:
        return await self.repo.leave_group(member.id, member.user_id or 0, group_id, self._clock.now())

    async def leave(self, member: Member) -> None:
        await self.repo.leave_association(member.id, member.user_id or 0, self._clock.now())

    async def erase(self, member: Member) -> None:
        await self.repo.erase(member.id, member.user_id or 0, self._clock.now())

    async def confirm_profile(self, member: Member) -> None:
        await self.repo.confirm_profile(member.id, self._clock.now(), self.refresh)

    async def claim_due_refresh(self) -> list[tuple[int, int]]:
        return await self.repo.claim_due_refresh(self._clock.now(), REFRESH_RETRY)

    async def export(self, member: Member) -> dict[str, Any]:
        data = asdict(member)
        for key, value in list(data.items()):
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["expertise"] = list(member.expertise)
        data["groups"] = [asdict(m) for m in await self.repo.memberships(member.id)]
        return data
