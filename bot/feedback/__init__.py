"""Feedback from members: the service, its models and its buttons (see service.py)."""

from bot.feedback.models import KINDS, OPEN_STATUSES, STATUSES, Created, Item, MemberItem, Note, QueuePage, QueueRow
from bot.feedback.service import MAX_ATTACHMENTS, MAX_TEXT, FeedbackService, clean_text, digest_text, short

__all__ = [
    "KINDS",
    "MAX_ATTACHMENTS",
    "MAX_TEXT",
    "OPEN_STATUSES",
    "STATUSES",
    "Created",
    "FeedbackService",
    "Item",
    "MemberItem",
    "Note",
    "QueuePage",
    "QueueRow",
    "clean_text",
    "digest_text",
    "short",
]
