"""SQL of the audiences notices borrow from other features: participants of an activity and
members who have not answered a questionnaire, plus the activities/questionnaires a
coordinator may address. Every selection is limited to reachable members in the sender's
scope (`storage.segments.reachable`); `scope_paths` None means everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.notices.models import ActivityChoice, QuestionnaireChoice, Recipient
from storage import scope
from storage.activities import manageable_clause
from storage.segments import Reader, reachable, recipients
from storage.timefmt import from_db, to_db

# Which sign-ups each participant status selects (alias `s` = activity_signups).
PARTICIPANTS = {
    "confirmed": "s.status = 'confirmed'",
    "waitlisted": "s.status IN ('waiting', 'offered')",
    "attended": "s.checked_in_at IS NOT NULL",
}

_LANGUAGE = " LEFT JOIN bot_users bu ON bu.user_id = m.user_id"  # only when recipients are built, not counted


def _questionnaire_visible(scope_paths: Sequence[str] | None, user_id: int | None, params: list[Any]) -> str:
    """Questionnaires the sender may see (as bot/surveys.SurveyService._covers decides): their own,
    or ones addressed to groups (not to everyone) of which one lies inside the sender's scope."""
    if scope_paths is None:
        return "1 = 1"
    mine = "q.created_by = ?"
    params.append(-1 if user_id is None else user_id)
    if not scope_paths:
        return mine
    inside, values = scope.path_in(scope_paths, "ss.path")
    params.extend(values)
    return (
        f"({mine} OR (NOT EXISTS (SELECT 1 FROM survey_scopes ss WHERE ss.survey_id = q.id AND ss.path = '/')"  # noqa: S608 - fixed clauses, values are parameters
        f" AND EXISTS (SELECT 1 FROM survey_scopes ss WHERE ss.survey_id = q.id AND {inside})))"
    )


# --- activities ------------------------------------------------------------------------------------
async def activities(
    reader: Reader, scope_paths: Sequence[str] | None, user_id: int | None, since: datetime, limit: int, offset: int
) -> tuple[list[ActivityChoice], int]:
    """Not-cancelled activities ending after `since` that the sender may manage (latest first); and the total."""
    params: list[Any] = [to_db(since)]
    where = "a.status != 'cancelled' AND a.ends_at > ? AND " + manageable_clause(scope_paths, user_id, params)
    total = await reader.fetchall(f"SELECT COUNT(*) FROM activities a WHERE {where}", params)  # noqa: S608
    rows = await reader.fetchall(
        f"SELECT a.id, a.title, a.starts_at, a.status FROM activities a WHERE {where}"  # noqa: S608
        " ORDER BY a.starts_at DESC, a.id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [ActivityChoice(r[0], str(r[1]), from_db(r[2]), str(r[3])) for r in rows], int(total[0][0])


async def activity(
    reader: Reader, activity_id: int, scope_paths: Sequence[str] | None, user_id: int | None
) -> ActivityChoice | None:
    params: list[Any] = [activity_id]
    where = "a.id = ? AND " + manageable_clause(scope_paths, user_id, params)
    rows = await reader.fetchall(f"SELECT a.id, a.title, a.starts_at, a.status FROM activities a WHERE {where}", params)  # noqa: S608
    return ActivityChoice(rows[0][0], str(rows[0][1]), from_db(rows[0][2]), str(rows[0][3])) if rows else None


def _participants(
    activity_id: int, status: str, scope_paths: Sequence[str] | None, params: list[Any], join: str = ""
) -> str | None:
    which = PARTICIPANTS.get(status)
    if which is None:
        return None
    params.append(activity_id)
    where = reachable(scope_paths, params)
    if where is None:
        return None
    return (
        f"FROM activity_signups s JOIN members m ON m.id = s.member_id{join}"
        f" WHERE s.activity_id = ? AND {which} AND {where}"
    )


async def participants(
    reader: Reader, activity_id: int, status: str, scope_paths: Sequence[str] | None
) -> list[Recipient]:
    params: list[Any] = []
    body = _participants(activity_id, status, scope_paths, params, _LANGUAGE)
    if body is None:
        return []
    return recipients(await reader.fetchall(f"SELECT m.id, m.user_id, COALESCE(bu.language, bu.tg_language) AS language"
        f" {body} ORDER BY m.id", params))


async def count_participants(reader: Reader, activity_id: int, status: str, scope_paths: Sequence[str] | None) -> int:
    params: list[Any] = []
    body = _participants(activity_id, status, scope_paths, params)
    if body is None:
        return 0
    return int((await reader.fetchall(f"SELECT COUNT(*) {body}", params))[0][0])


# --- questionnaires ------------------------------------------------------------------------------------
async def questionnaires(
    reader: Reader, scope_paths: Sequence[str] | None, user_id: int | None, now: datetime, limit: int, offset: int
) -> tuple[list[QuestionnaireChoice], int]:
    """Open questionnaires (deadline still ahead) the sender may see, newest first; and the total."""
    params: list[Any] = [to_db(now)]
    where = "q.status = 'open' AND q.deadline_at > ? AND " + _questionnaire_visible(scope_paths, user_id, params)
    total = await reader.fetchall(f"SELECT COUNT(*) FROM surveys q WHERE {where}", params)  # noqa: S608
    rows = await reader.fetchall(
        f"SELECT q.id, q.title, q.deadline_at, q.status FROM surveys q WHERE {where}"  # noqa: S608
        " ORDER BY q.id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [QuestionnaireChoice(r[0], str(r[1]), from_db(r[2]), str(r[3])) for r in rows], int(total[0][0])


async def questionnaire(
    reader: Reader, survey_id: int, scope_paths: Sequence[str] | None, user_id: int | None
) -> QuestionnaireChoice | None:
    params: list[Any] = [survey_id]
    where = "q.id = ? AND " + _questionnaire_visible(scope_paths, user_id, params)
    rows = await reader.fetchall(f"SELECT q.id, q.title, q.deadline_at, q.status FROM surveys q WHERE {where}", params)  # noqa: S608
    return QuestionnaireChoice(rows[0][0], str(rows[0][1]), from_db(rows[0][2]), str(rows[0][3])) if rows else None


def _non_respondents(
    survey_id: int, scope_paths: Sequence[str] | None, params: list[Any], join: str = ""
) -> str | None:
    params.append(survey_id)
    where = reachable(scope_paths, params)
    if where is None:
        return None
    return (
        f"FROM survey_targets t JOIN members m ON m.id = t.member_id{join}"  # noqa: S608 - fixed clauses, values are parameters
        f" WHERE t.survey_id = ? AND {where} AND NOT EXISTS (SELECT 1 FROM survey_responses r"
        " WHERE r.survey_id = t.survey_id AND r.member_id = t.member_id AND r.completed_at IS NOT NULL)"
    )


async def non_respondents(reader: Reader, survey_id: int, scope_paths: Sequence[str] | None) -> list[Recipient]:
    params: list[Any] = []
    body = _non_respondents(survey_id, scope_paths, params, _LANGUAGE)
    if body is None:
        return []
    return recipients(await reader.fetchall(f"SELECT m.id, m.user_id, COALESCE(bu.language, bu.tg_language) AS language"
        f" {body} ORDER BY m.id", params))


async def count_non_respondents(reader: Reader, survey_id: int, scope_paths: Sequence[str] | None) -> int:
    params: list[Any] = []
    body = _non_respondents(survey_id, scope_paths, params)
    if body is None:
        return 0
    return int((await reader.fetchall(f"SELECT COUNT(*) {body}", params))[0][0])
