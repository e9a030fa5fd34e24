"""Feedback from members (suggestions, needs, complaints): submission, handling, deadlines, digest.

The service owns each write's transaction, its audit row and the messages it sends on its own
(assignment, reopening, reminders, escalations, the digest): they go through the outbox in the
same transaction, each in its recipient's language (their /language choice, else the Telegram
language last seen, else the default: `UserService.language`).

Anonymity: the author of an anonymous item is known only through `feedback_authors`, which this
service reads solely to route answers back and to count the daily limit; coordinator views
(`view`, `queue`, `export`) come from queries that never read it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import LANGUAGES, Settings
from bot.errors import Refusal
from bot.feedback.models import (
    KINDS,
    OPEN_STATUSES,
    Created,
    DigestEntry,
    Item,
    JobTarget,
    MemberItem,
    NewFeedback,
    Note,
    QueuePage,
)
from bot.i18n import Catalog, Markup, Translator
from bot.roles import AccessDenied, Actor, RoleService
from bot.text import MESSAGE_LIMIT, clean_member_text, truncate_html, truncate_text, utf16_len
from bot.users import UserService
from storage import audit, outbox
from storage import feedback as st
from storage.db import Database, Tx
from storage.groups import GroupRepo

log = logging.getLogger(__name__)

MAX_TEXT = 4000
MAX_ATTACHMENTS = 10
PAGE_SIZE = 8
DEFAULT_TARGET_DAYS = {"suggestion": 7, "need": 7, "complaint": 3, "other": 7}
REMIND_BEFORE = timedelta(days=1)
DIGEST_WINDOW = timedelta(days=90)
DIGEST_MAX_ITEMS = 15
SCOPE_GROUPS_SHOWN = 12


def clean_text(text: str | None, limit: int = MAX_TEXT) -> str:
    """The one cleaning policy (bot/text.clean_member_text), then 1..limit characters."""
    value = clean_member_text(text)
    if not value:
        raise Refusal("fb.text_empty", limit=limit)
    if utf16_len(value) > limit:  # Telegram's units: an emoji outside the BMP counts two
        raise Refusal("fb.text_too_long", limit=limit)
    return value


def short(text: str, limit: int = 60) -> str:
    one_line = " ".join(text.split())
    return truncate_text(one_line, limit)


def digest_text(tr: Translator, entries: Sequence[DigestEntry]) -> Markup:
    parts = [tr("fb.digest_title")]
    parts += [tr("fb.digest_entry", text=short(e.body, 120), answer=short(e.answer, 300)) for e in entries]
    text = "\n\n".join(parts)
    return Markup(truncate_html(text, MESSAGE_LIMIT))


@dataclass
class FeedbackService:
    db: Database
    roles: RoleService
    clock: Clock
    settings: Settings
    catalog: Catalog
    users: UserService
    wake: Callable[[], None] = lambda: None  # the outbox worker looks at once after a commit
    target_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_TARGET_DAYS))
    repo: st.FeedbackRepo = field(init=False)
    groups: GroupRepo = field(init=False)

    def __post_init__(self) -> None:
        self.repo = st.FeedbackRepo(self.db)
        self.groups = GroupRepo(self.db)

    # --- helpers ---------------------------------------------------------------------------------
    clean_text = staticmethod(clean_text)

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
            raise Refusal("fb.not_found")
        if not actor.scope.covers_any(list(item.paths)):
            raise AccessDenied("item outside scope")
        return item

    async def _group_paths(self, actor: Actor, group_id: int | None) -> tuple[str, ...] | None:
        """The scope's paths, or one group's subtree (checked to be in scope)."""
        if group_id is None:
            return actor.scope.paths_or_none
        await self.roles.require_group(actor, group_id)
        group = await self.groups.get(group_id)
        return (group.path,) if group is not None and not group.archived else ()

    async def _notify(self, tx: Tx, kind: str, ref_id: int, users: Sequence[int], key: str, **values: Any) -> int:
        """Queue `key` to each user in their language (inside the caller's transaction)."""
        messages = []
        for user_id in users:
            text = self.catalog.text(await self.users.language(user_id), key, **values)
            messages.append(outbox.OutgoingMessage(kind, ref_id, user_id, text))
        return await outbox.enqueue(tx, messages, self.clock.now())

    # --- members ---------------------------------------------------------------------------------
    async def remaining_today(self, actor: Actor) -> int:
        member_id = self._require_member(actor)
        used = await self.repo.count_since(member_id, self._day_start(self.clock.now()))
        return max(0, self.settings.feedback_daily_limit - used)

    async def submit(
        self, actor: Actor, kind: str, body: str, anonymous: bool, attachments: Sequence[tuple[str, str]]
    ) -> Created:
        member_id = self._require_member(actor)
        if kind not in KINDS:
            raise Refusal("fb.draft_lost")
        text = clean_text(body)
        now = self.clock.now()
        due = now + timedelta(days=self.target_days.get(kind, 7))
        limit = self.settings.feedback_daily_limit
        new = NewFeedback(member_id, actor.user_id, kind, text, anonymous, tuple(attachments[:MAX_ATTACHMENTS]))
        async with self.db.transaction() as tx:
            if await st.used_since(tx, member_id, self._day_start(now)) >= limit:
                raise Refusal("fb.limit", limit=limit)
            return await st.insert_item(tx, new, now, due, due - REMIND_BEFORE)

    async def mine(self, actor: Actor) -> list[MemberItem]:
        return await self.repo.for_member(self._require_member(actor))

    async def of_member(self, member_id: int) -> list[MemberItem]:
        """The member's own items (their /mydata export)."""
        return await self.repo.for_member(member_id, limit=1000)

    async def mark_helpful(self, actor: Actor, item_id: int, helpful: bool) -> bool:
        member_id = self._require_member(actor)
        async with self.db.transaction() as tx:
            return await st.set_helpful(tx, item_id, member_id, helpful, self.clock.now())

    async def reopen(self, actor: Actor, item_id: int, comment: str) -> str:
        member_id = self._require_member(actor)
        text = clean_text(comment)
        now = self.clock.now()
        item = await self.repo.item(item_id)
        if item is None:
            raise Refusal("fb.reopen_refused")
        due = now + timedelta(days=self.target_days.get(item.kind, 7))
        async with self.db.transaction() as tx:
            if not await st.reopen(tx, item_id, member_id, text, now, due):
                raise Refusal("fb.reopen_refused")
            if item.assignee_user_id is not None:
                await self._notify(
                    tx, "feedback_reopened", item_id, [item.assignee_user_id], "fb.notify.reopened", ref=item.ref
                )
        self.wake()
        return item.ref

    async def forget_member(self, member_id: int) -> int:
        """Erase the member's author links (called by /forget); returns links removed."""
        async with self.db.transaction() as tx:
            return await st.forget_member(tx, member_id)

    # --- coordinators -------------------------------------------------------------------------------
    async def queue(
        self, actor: Actor, status: str | None, kind: str | None, group_id: int | None, page: int
    ) -> QueuePage:
        self.roles.require_coordinator(actor)
        group_path = None
        if group_id is not None:
            paths = await self._group_paths(actor, group_id)
            group_path = paths[0] if paths else None
            if group_path is None:
                raise AccessDenied("group not found")
        page = max(page, 0)
        rows, total = await self.repo.queue(
            actor.scope.paths_or_none, status, kind, group_path, PAGE_SIZE, page * PAGE_SIZE
        )
        pages = max(1, -(-total // PAGE_SIZE))
        return QueuePage(rows, min(page, pages - 1), pages, total)

    async def scope_groups(self, actor: Actor) -> list[tuple[int, str]]:
        """(group id, name) of the live groups the coordinator covers (tree order, the first few)."""
        self.roles.require_coordinator(actor)
        return [(g.id, g.name) for g in await self.groups.all() if actor.scope.covers_path(g.path)][:SCOPE_GROUPS_SHOWN]

    async def view(self, actor: Actor, item_id: int) -> tuple[Item, list[Note]]:
        item = await self._item_in_scope(actor, item_id)
        return item, await self.repo.notes(item_id)

    async def take(self, actor: Actor, item_id: int) -> str:
        await self._item_in_scope(actor, item_id)
        return await self._assign(actor, item_id, actor.user_id, "feedback.take")

    async def assignable(self, actor: Actor, item_id: int) -> list[tuple[int, str]]:
        item = await self._item_in_scope(actor, item_id)
        users: dict[int, str] = {}
        for a in await self.repo.appointments():
            if a.parent_id is None or any(p.startswith(a.path) for p in item.paths):
                users.setdefault(a.user_id, await self.repo.display_name(a.user_id) or str(a.user_id))
        return sorted(users.items())

    async def assign(self, actor: Actor, item_id: int, to_user: int) -> str:
        allowed = dict(await self.assignable(actor, item_id))
        if to_user not in allowed:
            raise AccessDenied("assignee outside scope")
        return await self._assign(actor, item_id, to_user, "feedback.assign")

    async def _assign(self, actor: Actor, item_id: int, to_user: int, action: str) -> str:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            if not await st.assign(tx, item_id, to_user, now):
                raise Refusal("fb.not_found")
            ref = await st.ref_of(tx, item_id)
            await audit.record(tx, now, actor.user_id, action, "feedback", item_id, {"ref": ref, "assignee": to_user})
            if to_user != actor.user_id:
                # one notice per (item, assignee): the outbox does not queue (kind, ref, chat) twice
                await self._notify(tx, "feedback_assigned", item_id, [to_user], "fb.notify.assigned", ref=ref)
        self.wake()
        return ref

    async def start_work(self, actor: Actor, item_id: int) -> bool:
        return await self._change(actor, item_id, st.start_work, "feedback.in_progress")

    async def close(self, actor: Actor, item_id: int) -> bool:
        return await self._change(actor, item_id, st.close, "feedback.close")

    async def _change(
        self, actor: Actor, item_id: int, change: Callable[[Tx, int, datetime], Awaitable[bool]], action: str
    ) -> bool:
        """A status change of an item in scope, audited when it happened."""
        await self._item_in_scope(actor, item_id)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            ok = await change(tx, item_id, now)
            if ok:
                await audit.record(tx, now, actor.user_id, action, "feedback", item_id)
        return ok

    async def add_note(self, actor: Actor, item_id: int, text: str) -> None:
        await self._item_in_scope(actor, item_id)
        body = clean_text(text)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            if not await st.add_note(tx, item_id, actor.user_id, body, now):
                raise Refusal("fb.not_found")
            await audit.record(tx, now, actor.user_id, "feedback.note", "feedback", item_id)

    async def answer(self, actor: Actor, item_id: int, text: str) -> tuple[Item, int | None]:
        """Record the official answer; returns the item and the author's chat id for delivery."""
        item = await self._item_in_scope(actor, item_id)
        body = clean_text(text)
        now = self.clock.now()
        if item.status not in OPEN_STATUSES:
            raise Refusal("fb.not_found")
        async with self.db.transaction() as tx:
            if not await st.answer(tx, item_id, actor.user_id, body, now):
                raise Refusal("fb.not_found")
            await audit.record(tx, now, actor.user_id, "feedback.answer", "feedback", item_id)
        author = await self.repo.author_of(item_id)
        fresh = await self.repo.item(item_id)
        if fresh is None:
            raise Refusal("fb.not_found")
        return fresh, None if author is None else author[1]

    async def export(self, actor: Actor) -> list[Item]:
        self.roles.require_coordinator(actor)
        return await self.repo.export_items(actor.scope.paths_or_none)

    # --- digest --------------------------------------------------------------------------------------
    async def digest_preview(self, actor: Actor, group_id: int | None) -> list[DigestEntry]:
        self.roles.require_coordinator(actor)
        paths = await self._group_paths(actor, group_id)
        return await self.repo.answered_suggestions(paths, self.clock.now() - DIGEST_WINDOW, DIGEST_MAX_ITEMS)

    async def send_digest(self, actor: Actor, group_id: int | None) -> int:
        """Queue the digest to the active members of the segment, each in their language."""
        entries = await self.digest_preview(actor, group_id)
        if not entries:
            return 0
        paths = await self._group_paths(actor, group_id)
        now = self.clock.now()
        default = self.settings.language
        texts: dict[str, str] = {lang: str(digest_text(self.catalog.for_lang(lang), entries)) for lang in LANGUAGES}
        async with self.db.transaction() as tx:
            recipients = await st.digest_recipients(tx, paths)
            digest_id = await st.insert_digest(tx, actor.user_id, len(entries), len(recipients), now)
            messages = [
                outbox.OutgoingMessage(
                    "feedback_digest", digest_id, r.user_id, texts.get(r.language or default, texts[default]),
                    member_id=r.member_id,
                )
                for r in recipients
            ]
            queued = await outbox.enqueue(tx, messages, now)
            await audit.record(
                tx, now, actor.user_id, "feedback.digest", "feedback_digest", digest_id,
                {"items": len(entries), "recipients": queued},
            )
        self.wake()
        return queued

    # --- deadlines ------------------------------------------------------------------------------------
    async def run_due(self) -> int:
        """Fire every due reminder/escalation once (claimed in a transaction); returns how many fired."""
        now = self.clock.now()
        fired = 0
        for job in await self.repo.due_jobs(now):
            item = await self.repo.item(job.feedback_id)
            paths = item.paths if item else ()
            async with self.db.transaction() as tx:
                target = await st.claim(tx, job.id, now)
                if target is None:
                    continue
                fired += 1
                await self._chase(tx, target, paths, now)
        if fired:
            self.wake()
        return fired

    async def _chase(self, tx: Tx, target: JobTarget, paths: Sequence[str], now: datetime) -> None:
        due = self.local(target.due_at)
        if target.job_kind == "remind":
            users = await self._remind_recipients(target.assignee_user_id, paths)
            await self._notify(
                tx, "feedback_remind", target.job_id, users, "fb.notify.reminder", ref=target.ref, due=due
            )
            return
        await audit.record(tx, now, None, "feedback.escalate", "feedback", target.feedback_id, {"ref": target.ref})
        users = await self._escalation_recipients(paths)
        await self._notify(
            tx, "feedback_escalate", target.job_id, users, "fb.notify.escalated", ref=target.ref, due=due
        )

    async def _remind_recipients(self, assignee: int | None, paths: Sequence[str]) -> list[int]:
        if assignee is not None:
            return [assignee]
        appointments = await self.repo.appointments()
        return sorted({a.user_id for a in appointments if any(p.startswith(a.path) for p in paths)})

    async def _escalation_recipients(self, paths: Sequence[str]) -> list[int]:
        """Coordinators of the nearest ancestor group that has any; else the head association; else owners."""
        appointments = await self.repo.appointments()
        by_path: dict[str, set[int]] = {}
        for a in appointments:
            by_path.setdefault(a.path, set()).add(a.user_id)
        chosen: set[int] = set()
        for path in paths:
            ids = [p for p in path.strip("/").split("/") if p]
            for depth in range(len(ids) - 1, 0, -1):
                ancestor = "/" + "/".join(ids[:depth]) + "/"
                if by_path.get(ancestor):
                    chosen |= by_path[ancestor]
                    break
        if not chosen:
            chosen = {a.user_id for a in appointments if a.parent_id is None}
        if not chosen:
            chosen = set(self.roles.owners)
        return sorted(chosen)

    async def next_due(self) -> datetime | None:
        return await self.repo.next_due()
