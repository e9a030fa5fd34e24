"""Audiences: who a notice (or, later, an activity reminder or questionnaire) goes to.

A `Segment` is a small, JSON-serialisable description of an audience. `SegmentResolver`
turns it into recipients inside the caller's transaction (so the recipient list and the
outbox rows commit together), always limited to the sender's scope, or only counts them
(previews). Other features add kinds (e.g. "activity" participants, "questionnaire"
non-respondents, see bot/notices/audiences.py) with `register`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.notices.models import MEMBERS, Recipient, Segment
from bot.roles import AccessDenied, Scope
from storage.db import Tx
from storage.segments import MemberMessage, Reader, SegmentRepo, count_members, enqueue_members, members

__all__ = ["MemberMessage", "Segment", "SegmentResolver"]


KindResolver = Callable[[Reader, Segment, Scope], Awaitable[list[Recipient]]]
KindCounter = Callable[[Reader, Segment, Scope], Awaitable[int]]
# (segment, sender's scope, sender's user id) -> None, or raises AccessDenied
KindCheck = Callable[[Segment, Scope, "int | None"], Awaitable[None]]


@dataclass(frozen=True)
class _Kind:
    resolve: KindResolver
    count: KindCounter | None
    check: KindCheck | None


class SegmentResolver:
    def __init__(self, repo: SegmentRepo) -> None:
        self.repo = repo
        self._kinds: dict[str, _Kind] = {}

    def register(
        self, kind: str, resolver: KindResolver, *, count: KindCounter | None = None, check: KindCheck | None = None
    ) -> None:
        """Let another feature add an audience kind (e.g. 'activity' participants).

        `count` answers previews without fetching recipients (default: resolve and count);
        `check` refuses references the sender may not use (AccessDenied).
        """
        if kind in self._kinds or kind == MEMBERS:
            raise ValueError(f"segment kind {kind!r} registered twice")
        self._kinds[kind] = _Kind(resolver, count, check)

    def _kind(self, segment: Segment) -> _Kind:
        handler = self._kinds.get(segment.kind)
        if handler is None:
            raise ValueError(f"unknown segment kind {segment.kind!r}")
        return handler

    async def check(self, segment: Segment, scope: Scope, user_id: int | None = None) -> None:
        """The chosen groups (or the referenced object) are all inside the sender's scope."""
        if segment.empty:
            raise ValueError("empty segment")
        if segment.kind != MEMBERS:
            handler = self._kind(segment)
            if handler.check is not None:
                await handler.check(segment, scope, user_id)
            return
        paths = await self.repo.group_paths(segment.group_ids)
        if len(paths) != len(set(segment.group_ids)):
            raise AccessDenied("unknown group")
        for path in paths.values():
            if not scope.covers_path(path):
                raise AccessDenied("group outside scope")

    async def resolve(
        self, reader: Reader, segment: Segment, scope: Scope, exclude_user: int | None = None
    ) -> list[Recipient]:
        """The recipients; `exclude_user` (the sender) is never one of them."""
        if segment.kind != MEMBERS:
            found = await self._kind(segment).resolve(reader, segment, scope)
            return found if exclude_user is None else [r for r in found if r.user_id != exclude_user]
        if scope.empty:
            return []
        scope_paths = scope.paths_or_none
        if segment.everyone:
            return await members(reader, scope_paths=scope_paths, exclude_user=exclude_user)
        group_paths = list((await self.repo.group_paths(segment.group_ids)).values())
        return await members(
            reader, scope_paths=scope_paths, group_paths=group_paths, categories=segment.categories,
            exclude_user=exclude_user,
        )

    async def enqueue(self, tx: Tx, segment: Segment, scope: Scope, message: MemberMessage,
                      now: datetime, exclude_user: int | None = None) -> int | None:
        """Queue `message` for the recipients `resolve` would give, set-based in the database
        (no Python object per recipient); returns how many, or None for a kind registered by
        another feature (the caller then resolves and queues the list)."""
        if segment.kind != MEMBERS:
            return None
        if scope.empty:
            return 0
        scope_paths = scope.paths_or_none
        if segment.everyone:
            return await enqueue_members(tx, message, now, scope_paths=scope_paths, exclude_user=exclude_user)
        group_paths = list((await self.repo.group_paths(segment.group_ids)).values())
        return await enqueue_members(tx, message, now, scope_paths=scope_paths, group_paths=group_paths,
                                     categories=segment.categories, exclude_user=exclude_user)

    async def count(self, reader: Reader, segment: Segment, scope: Scope, exclude_user: int | None = None) -> int:
        """How many `resolve` would give, without building them (previews)."""
        if segment.kind != MEMBERS:
            handler = self._kind(segment)
            if handler.count is None or exclude_user is not None:
                return len(await self.resolve(reader, segment, scope, exclude_user))
            return await handler.count(reader, segment, scope)
        if scope.empty:
            return 0
        scope_paths = scope.paths_or_none
        if segment.everyone:
            return await count_members(reader, scope_paths=scope_paths, exclude_user=exclude_user)
        group_paths = list((await self.repo.group_paths(segment.group_ids)).values())
        return await count_members(
            reader, scope_paths=scope_paths, group_paths=group_paths, categories=segment.categories,
            exclude_user=exclude_user,
        )
