"""Questionnaires: the service, its models, exports and buttons (see service.py)."""

from bot.surveys.models import KINDS, STATUSES, Progress, Question, QuestionResult, Results, Survey
from bot.surveys.service import MAX_FREE_TEXT, MAX_QUESTIONS, SurveyService, clean, parse_options

__all__ = [
    "KINDS",
    "MAX_FREE_TEXT",
    "MAX_QUESTIONS",
    "STATUSES",
    "Progress",
    "Question",
    "QuestionResult",
    "Results",
    "Survey",
    "SurveyService",
    "clean",
    "parse_options",
]
