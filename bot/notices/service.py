"""Notices: compose, send now / at a time / repeatedly, acknowledgements and nudges.

Every send goes through the outbox in the same transaction that records the notice (or its
firing), so nothing is half-sent. Scheduled and recurring notices are rows with `next_due_at`;
`run_due` claims each due row inside one write transaction (nothing fires twice) and is
triggered by the JobQueue tick, at start-up, and directly by tests (FakeClock).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import LANGUAGES, Language, Settings
from bot.delivery import DeliveryService
from bot.errors import Refusal
from bot.i18n import Catalog, Markup
from bot.notices import timing
from bot.notices.audiences import AudienceService
from bot.notices.callbacks import UNREACHED, ack_markup
from bot.notices.models import (
    AckStats,
    Created,
    Draft,
    DueReport,
    GroupRow,
    NewNotice,
    NoticeRow,
    NoticeView,
    Pending,
    Recurrence,
    Segment,
    Unreached,
)
from bot.notices.segments import SegmentResolver
from bot.roles import AccessDenied, Actor, RoleService
from bot.text import visible_len
from storage import audit
from storage import notices as store
from storage.db import Database
from storage.notices import GroupChatRepo, NoticeRepo
from storage.outbox import NEW_MESSAGE, Counts, OutgoingMessage, enqueue, track_progress
from storage.segments import MemberMessage, SegmentRepo

MISSED_AFTER = timedelta(hours=24)
MAX_TEXT = 3500
MAX_CAPTION = 1000


class NoticeService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        roles: RoleService,
        segments: SegmentResolver,
        delivery: DeliveryService,
        zone: ZoneInfo,
        quiet: tuple[time, time] | None = (time(22), time(8)),
        audiences: AudienceService | None = None,
        language: Callable[[int], Awaitable[Language | None]] | None = None,
        nudge_interval: timedelta = timedelta(0),
    ) -> None:
        self.nudge_interval = nudge_interval  # between two reminders by hand (LIAISON_NUDGE_INTERVAL_MINUTES)
        self._language = language  # an author's /language choice now (else the language stored when composing)
        self.db = db
        self.repo = NoticeRepo(db)
        self.group_chats = GroupChatRepo(db)
        self.clock = clock
        self.catalog = catalog
        self.roles = roles
        self.segments = segments
        self.delivery = delivery
        self.zone = zone
        self.quiet = quiet
        self.audiences = audiences if audiences is not None else AudienceService(db, clock)

    def local_time(self, moment: datetime) -> str:
        """"15:41" today (in the configured zone), else "12-03 15:41"."""
        local = moment.astimezone(self.zone)
        same_day = local.date() == self.clock.now().astimezone(self.zone).date()
        return local.strftime("%H:%M" if same_day else "%m-%d %H:%M")

    async def next_due(self) -> datetime | None:
        return await self.repo.next_due()

    # --- what the composer offers ------------------------------------------------------------------
    async def pickable_groups(self, actor: Actor) -> list[GroupRow]:
        """Groups the sender may address: those in their scope."""
        RoleService.require_coordinator(actor)
        return await self.segments.repo.groups(actor.scope.paths_or_none)

    async def categories(self, actor: Actor) -> list[str]:
        """Categories of the members the sender may reach (none of another branch's members)."""
        RoleService.require_coordinator(actor)
        return await self.segments.repo.categories(actor.scope.paths_or_none)

    async def group_names(self, group_ids: tuple[int, ...]) -> list[str]:
        """Names of chosen groups (for the summary before sending), in the order of the tree."""
        return await self.segments.repo.group_names(group_ids)

    async def group_chat_count(self) -> int:
        """Association group chats the bot is in (where 'also post to groups' goes)."""
        return len(await self.group_chats.active())

    async def group_chat_changed(self, chat_id: int, title: str, present: bool) -> None:
        await self.group_chats.set_status(chat_id, title, "member" if present else "left", self.clock.now())

    async def group_chat_migrated(self, old_id: int, new_id: int) -> None:
        await self.group_chats.migrate(old_id, new_id, self.clock.now())

    @classmethod
    def build(
        cls, settings: Settings, db: Database, clock: Clock, catalog: Catalog, roles: RoleService,
        delivery: DeliveryService,
    ) -> NoticeService:
        resolver = SegmentResolver(SegmentRepo(db))
        audiences = AudienceService(db, clock)
        audiences.install(resolver)  # activity participants, questionnaire non-respondents
        service = cls(db, clock, catalog, roles, resolver, delivery, ZoneInfo(settings.tz), settings.quiet, audiences,
                      language=delivery.language, nudge_interval=timedelta(minutes=settings.nudge_interval_minutes))
        delivery.report_buttons["notice"] = service._report_buttons
        return service

    # --- composing ------------------------------------------------------------------------------
    async def count(self, actor: Actor, segment: Segment) -> int:
        RoleService.require_coordinator(actor)
        await self.segments.check(segment, actor.scope, actor.user_id)
        return await self.segments.count(self.db, segment, actor.scope, actor.user_id)

    def out_of_quiet(self, moment: datetime) -> datetime:
        """Non-urgent sends falling in quiet hours (`LIAISON_QUIET_HOURS`) move to their end."""
        return timing.out_of_quiet(moment, self.quiet, self.zone)

    def planned(self, draft: Draft) -> tuple[str, datetime | None]:
        """The status a draft would get and when it first goes out (quiet hours applied), as
        `create` would record it; refused when that moment is past or beyond the repeat's end."""
        now = self.clock.now()
        due: datetime | None = None
        status = "sent"
        if draft.recurrence is not None:
            if draft.until is None or draft.until <= now:
                raise Refusal("notice.error.until_past")
            status = "recurring"
            due = draft.recurrence.next_after(now, self.zone)
        elif draft.at is not None:
            if draft.at <= now:
                raise Refusal("notice.error.in_past")
            status = "scheduled"
            due = draft.at
        if due is not None and not draft.urgent:
            due = self.out_of_quiet(due)
        if draft.recurrence is not None and draft.until is not None and due is not None and due > draft.until:
            raise Refusal("notice.error.until_past")
        return status, due

    async def create(self, actor: Actor, draft: Draft, lang: str,
                     progress: tuple[int, int] | None = None) -> Created:
        """Record a notice; send it now (through the outbox), or schedule it."""
        RoleService.require_coordinator(actor)
        await self.segments.check(draft.segment, actor.scope, actor.user_id)
        limit = MAX_CAPTION if draft.attachment else MAX_TEXT
        if not draft.text.strip() and not draft.attachment:
            raise Refusal("notice.error.empty")
        if visible_len(draft.text) > limit:  # Telegram's units, after entity parsing
            raise Refusal("notice.error.too_long", limit=limit)
        now = self.clock.now()
        status, due = self.planned(draft)
        row = NewNotice(
            author_user_id=actor.user_id, author_lang=lang, text=draft.text,
            attachment=None if draft.attachment is None else json.dumps(draft.attachment),
            segment=draft.segment.to_json(), post_to_groups=draft.post_to_groups, paid=draft.paid,
            urgent=draft.urgent, status="sent" if status == "sent" else status,
            recurrence=None if draft.recurrence is None else draft.recurrence.to_json(),
            next_due_at=due, until_at=draft.until, nudge_after_h=draft.nudge_after_h,
        )
        async with self.db.transaction() as tx:
            notice_id = await store.insert(tx, row, now)
            recipients = groups = 0
            if status == "sent":
                recipients, groups = await self._fire(tx, notice_id, row, actor, now)
                if progress is not None:
                    await track_progress(tx, "notice", notice_id, progress[0], progress[1], lang)
            await audit.record(tx, now, actor.user_id, f"notice.{status}", "notice", notice_id,
                               {"recipients": recipients, "segment": row.segment})
        if status == "sent":
            self.delivery.wake()
        else:
            recipients = await self.count(actor, draft.segment)
        return Created(notice_id, recipients, groups, due)

    async def _fire(self, tx: Any, notice_id: int, row: NewNotice | NoticeRow, actor: Actor,
                    now: datetime) -> tuple[int, int]:
        """Enqueue one notice to its recipients (and group chats) and mark it sent."""
        segment = Segment.from_json(row.segment)
        attachment = None if row.attachment is None else json.loads(row.attachment)
        queued = await self.segments.enqueue(tx, segment, actor.scope,  # the sender is not a recipient
                                             self._member_message(notice_id, row, attachment), now,
                                             actor.user_id)
        if queued is None:  # an audience kind of another feature: its recipients as a list
            recipients = await self.segments.resolve(tx, segment, actor.scope, actor.user_id)
            # One button per language, shared by every message (not one catalogue look-up per recipient).
            markups = {lang: ack_markup(notice_id, self._label(lang)) for lang in {r.language for r in recipients}}
            queued = await enqueue(tx, [
                OutgoingMessage(
                    "notice", notice_id, r.user_id, row.text, member_id=r.member_id,
                    reply_markup=markups[r.language], attachment=attachment, paid=row.paid,
                )
                for r in recipients
            ], now)
        groups = 0
        if row.post_to_groups:
            chats = await store.group_chat_ids(tx)
            groups = await enqueue(
                tx, [OutgoingMessage("notice_group", notice_id, c, row.text, attachment=attachment) for c in chats],
                now,
            )
        nudge_at = None if row.nudge_after_h is None else now + timedelta(hours=row.nudge_after_h)
        await store.mark_sent(tx, notice_id, now, nudge_at)
        return queued, groups

    def _member_message(self, notice_id: int, row: NewNotice | NoticeRow,
                        attachment: dict[str, Any] | None) -> MemberMessage:
        """The notice as one message for a whole selection: its acknowledgement button in each
        language members may have (the default language's for the others)."""
        def dumped(value: object) -> str:
            return json.dumps(value, ensure_ascii=False)  # as outbox.enqueue stores them

        # `_label` gives the default language's button to any language it does not know, so the
        # catalogue's languages are all that can differ (no pass over every member's language).
        default = dumped(ack_markup(notice_id, self._label(None)))
        markups: dict[str, str] = {lang: text for lang in LANGUAGES
                   if (text := dumped(ack_markup(notice_id, self._label(lang)))) != default}
        return MemberMessage("notice", notice_id, row.text, markups, default,
                             attachment=None if attachment is None else dumped(attachment), paid=row.paid)

    def _label(self, language: str | None) -> str:
        lang: Language = "en" if language == "en" else self.catalog.default
        return str(self.catalog.text(lang, "notice.ack_button"))

    # --- due work -------------------------------------------------------------------------------
    async def run_due(self) -> DueReport:
        """Fire scheduled/recurring notices and automatic nudges that are due; report missed ones."""
        now = self.clock.now()
        report = DueReport()
        due = await self.repo.next_due()  # a read: the regular tick opens no write transaction for nothing
        if due is None or due > now:
            return report
        async with self.db.transaction() as tx:
            for row in await store.due(tx, now):
                assert row.next_due_at is not None
                actor = await self.roles.actor(row.author_user_id)
                late = now - row.next_due_at > MISSED_AFTER
                if late:
                    report.missed.append(row.id)
                    await self._tell_author(tx, row, "notice.missed", now)
                    await audit.record(tx, now, None, "notice.missed", "notice", row.id)
                if row.status == "scheduled":
                    if late:
                        await store.set_status(tx, row.id, "missed", ("scheduled",))
                    elif not actor.is_coordinator:
                        await store.set_status(tx, row.id, "cancelled", ("scheduled",))
                    else:
                        await self._fire(tx, row.id, row, actor, now)
                        await track_progress(tx, "notice", row.id, row.author_user_id, NEW_MESSAGE, row.author_lang)
                        report.fired.append(row.id)
                    continue
                # recurring: each firing is a child notice with its own recipients and acks
                if not late and actor.is_coordinator:
                    child = NewNotice(
                        author_user_id=row.author_user_id, author_lang=row.author_lang, text=row.text,
                        attachment=row.attachment, segment=row.segment, post_to_groups=row.post_to_groups,
                        paid=row.paid, urgent=row.urgent, status="sent", nudge_after_h=row.nudge_after_h,
                        parent_id=row.id,
                    )
                    child_id = await store.insert(tx, child, now)
                    await self._fire(tx, child_id, child, actor, now)
                    await track_progress(tx, "notice", child_id, row.author_user_id, NEW_MESSAGE, row.author_lang)
                    report.fired.append(child_id)
                await store.reschedule(tx, row.id, self._next(row, now))
            for row in await store.nudges_due(tx, now):
                await store.claim_nudge(tx, row.id, now, None)
                await self._nudge(tx, row, now)
                await store.clear_nudge(tx, row.id)
                report.nudged.append(row.id)
        if report.fired or report.missed or report.nudged:
            self.delivery.wake()
        return report

    def _next(self, row: NoticeRow, now: datetime) -> datetime | None:
        if row.recurrence is None:
            return None
        recurrence = Recurrence.from_json(row.recurrence)
        due = recurrence.next_after(now, self.zone)
        if not row.urgent:
            due = self.out_of_quiet(due)
        if row.until_at is not None and due > row.until_at:
            return None
        return due

    async def _tell_author(self, tx: Any, row: NoticeRow, key: str, now: datetime) -> None:
        lang: Language = "en" if row.author_lang == "en" else "zh-Hans"
        if self._language is not None:
            lang = await self._language(row.author_user_id) or lang
        text = self.catalog.text(lang, key, id=row.id, excerpt=_excerpt(row.text))
        await enqueue(tx, [OutgoingMessage(key.replace(".", "_"), row.id, row.author_user_id, text,
                                           priority=1)], now)

    # --- acknowledgements and nudges --------------------------------------------------------------
    async def ack(self, user_id: int, notice_id: int) -> tuple[str, datetime | None]:
        """'ok' / 'already' / 'not_recipient', and the member's stored acknowledgement time."""
        return await store.ack(self.db, notice_id, user_id, self.clock.now())

    async def get_for(self, actor: Actor, notice_id: int) -> NoticeRow:
        """The notice, if the caller may manage it (its author, or an owner)."""
        RoleService.require_coordinator(actor)
        row = await self.repo.get(notice_id)
        if row is None:
            raise Refusal("notice.error.not_found")
        if not actor.is_owner and row.author_user_id != actor.user_id:
            raise AccessDenied("not the author")
        return row

    async def listing(self, actor: Actor) -> list[NoticeRow]:
        RoleService.require_coordinator(actor)
        return await self.repo.listing(None if actor.is_owner else actor.user_id)

    async def stats(self, actor: Actor, notice_id: int) -> tuple[NoticeRow, AckStats]:
        row = await self.get_for(actor, notice_id)
        return row, await self.repo.stats(notice_id)

    async def remember_view(self, actor: Actor, notice_id: int, chat_id: int, message_id: int, lang: str) -> None:
        await self.get_for(actor, notice_id)
        await self.repo.remember_view(notice_id, chat_id, message_id, actor.user_id, lang, self.clock.now())

    async def views(self, notice_id: int) -> list[NoticeView]:
        return await self.repo.views(notice_id)

    async def pending(self, actor: Actor, notice_id: int, page: int, per_page: int = 20) -> tuple[list[Pending], int]:
        await self.get_for(actor, notice_id)
        return await self.repo.pending(notice_id, per_page, max(0, page) * per_page)

    async def unreached(
        self, actor: Actor, notice_id: int, page: int, per_page: int = 20
    ) -> tuple[list[Unreached], int]:
        """Who the notice did not reach, among the members the caller may see."""
        await self.get_for(actor, notice_id)
        return await self.repo.unreached(notice_id, actor.scope.paths_or_none, per_page, max(0, page) * per_page)

    def _report_buttons(self, notice_id: int, lang: Language, counts: Counts) -> dict[str, object] | None:
        """Under a delivery report: the list of who was not reached, when someone was not."""
        if counts.blocked + counts.failed + counts.skipped == 0:
            return None
        text = str(self.catalog.text(lang, "notice.btn.unreached"))
        return {"inline_keyboard": [[{"text": text, "callback_data": UNREACHED.data(id=notice_id, page=0)}]]}

    def next_nudge(self, row: NoticeRow) -> datetime | None:
        """When a reminder by hand is allowed again (None: now)."""
        if row.nudged_at is None or not self.nudge_interval:
            return None
        allowed = row.nudged_at + self.nudge_interval
        return allowed if allowed > self.clock.now() else None

    async def nudge(self, actor: Actor, notice_id: int) -> int:
        """Remind those who have not acknowledged; refused within `nudge_interval` of the last reminder."""
        row = await self.get_for(actor, notice_id)
        if row.status != "sent":
            raise Refusal("notice.error.not_sent")
        now = self.clock.now()
        async with self.db.transaction() as tx:
            if not await store.claim_nudge(tx, notice_id, now, now - self.nudge_interval):
                last = await store.nudged_at(tx, notice_id) or now
                raise Refusal("notice.error.nudged_recently", at=self.local_time(last),
                              again=self.local_time(last + self.nudge_interval))
            count = await self._nudge(tx, row, now)
            await audit.record(tx, now, actor.user_id, "notice.nudge", "notice", notice_id, {"count": count})
        self.delivery.wake()
        return count

    async def _nudge(self, tx: Any, row: NoticeRow, now: datetime) -> int:
        targets = await store.not_acked_members(tx, row.id)
        await store.drop_finished_nudges(tx, row.id)
        languages = await store.recipient_languages(tx, row.id)
        messages = []
        for member_id, chat_id in targets:
            language = languages.get(chat_id)
            lang: Language = "en" if language == "en" else self.catalog.default
            text = self.catalog.text(lang, "notice.nudge", excerpt=_excerpt(row.text))
            messages.append(OutgoingMessage("nudge", row.id, chat_id, text, member_id=member_id,
                                            reply_markup=ack_markup(row.id, self._label(language))))
        return await enqueue(tx, messages, now)

    # --- managing scheduled notices ---------------------------------------------------------------
    async def cancel(self, actor: Actor, notice_id: int) -> bool:
        await self.get_for(actor, notice_id)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            done = await store.set_status(tx, notice_id, "cancelled", ("scheduled", "recurring"))
            if done:
                await audit.record(tx, now, actor.user_id, "notice.cancel", "notice", notice_id)
        return done

    async def edit_text(self, actor: Actor, notice_id: int, text: str) -> bool:
        row = await self.get_for(actor, notice_id)
        limit = MAX_CAPTION if row.attachment else MAX_TEXT
        if not text.strip():
            raise Refusal("notice.error.empty")
        if visible_len(text) > limit:
            raise Refusal("notice.error.too_long", limit=limit)
        now = self.clock.now()
        async with self.db.transaction() as tx:
            done = await store.set_text(tx, notice_id, text)
            if done:
                await audit.record(tx, now, actor.user_id, "notice.edit", "notice", notice_id)
        return done

    async def move(self, actor: Actor, notice_id: int, at: datetime) -> datetime:
        """A scheduled notice goes out at `at` instead (quiet hours apply unless urgent)."""
        row = await self.get_for(actor, notice_id)
        now = self.clock.now()
        if row.status != "scheduled":
            raise Refusal("notice.edit.too_late")
        if at <= now:
            raise Refusal("notice.error.in_past")
        due = at if row.urgent else self.out_of_quiet(at)
        return await self._set_schedule(actor, row, due, None, None)

    async def change_repeat(self, actor: Actor, notice_id: int, recurrence: Recurrence, until: datetime) -> datetime:
        """A recurring notice follows a new rule from now on."""
        row = await self.get_for(actor, notice_id)
        now = self.clock.now()
        if row.status != "recurring":
            raise Refusal("notice.edit.too_late")
        if until <= now:
            raise Refusal("notice.error.until_past")
        due = recurrence.next_after(now, self.zone)
        if not row.urgent:
            due = self.out_of_quiet(due)
        if due > until:
            raise Refusal("notice.error.until_past")
        return await self._set_schedule(actor, row, due, recurrence.to_json(), until)

    async def change_audience(self, actor: Actor, notice_id: int, segment: Segment) -> int:
        """A scheduled or recurring notice goes to `segment` from its next sending on.

        The caller must be allowed to address `segment` exactly as when composing; when an owner
        re-targets someone else's notice, it must also be within the author's scope (a notice is
        sent with its author's scope). Returns the recipients it has at present.
        """
        row = await self.get_for(actor, notice_id)
        if row.status not in ("scheduled", "recurring"):
            raise Refusal("notice.audience.too_late")
        if segment.empty:
            raise Refusal("notice.no_selection")
        await self.segments.check(segment, actor.scope, actor.user_id)
        author = actor if row.author_user_id == actor.user_id else await self.roles.actor(row.author_user_id)
        if author is not actor:
            try:
                await self.segments.check(segment, author.scope, author.user_id)
            except AccessDenied as exc:
                raise Refusal("notice.audience.outside_author") from exc
        now = self.clock.now()
        new = segment.to_json()
        async with self.db.transaction() as tx:
            if not await store.set_segment(tx, notice_id, new):
                raise Refusal("notice.audience.too_late")
            await audit.record(tx, now, actor.user_id, "notice.audience", "notice", notice_id,
                               {"from": row.segment, "to": new})
        return await self.segments.count(self.db, segment, author.scope, author.user_id)

    async def _set_schedule(self, actor: Actor, row: NoticeRow, due: datetime, recurrence: str | None,
                            until: datetime | None) -> datetime:
        now = self.clock.now()
        async with self.db.transaction() as tx:
            if not await store.set_schedule(tx, row.id, due, recurrence, until):
                raise Refusal("notice.edit.too_late")
            await audit.record(tx, now, actor.user_id, "notice.reschedule", "notice", row.id,
                               {"due": due.isoformat(), "recurrence": recurrence})
        return due


def _excerpt(html_text: str, limit: int = 60) -> Markup:
    """A short plain excerpt of HTML text (tags dropped, entities kept escaped)."""
    plain = re.sub(r"<[^>]*>", "", html_text)
    if len(plain) > limit:
        cut = plain[:limit]
        amp = cut.rfind("&")
        if amp != -1 and ";" not in cut[amp:]:
            cut = cut[:amp]
        plain = cut + "…"
    return Markup(plain)
