"""Audiences: who a notice (or, later, an activity reminder or questionnaire) goes to.

A `Segment` is a small, JSON-serialisable description of an audience. `SegmentResolver`
turns it into recipients inside the caller's transaction (so the recipient list and the
outbox rows commit together), always limited to the sender's scope. Other features add
kinds (e.g. "activity" participants, "questionnaire" non-respondents) with `register`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.roles import AccessDenied, Scope
from storage.segments import Reader, Recipient, SegmentRepo, members

MEMBERS = "members"


@dataclass(frozen=True)
class Segment:
    """`kind` "members": everyone in scope, or narrowed by groups (subtrees) and/or categories."""

    kind: str = MEMBERS
    everyone: bool = False
    group_ids: tuple[int, ...] = field(default_factory=tuple)
    categories: tuple[str, ...] = field(default_factory=tuple)
    ref_id: int | None = None

    @property
    def empty(self) -> bool:
        return self.kind == MEMBERS and not self.everyone and not self.group_ids and not self.categories

    def to_json(self) -> str:
        return json.dumps(
            {"kind": self.kind, "everyone": self.everyone, "group_ids": list(self.group_ids),
             "categories": list(self.categories), "ref_id": self.ref_id},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Segment:
        data = json.loads(text)
        return cls(
            kind=str(data.get("kind", MEMBERS)),
            everyone=bool(data.get("everyone", False)),
            group_ids=tuple(int(g) for g in data.get("group_ids", [])),
            categories=tuple(str(c) for c in data.get("categories", [])),
            ref_id=data.get("ref_id"),
        )


KindResolver = Callable[[Reader, Segment, Scope], Awaitable[list[Recipient]]]


class SegmentResolver:
    def __init__(self, repo: SegmentRepo) -> None:
        self.repo = repo
        self._kinds: dict[str, KindResolver] = {}

    def register(self, kind: str, resolver: KindResolver) -> None:
        """Let another feature add an audience kind (e.g. 'activity' participants)."""
        if kind in self._kinds or kind == MEMBERS:
            raise ValueError(f"segment kind {kind!r} registered twice")
        self._kinds[kind] = resolver

    async def check(self, segment: Segment, scope: Scope) -> None:
        """The chosen groups are all inside the sender's scope."""
        if segment.empty:
            raise ValueError("empty segment")
        paths = await self.repo.group_paths(segment.group_ids)
        if len(paths) != len(set(segment.group_ids)):
            raise AccessDenied("unknown group")
        for path in paths.values():
            if not scope.covers_path(path):
                raise AccessDenied("group outside scope")

    async def resolve(self, reader: Reader, segment: Segment, scope: Scope) -> list[Recipient]:
        if segment.kind != MEMBERS:
            resolver = self._kinds.get(segment.kind)
            if resolver is None:
                raise ValueError(f"unknown segment kind {segment.kind!r}")
            return await resolver(reader, segment, scope)
        if scope.empty:
            return []
        scope_paths = None if scope.everything else list(scope.paths)
        if segment.everyone:
            return await members(reader, scope_paths=scope_paths)
        group_paths = list((await self.repo.group_paths(segment.group_ids)).values())
        return await members(
            reader, scope_paths=scope_paths, group_paths=group_paths, categories=segment.categories
        )
