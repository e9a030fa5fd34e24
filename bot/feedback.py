"""Feedback from members (suggestions, needs, complaints): submission, handling, deadlines.

Anonymity: the author of an anonymous item is known only through `feedback_authors`, which
this service reads solely to route answers back and to count the daily limit; coordinator
views (`view`, `queue`, `export`) come from queries that never read it.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Settings
from bot.roles import AccessDenied, Actor, RoleService
from storage.feedback import (
    OPEN_STATUSES,
    Created,
    DigestEntry,
    FeedbackRepo,
    MemberItem,
    NewFeedback,
)
from storage.feedback import Item as Item  # re-exported: handlers never import storage
from storage.feedback import LimitReached as LimitReached
from storage.feedback import Note as Note

log = logging.getLogger(__name__)

KINDS = ("suggestion", "need", "complaint", "other")
STATUSES = ("new", "assigned", "in_progress", "answered", "closed")
MAX_TEXT = 4000
MAX_ATTACHMENTS = 10
PAGE_SIZE = 8
DEFAULT_TARGET_DAYS = {"suggestion": 7, "need": 7, "complaint": 3, "other": 7}
REMIND_BEFORE = timedelta(days=1)
DIGEST_WINDOW = timedelta(days=90)
DIGEST_MAX_ITEMS = 15

# (user_id, catalogue key, values) -> delivered?
Notify = Callable[[int, str, dict[str, Any]], Awaitable[bool]]

__all__ = ["Created", "FeedbackService", "Item", "LimitReached", "MemberItem", "Note", "TextProblem"]


class TextProblem(ValueError):
    """Empty or oversized text; `reason` is 'empty' or 'too_long'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(Exception):
    """No such item (or not one the caller may touch)."""


@dataclass(frozen=True)
class QueuePage:
    rows: list[tuple[int, str, str, str]]
    page: int
    pages: int
    total: int


