"""The ledger service (台账): scoped statistics, member records, documents, the audit log.

Domain rules only (no telegram import); the SQL is in storage/ledger.py. The service owns its
transactions and audit rows: reading an export or a summary of members' data is a privileged
read and is written to the audit log here. Documents are built in worker threads
(`asyncio.to_thread`) so a large export never blocks other users.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.ledger import reports
from bot.ledger.models import (
    ActivityFigures,
    ActivityRow,
    AuditPage,
    ExportFiles,
    MemberRecord,
    NoticeFigures,
    Section,
    Stats,
    Text,
)
from bot.ledger.periods import Period, this_month, this_year
from bot.roles import Actor
from bot.scope import Scope
from storage.audit import record
from storage.db import Database
from storage.ledger import LedgerRepo
from storage.scope import Paths

AUDIT_PAGE_SIZE = 10
STATS_CACHE_SIZE = 256
MAX_RECOUNTED = 200  # more activities with changed sign-ups than this: recount them all at once
# The parts of /stats and the tables each is counted from (its cache follows their data versions).
PARTS = {
    "members": ("members", "member_groups", "groups", "bot_users"),
    # activity_signups: by activity (ledger_activity_versions), so a sign-up recounts its activity only
    "activities": ("activities", "activity_groups", "member_groups", "groups"),
    "feedback": ("feedback_items", "feedback_groups", "groups"),
    "notices": ("notices", "outbox", "notice_acks", "member_groups", "groups"),
}


class LedgerService:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self._db = db
        self.repo = LedgerRepo(db)
        self._settings = settings
        self._clock = clock
        # /stats cache: (part, scope, period) -> (its tables' data versions, valid until, figures).
        # Versions are bumped by triggers in every writing transaction (storage: ledger_versions);
        # "valid until" is the first instant at which the part changes with time alone. A hit is as
        # exact as a recount, and a sign-up recounts the activities only.
        self._cached: dict[tuple[Any, ...], tuple[tuple[int, ...], datetime | None, Any]] = {}

    @property
    def zone(self) -> ZoneInfo:
        return self._settings.zone

    def this_month(self) -> Period:
        return this_month(self._clock.now(), self.zone)

    def this_year(self) -> Period:
        return this_year(self._clock.now(), self.zone)

    async def stats(self, scope: Scope, period: Period) -> Stats:
        """The scope's figures of the period, each part counted anew only when one of its tables
        changed (data versions kept by triggers in the writing transaction) or time moved it."""
        now = self._clock.now()
        paths = scope.paths_or_none
        before = await self.repo.versions()
        figures: dict[str, Any] = {}
        counted: list[tuple[tuple[Any, ...], tuple[int, ...], datetime | None, Any]] = []
        for part, tables in PARTS.items():
            key = (part, paths, period.start, period.end)
            stamp = tuple(before.get(t, 0) for t in tables)
            if part == "activities":
                figures[part] = await self._activities(key, stamp, paths, period)
                continue
            hit = self._cached.get(key)
            if hit is not None and hit[0] == stamp and (hit[1] is None or now < hit[1]):
                figures[part] = hit[2]
                continue
            figures[part], valid_until = await self._count(part, paths, period, now)
            counted.append((key, stamp, valid_until, figures[part]))
        if counted:
            after = await self.repo.versions()
            for key, stamp, valid_until, value in counted:
                if tuple(after.get(t, 0) for t in PARTS[key[0]]) == stamp:  # nothing written while counting
                    self._remember(key, (stamp, valid_until, value))
        return Stats(
            period, figures["members"], ActivityFigures(figures["activities"], now), figures["feedback"],
            NoticeFigures(figures["notices"]),
        )

    async def _activities(
        self, key: tuple[Any, ...], stamp: tuple[int, ...], paths: Paths, period: Period
    ) -> list[ActivityRow]:
        """The period's activity rows: from the cache, recounting only the activities whose sign-ups
        changed (their versions in ledger_activity_versions); everything when the activities or the
        scope's tables changed. Held or upcoming is decided when shown (ActivityFigures.now)."""
        versions = await self.repo.activity_versions(period.start, period.end)
        hit = self._cached.get(key)
        rows: dict[int, ActivityRow]
        if hit is not None and hit[0] == stamp:
            cached_rows, seen = hit[2]
            changed = [i for i in cached_rows if versions.get(i, 0) != seen.get(i, 0)]
            if not changed:
                return list(cached_rows.values())
            if len(changed) <= MAX_RECOUNTED:
                rows = dict(cached_rows)
                rows.update((r.activity_id, r) for r in await self.repo.activity_rows(
                    paths, period.start, period.end, ids=changed))
            else:
                rows = {r.activity_id: r for r in await self.repo.activity_rows(paths, period.start, period.end)}
        else:
            rows = {r.activity_id: r for r in await self.repo.activity_rows(paths, period.start, period.end)}
        ordered = dict(sorted(rows.items(), key=lambda item: (item[1].starts_at, item[0])))
        tables = await self.repo.versions()
        if (tuple(tables.get(t, 0) for t in PARTS["activities"]) == stamp
                and await self.repo.activity_versions(period.start, period.end) == versions):
            self._remember(key, (stamp, None, (ordered, versions)))  # nothing written while counting
        return list(ordered.values())

    def _remember(self, key: tuple[Any, ...], entry: tuple[tuple[int, ...], datetime | None, Any]) -> None:
        if len(self._cached) >= STATS_CACHE_SIZE:
            self._cached.clear()
        self._cached[key] = entry

    async def _count(self, part: str, paths: Paths, period: Period, now: datetime) -> tuple[Any, datetime | None]:
        """One part's figures and the first instant at which they change with time alone."""
        if part == "members":
            refresh = timedelta(days=self._settings.profile_refresh_days)
            until = await self.repo.stale_change(paths, now, refresh)
            return await self.repo.member_figures(paths, period.start, period.end, now - refresh), until
        if part == "feedback":
            until = await self.repo.overdue_change(paths, now)
            return await self.repo.feedback_figures(paths, period.start, period.end, now), until
        return await self.repo.notice_rows(paths, period.start, period.end), None

    async def member_record(self, member_id: int) -> MemberRecord | None:
        """A member's participation record (also used by the member card)."""
        basics = await self.repo.member_basics(member_id)
        if basics is None:
            return None
        return MemberRecord(
            basics,
            await self.repo.attended(member_id),
            await self.repo.signed_up(member_id),
            await self.repo.feedback_given(member_id),
        )

    # --- documents ------------------------------------------------------------------------------
    async def summary_pdf(self, who: Actor, period: Period, text: Text) -> bytes:
        """The work summary (工作总结) of `who`'s scope as a PDF document (an audited read)."""
        return (await self.summary_documents(who, period, text, docx=False))[0]

    async def summary_documents(
        self, who: Actor, period: Period, text: Text, *, docx: bool = True
    ) -> tuple[bytes, bytes | None]:
        """The work summary as a PDF and (with `docx`) a .docx the office can edit: one audited read."""
        from bot.ledger import summary, summary_docx

        stats = await self.stats(who.scope, period)
        paths = who.scope.paths_or_none
        answered = await self.repo.answered_suggestions(paths, period.start, period.end)
        now = self._clock.now()
        args = (stats, text, self.association_name(stats), answered, now)
        pdf = await asyncio.to_thread(summary.build, *args)
        editable = await asyncio.to_thread(summary_docx.build_docx, *args) if docx else None
        await self._audit_read(now, who.user_id, "ledger.summary", {"period": period.code})
        return pdf, editable

    def association_name(self, stats: Stats) -> str:
        """LIAISON_ASSOCIATION_NAME, else the head group's name (the top group of the scope)."""
        if self._settings.association_name.strip():
            return self._settings.association_name.strip()
        groups = sorted(stats.members.by_group, key=lambda g: (g.kind != "head", g.path.count("/"), g.path))
        return groups[0].name if groups else ""

    async def summary_sections(self, scope: Scope, period: Period, text: Text) -> list[Section]:
        """Lists for the period summary document (activities held, answered suggestions)."""
        paths = scope.paths_or_none
        zone = period.zone
        held = await self.repo.activity_rows(paths, period.start, period.end, self._clock.now())
        answered = await self.repo.answered_suggestions(paths, period.start, period.end)
        return [
            (
                text("ledger.doc.activities", count=len(held)),
                [
                    text("ledger.doc.activity_line", date=a.starts_at.astimezone(zone).date().isoformat(),
                         title=a.title[:60], attended=a.attended, confirmed=a.confirmed)
                    for a in held
                ],
            ),
            (
                text("ledger.doc.suggestions", count=len(answered)),
                [
                    text("ledger.doc.suggestion_line", ref=item.ref, body=" ".join(item.body.split())[:50],
                         date=item.answered_at.astimezone(zone).date().isoformat())
                    for item in answered
                ],
            ),
        ]

    async def export(self, who: Actor, text: Text, progress: reports.Progress) -> ExportFiles:
        """The whole ledger of `who`'s scope as XLSX + a CSV zip (worker thread; an audited read)."""
        files = await asyncio.to_thread(
            reports.build_export, self.repo.open_snapshot, who.scope.paths_or_none, text, self.zone, progress
        )
        await self._audit_read(self._clock.now(), who.user_id, "ledger.export", {"rows": files.rows})
        return files

    # --- audit log ------------------------------------------------------------------------------
    async def _audit_read(self, now: datetime, actor: int, action: str, details: dict[str, Any]) -> None:
        """Audit a privileged read (an export or a summary of members' data)."""
        async with self._db.transaction() as tx:
            await record(tx, now, actor, action, "ledger", None, details)

    async def audit(self, page: int, action_prefix: str | None, actor: int | None) -> AuditPage:
        page = max(page, 0)
        rows, total = await self.repo.audit_page(AUDIT_PAGE_SIZE, page * AUDIT_PAGE_SIZE, action_prefix, actor)
        pages = max(1, -(-total // AUDIT_PAGE_SIZE))
        return AuditPage(rows, total, page, pages)
