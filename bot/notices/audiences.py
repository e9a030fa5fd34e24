"""Notice audiences borrowed from other features: participants of an activity (confirmed,
waitlisted, attended = checked in) and members who have not answered a questionnaire.

`AudienceService.install` registers both kinds on the notices' `SegmentResolver`. A sender
may only address an activity he may manage, or a questionnaire he may see; recipients are
always limited to reachable members inside his scope (the SQL is in storage/audiences).
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.notices.models import (
    ACTIVITY,
    PARTICIPANT_STATUSES,
    QUESTIONNAIRE,
    ActivityChoice,
    QuestionnaireChoice,
    Recipient,
    Segment,
    activity_segment,
    questionnaire_segment,
)
from bot.notices.segments import SegmentResolver
from bot.roles import AccessDenied, Actor, RoleService, Scope
from storage import audiences as store
from storage.segments import Reader

RECENT = timedelta(days=30)  # activities that ended longer ago are not offered any more

__all__ = ["ACTIVITY", "PARTICIPANT_STATUSES", "QUESTIONNAIRE", "ActivityChoice", "AudienceService",
           "QuestionnaireChoice", "activity_segment", "questionnaire_segment"]


def _paths(scope: Scope) -> tuple[str, ...] | None:
    return scope.paths_or_none


class AudienceService:
    def __init__(self, reader: Reader, clock: Clock) -> None:
        self.reader = reader
        self.clock = clock

    def install(self, resolver: SegmentResolver) -> None:
        resolver.register(ACTIVITY, self._participants, count=self._count_participants, check=self._check_activity)
        resolver.register(
            QUESTIONNAIRE, self._non_respondents, count=self._count_non_respondents, check=self._check_questionnaire
        )

    # --- what a coordinator may pick -------------------------------------------------------------------
    async def activities(self, actor: Actor, page: int, per_page: int) -> tuple[list[ActivityChoice], int]:
        """Recent and upcoming activities the actor may manage (latest first), one page; and the total."""
        RoleService.require_coordinator(actor)
        since = self.clock.now() - RECENT
        return await store.activities(
            self.reader, _paths(actor.scope), actor.user_id, since, per_page, max(0, page) * per_page
        )

    async def activity(self, actor: Actor, activity_id: int) -> ActivityChoice:
        RoleService.require_coordinator(actor)
        await self._check_activity(activity_segment(activity_id, PARTICIPANT_STATUSES[0]), actor.scope, actor.user_id)
        found = await store.activity(self.reader, activity_id, _paths(actor.scope), actor.user_id)
        assert found is not None
        return found

    async def questionnaires(self, actor: Actor, page: int, per_page: int) -> tuple[list[QuestionnaireChoice], int]:
        """Open questionnaires the actor may see (newest first), one page; and the total."""
        RoleService.require_coordinator(actor)
        return await store.questionnaires(
            self.reader, _paths(actor.scope), actor.user_id, self.clock.now(), per_page, max(0, page) * per_page
        )

    async def questionnaire_title(self, actor: Actor, survey_id: int) -> str:
        """The title of a questionnaire the actor may see (for the summary before sending)."""
        RoleService.require_coordinator(actor)
        found = await store.questionnaire(self.reader, survey_id, _paths(actor.scope), actor.user_id)
        if found is None:
            raise AccessDenied("questionnaire not visible")
        return found.title

    # --- the segment kinds ---------------------------------------------------------------------------------
    async def _check_activity(self, segment: Segment, scope: Scope, user_id: int | None) -> None:
        if segment.ref_id is None or segment.status not in PARTICIPANT_STATUSES:
            raise AccessDenied("no such participants")
        found = await store.activity(self.reader, segment.ref_id, _paths(scope), user_id)
        if found is None or found.status == "cancelled":
            raise AccessDenied("activity not manageable")

    async def _check_questionnaire(self, segment: Segment, scope: Scope, user_id: int | None) -> None:
        if segment.ref_id is None:
            raise AccessDenied("no questionnaire")
        found = await store.questionnaire(self.reader, segment.ref_id, _paths(scope), user_id)
        if found is None or found.status != "open":
            raise AccessDenied("questionnaire not visible")

    @staticmethod
    async def _participants(reader: Reader, segment: Segment, scope: Scope) -> list[Recipient]:
        if segment.ref_id is None or scope.empty:
            return []
        return await store.participants(reader, segment.ref_id, segment.status or "", _paths(scope))

    @staticmethod
    async def _count_participants(reader: Reader, segment: Segment, scope: Scope) -> int:
        if segment.ref_id is None or scope.empty:
            return 0
        return await store.count_participants(reader, segment.ref_id, segment.status or "", _paths(scope))

    @staticmethod
    async def _non_respondents(reader: Reader, segment: Segment, scope: Scope) -> list[Recipient]:
        if segment.ref_id is None or scope.empty:
            return []
        return await store.non_respondents(reader, segment.ref_id, _paths(scope))

    @staticmethod
    async def _count_non_respondents(reader: Reader, segment: Segment, scope: Scope) -> int:
        if segment.ref_id is None or scope.empty:
            return 0
        return await store.count_non_respondents(reader, segment.ref_id, _paths(scope))
