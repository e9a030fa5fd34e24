"""The ledger service (台账): scoped statistics, member records, documents, the audit log.

Domain rules only (no telegram import); the SQL is in storage/ledger.py. The service owns its
transactions and audit rows: reading an export or a summary of members' data is a privileged
read and is written to the audit log here. Documents are built in worker threads
(`asyncio.to_thread`) so a large export never blocks other users.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.ledger import reports
from bot.ledger.models import (
    ActivityFigures,
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
STATS_CACHE_SIZE = 64


class LedgerService:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self._db = db
        self.repo = LedgerRepo(db)
        self._settings = settings
        self._clock = clock
        # /stats cache: (scope, period) -> (data version, valid until, figures). The data version is
        # the database's count of committed writes; "valid until" is the first instant at which a
        # figure changes with time alone (storage's `next_change`). A hit is as exact as a recount.
        self._cached: dict[tuple[Any, ...], tuple[int, datetime | None, Stats]] = {}

    @property
    def zone(self) -> ZoneInfo:
        return self._settings.zone

    def this_month(self) -> Period:
        return this_month(self._clock.now(), self.zone)

    def this_year(self) -> Period:
        return this_year(self._clock.now(), self.zone)

    async def stats(self, scope: Scope, period: Period) -> Stats:
        now = self._clock.now()
        paths = scope.paths_or_none
        key = (paths, period.start, period.end)
        version = self._db.writes
        hit = self._cached.get(key)
        if hit is not None and hit[0] == version and (hit[1] is None or now < hit[1]):
            cached = hit[2]
            return replace(cached, activities=ActivityFigures(cached.activities.activities, now))
        refresh = timedelta(days=self._settings.profile_refresh_days)
        valid_until = await self.repo.next_change(paths, period.start, period.end, now, refresh)
        stats = await self._count(paths, period, now, now - refresh)
        if self._db.writes == version:  # nothing was written while counting
            if len(self._cached) >= STATS_CACHE_SIZE:
                self._cached.clear()
            self._cached[key] = (version, valid_until, stats)
        return stats

    async def _count(self, paths: Paths, period: Period, now: datetime, stale_before: datetime) -> Stats:
        # Independent reads, side by side (PostgreSQL runs them on separate connections and cores;
        # SQLite queues them): the city's cold /stats is the slowest of them, not their sum.
        members, activities, feedback, notices = await asyncio.gather(
            self.repo.member_figures(paths, period.start, period.end, stale_before),
            self.repo.activity_rows(paths, period.start, period.end, now),
            self.repo.feedback_figures(paths, period.start, period.end, now),
            self.repo.notice_rows(paths, period.start, period.end),
        )
        return Stats(period, members, ActivityFigures(activities, now), feedback, NoticeFigures(notices))

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
        from bot.ledger import summary

        stats = await self.stats(who.scope, period)
        paths = who.scope.paths_or_none
        answered = await self.repo.answered_suggestions(paths, period.start, period.end)
        now = self._clock.now()
        data = await asyncio.to_thread(summary.build, stats, text, self.association_name(stats), answered, now)
        await self._audit_read(now, who.user_id, "ledger.summary", {"period": period.code})
        return data

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
