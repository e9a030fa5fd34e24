"""Audiences: who a notice (or, later, an activity reminder or questionnaire) goes to.

A `Segment` is a small, JSON-serialisable description of an audience. `SegmentResolver`
turns it into recipients inside the caller's transaction (so the recipient list and the
outbox rows commit together), always limited to the sender's scope, or only counts them
(previews). Other features add kinds (e.g. "activity" participants, "questionnaire"
non-respondents, see bot/audiences.py) with `register`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.roles import AccessDenied, Scope
from storage.segments import Reader, Recipient, SegmentRepo, count_members, members

MEMBERS = "members"


@dataclass(frozen=True)
class Segment:
    """`kind` "members": everyone in scope, or narrowed by groups (subtrees) and/or categories.

    Other kinds name their object in `ref_id` (an activity, a questionnaire) and may qualify it
    with `status` (e.g. which participants of an activity).
    """

    kind: str = MEMBERS
    everyone: bool = False
    group_ids: tuple[int, ...] = field(default_factory=tuple)
    categories: tuple[str, ...] = field(default_factory=tuple)
    ref_id: int | None = None
    status: str | None = None

    @property
    def empty(self) -> bool:
        if self.kind != MEMBERS:
            return self.ref_id is None
        return not self.everyone and not self.group_ids and not self.categories

    def to_json(self) -> str:
        return json.dumps(
            {"kind": self.kind, "everyone": self.everyone, "group_ids": list(self.group_ids),
             "categories": list(self.categories), "ref_id": self.ref_id, "status": self.status},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Segment:
        """Reads every stored form (older rows have no `status`)."""
        data = json.loads(text)
        ref_id = data.get("ref_id")
        status = data.get("status")
        return cls(
            kind=str(data.get("kind", MEMBERS)),
            everyone=bool(data.get("everyone", False)),
            group_ids=tuple(int(g) for g in data.get("group_ids", [])),
            categories=tuple(str(c) for c in data.get("categories", [])),
            ref_id=None if ref_id is None else int(ref_id),
            status=None if status is None else str(status),
        )


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

    async def resolve(self, reader: Reader, segment: Segment, scope: Scope) -> list[Recipient]:
        if segment.kind != MEMBERS:
            return await self._kind(segment).resolve(reader, segment, scope)
        if scope.empty:
            return []
        scope_paths = None if scope.everything else list(scope.paths)
        if segment.everyone:
            return await members(reader, scope_paths=scope_paths)
        group_paths = list((await self.repo.group_paths(segment.group_ids)).values())
        return await members(
            reader, scope_paths=scope_paths, group_paths=group_paths, categories=segment.categories
        )

    async def count(self, reader: Reader, segment: Segment, scope: Scope) -> int:
        """How many recipients `resolve` would give, without building them (previews)."""
        if segment.kind != MEMBERS:
            handler = self._kind(segment)
            if handler.count is None:
                return len(await handler.resolve(reader, segment, scope))
            return await handler.count(reader, segment, scope)
        if scope.empty:
            return 0
        scope_paths = None if scope.everything else list(scope.paths)
        if segment.everyone:
            return await count_members(reader, scope_paths=scope_paths)
        group_paths = list((await self.repo.group_paths(segment.group_ids)).values())
        return await count_members(
            reader, scope_paths=scope_paths, group_paths=group_paths, categories=segment.categories
        )
