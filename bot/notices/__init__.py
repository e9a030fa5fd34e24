"""Notices: composing, sending now / at a time / repeatedly, acknowledgements and nudges.

- `models`: the values (segments, drafts, rows storage returns);
- `callbacks`: every notice button, declared once;
- `timing`: typed times and repeat rules;
- `segments` / `audiences`: who a notice goes to (scope-limited);
- `service`: `NoticeService`, which owns the transactions, audit and outbox writes.

Only the light modules are re-exported here (storage imports `bot.notices.models`; the service
imports storage): import the service from `bot.notices.service`.
"""

from bot.notices.models import (
    ACTIVITY,
    MEMBERS,
    NOTICE_STATUSES,
    PARTICIPANT_STATUSES,
    QUESTIONNAIRE,
    ActivityChoice,
    Created,
    Draft,
    DueReport,
    NoticeRow,
    QuestionnaireChoice,
    Recurrence,
    Segment,
    activity_segment,
    questionnaire_segment,
)

__all__ = [
    "ACTIVITY",
    "MEMBERS",
    "NOTICE_STATUSES",
    "PARTICIPANT_STATUSES",
    "QUESTIONNAIRE",
    "ActivityChoice",
    "Created",
    "Draft",
    "DueReport",
    "NoticeRow",
    "QuestionnaireChoice",
    "Recurrence",
    "Segment",
    "activity_segment",
    "questionnaire_segment",
]
