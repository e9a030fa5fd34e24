"""The activities feature's domain: models, pure rules, button declarations, the service.

Imported by handlers/activities/ and bot/services.py; storage/ imports only `models`.
"""

from bot.activities.models import (
    DEFAULT_REMINDERS,
    MAX_PLACE,
    MAX_TEXT,
    MAX_TITLE,
    Activity,
    Draft,
    Group,
    Result,
    RosterEntry,
)
from bot.activities.rules import Eligibility, parse_capacity, parse_offsets, plan_edit, validate_times
from bot.activities.service import ActivityService

__all__ = [
    "DEFAULT_REMINDERS",
    "MAX_PLACE",
    "MAX_TEXT",
    "MAX_TITLE",
    "Activity",
    "ActivityService",
    "Draft",
    "Eligibility",
    "Group",
    "Result",
    "RosterEntry",
    "parse_capacity",
    "parse_offsets",
    "plan_edit",
    "validate_times",
]