@dataclass
class FeedbackService:
    repo: FeedbackRepo
    roles: RoleService
    clock: Clock
    settings: Settings
    target_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_TARGET_DAYS))
    notifier: Notify | None = None

    # --- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def clean_text(text: str | None, limit: int = MAX_TEXT) -> str:
        """Strip, drop control characters (keeping newlines and tabs), enforce 1..limit characters."""
        value = "".join(ch for ch in (text or "") if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()
        if not value:
            raise TextProblem("empty")
        if len(value) > limit:
            raise TextProblem("too_long")
        return value

    def _day_start(self, now: datetime) -> datetime:
        local = now.astimezone(self.settings.zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.settings.zone).strftime("%Y-%m-%d %H:%M")

    @staticmethod
    def _require_member(actor: Actor) -> int:
        if actor.member_id is None or not actor.is_member:
            raise AccessDenied("members only")
        return actor.member_id

    async def _item_in_scope(self, actor: Actor, item_id: int) -> Item:
        self.roles.require_coordinator(actor)
        item = await self.repo.item(item_id)
        if item is None:
            raise NotFound
        if not actor.scope.covers_any(list(item.paths)):
            raise AccessDenied("item outside scope")
        return item

    @staticmethod
    def _scope_paths(actor: Actor) -> list[str] | None:
        return None if actor.scope.everything else list(actor.scope.paths)

    async def _notify(self, user_id: int, key: str, **values: Any) -> bool:
        if self.notifier is None:
            log.warning("feedback notice %s not sent: no notifier", key)
            return False
        return await self.notifier(user_id, key, values)

    # --- members ---------------------------------------------------------------------------------
    async def remaining_today(self, actor: Actor) -> int:
        member_id = self._require_member(actor)
        used = await self.repo.count_since(member_id, self._day_start(self.clock.now()))
        return max(0, self.settings.feedback_daily_limit - used)

    async def submit(
        self, actor: Actor, kind: str, body: str, anonymous: bool, attachments: list[tuple[str, str]]
    ) -> Created:
        member_id = self._require_member(actor)
        if kind not in KINDS:
            raise ValueError("unknown kind")
        text = self.clean_text(body)
        now = self.clock.now()
        due = now + timedelta(days=self.target_days.get(kind, 7))
        return await self.repo.create(
            NewFeedback(member_id, actor.user_id, kind, text, anonymous, tuple(attachments[:MAX_ATTACHMENTS])),
            now,
            since=self._day_start(now),
            limit=self.settings.feedback_daily_limit,
            due_at=due,
            remind_at=due - REMIND_BEFORE,
        )

    async def mine(self, actor: Actor) -> list[MemberItem]:
        return await self.repo.for_member(self._require_member(actor))

    async def mark_helpful(self, actor: Actor, item_id: int, helpful: bool) -> bool:
        return await self.repo.set_helpful(item_id, self._require_member(actor), helpful, self.clock.now())

    async def reopen(self, actor: Actor, item_id: int, comment: str) -> str | None:
        member_id = self._require_member(actor)
        text = self.clean_text(comment)
        now = self.clock.now()
        item = await self.repo.item(item_id)
        if item is None:
            return None
        due = now + timedelta(days=self.target_days.get(item.kind, 7))
        ref = await self.repo.reopen(item_id, member_id, text, now, due)
        if ref is not None and item.assignee_user_id is not None:
            await self._notify(item.assignee_user_id, "fb.notify.reopened", ref=ref)
        return ref

    async def forget_member(self, member_id: int) -> int:
        """Erase the member's author links (called by /forget); returns links removed."""
        return await self.repo.forget_member(member_id)

    # --- coordinators -------------------------------------------------------------------------------
    async def queue(
        self, actor: Actor, status: str | None, kind: str | None, group_id: int | None, page: int
    ) -> QueuePage:
        self.roles.require_coordinator(actor)
        group_path = None
        if group_id is not None:
            await self.roles.require_group(actor, group_id)
            group_path = await self.repo_group_path(group_id)
        rows, total = await self.repo.queue(
            self._scope_paths(actor), status, kind, group_path, PAGE_SIZE, max(page, 0) * PAGE_SIZE
        )
        pages = max(1, -(-total // PAGE_SIZE))
        return QueuePage(rows, min(max(page, 0), pages - 1), pages, total)

    async def repo_group_path(self, group_id: int) -> str | None:
        return await self.repo.group_path(group_id)

    async def scope_groups(self, actor: Actor) -> list[tuple[int, str]]:
        """(group id, name) of the groups the coordinator was appointed to (or roots for everything)."""
        self.roles.require_coordinator(actor)
        return await self.repo_groups_for(actor)

    async def repo_groups_for(self, actor: Actor) -> list[tuple[int, str]]:
        return [(group_id, name) for group_id, name, path in await self.repo.groups() if actor.scope.covers_path(path)][
            :12
        ]

    async def view(self, actor: Actor, item_id: int) -> tuple[Item, list[Note]]:
        item = await self._item_in_scope(actor, item_id)
        return item, await self.repo.notes(item_id)

    async def take(self, actor: Actor, item_id: int) -> str:
        await self._item_in_scope(actor, item_id)
        ref = await self.repo.assign(item_id, actor.user_id, actor.user_id, self.clock.now(), "feedback.take")
        if ref is None:
            raise NotFound
        return ref

    async def assignable(self, actor: Actor, item_id: int) -> list[tuple[int, str]]:
        item = await self._item_in_scope(actor, item_id)
        users: dict[int, str] = {}
        for user_id, path, parent_id in await self.repo.coordinator_groups():
            if parent_id is None or any(p.startswith(path) for p in item.paths):
                users.setdefault(user_id, await self.repo.display_name(user_id) or str(user_id))
        return sorted(users.items())

    async def assign(self, actor: Actor, item_id: int, to_user: int) -> str:
        allowed = dict(await self.assignable(actor, item_id))
        if to_user not in allowed:
            raise AccessDenied("assignee outside scope")
        ref = await self.repo.assign(item_id, to_user, actor.user_id, self.clock.now(), "feedback.assign")
        if ref is None:
            raise NotFound
        if to_user != actor.user_id:
            await self._notify(to_user, "fb.notify.assigned", ref=ref)
        return ref

    async def start_work(self, actor: Actor, item_id: int) -> bool:
        await self._item_in_scope(actor, item_id)
        return await self.repo.start_work(item_id, actor.user_id, self.clock.now())

    async def add_note(self, actor: Actor, item_id: int, text: str) -> None:
        await self._item_in_scope(actor, item_id)
        if not await self.repo.add_note(item_id, actor.user_id, self.clean_text(text), self.clock.now()):
            raise NotFound

    async def answer(self, actor: Actor, item_id: int, text: str) -> tuple[Item, int | None]:
        """Record the official answer; returns the item and the author's chat id for delivery."""
        item = await self._item_in_scope(actor, item_id)
        body = self.clean_text(text)
        if item.status not in OPEN_STATUSES or not await self.repo.answer(
            item_id, actor.user_id, body, self.clock.now()
        ):
            raise NotFound
        author = await self.repo.author_of(item_id)
        fresh = await self.repo.item(item_id)
        assert fresh is not None
        return fresh, None if author is None else author[1]

    async def close(self, actor: Actor, item_id: int) -> bool:
        await self._item_in_scope(actor, item_id)
        return await self.repo.close(item_id, actor.user_id, self.clock.now())

    async def export(self, actor: Actor) -> list[Item]:
        self.roles.require_coordinator(actor)
        return await self.repo.export_rows(self._scope_paths(actor))

    # --- digest --------------------------------------------------------------------------------------
    async def digest_preview(self, actor: Actor, group_id: int | None) -> list[DigestEntry]:
        self.roles.require_coordinator(actor)
        paths = self._scope_paths(actor)
        if group_id is not None:
            await self.roles.require_group(actor, group_id)
            path = await self.repo_group_path(group_id)
            paths = [path] if path else []
        return await self.repo.answered_suggestions(paths, self.clock.now() - DIGEST_WINDOW, DIGEST_MAX_ITEMS)

    async def send_digest(self, actor: Actor, group_id: int | None, texts: dict[str, str], items: int) -> int:
        self.roles.require_coordinator(actor)
        group_path = None
        if group_id is not None:
            await self.roles.require_group(actor, group_id)
            group_path = await self.repo_group_path(group_id)
        return await self.repo.send_digest(
            actor.user_id,
            group_path,
            self._scope_paths(actor),
            texts,
            self.settings.language,
            items,
            self.clock.now(),
        )

    # --- deadlines ------------------------------------------------------------------------------------
    async def run_due(self) -> int:
        """Fire every due reminder/escalation once (claimed in a transaction); returns how many fired."""
        now = self.clock.now()
        fired = 0
        for job in await self.repo.due_jobs(now):
            target = await self.repo.claim(job.id, now)
            if target is None:
                continue
            fired += 1
            if target.job_kind == "remind":
                for user_id in await self._remind_recipients(target.feedback_id, target.assignee_user_id):
                    await self._notify(user_id, "fb.notify.reminder", ref=target.ref, due=self.local(target.due_at))
            else:
                for user_id in await self._escalation_recipients(target.feedback_id):
                    await self._notify(user_id, "fb.notify.escalated", ref=target.ref, due=self.local(target.due_at))
        return fired

    async def _remind_recipients(self, item_id: int, assignee: int | None) -> list[int]:
        if assignee is not None:
            return [assignee]
        item = await self.repo.item(item_id)
        paths = list(item.paths) if item else []
        return sorted(
            {u for u, path, _ in await self.repo.coordinator_groups() if any(p.startswith(path) for p in paths)}
        )

    async def _escalation_recipients(self, item_id: int) -> list[int]:
        """Coordinators of the nearest ancestor group that has any; else the head association; else owners."""
        item = await self.repo.item(item_id)
        appointments = await self.repo.coordinator_groups()
        by_path: dict[str, set[int]] = {}
        for user_id, path, _ in appointments:
            by_path.setdefault(path, set()).add(user_id)
        chosen: set[int] = set()
        for path in item.paths if item else ():
            ids = [p for p in path.strip("/").split("/") if p]
            for depth in range(len(ids) - 1, 0, -1):
                ancestor = "/" + "/".join(ids[:depth]) + "/"
                if by_path.get(ancestor):
                    chosen |= by_path[ancestor]
                    break
        if not chosen:
            chosen = {u for u, _, parent in appointments if parent is None}
        if not chosen:
            chosen = set(self.roles.owners)
        return sorted(chosen)

    async def next_due(self) -> datetime | None:
        return await self.repo.next_due()
