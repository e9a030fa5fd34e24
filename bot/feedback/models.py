"""What the feedback loop stores and shows: kinds, statuses and the rows storage returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import labels

KINDS = ("suggestion", "need", "complaint", "other")
STATUSES = ("new", "assigned", "in_progress", "answered", "closed")
OPEN_STATUSES = ("new", "assigned", "in_progress")
labels.register("feedback_kind", KINDS)
labels.register("feedback_status", STATUSES)


@dataclass(frozen=True)
class NewFeedback:
    member_id: int
    user_id: int
    kind: str
    body: str
    anonymous: bool
    attachments: tuple[tuple[str, str], ...]  # (type, file_id)


@dataclass(frozen=True)
class Created:
    id: int
    ref: str


@dataclass(frozen=True)
class MemberItem:
    id: int
    ref: str
    kind: str
    status: str
    body: str
    answer: str | None
    helpful: bool | None
    reopened: bool
    created_at: datetime


@dataclass(frozen=True)
class Item:
    """An item as a coordinator sees it: no author identity when anonymous."""

    id: int
    ref: str
    kind: str
    body: str
    anonymous: bool
    author_name: str | None
    status: str
    assignee_user_id: int | None
    answer: str | None
    helpful: bool | None
    reopen_comment: str | None
    due_at: datetime
    created_at: datetime
    group_names: tuple[str, ...]
    paths: tuple[str, ...]
    attachments: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Note:
    author_user_id: int
    body: str
    created_at: datetime


@dataclass(frozen=True)
class QueueRow:
    id: int
    ref: str
    kind: str
    status: str


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class DueJob:
    id: int
    feedback_id: int
    kind: str


@dataclass(frozen=True)
class JobTarget:
    """What a claimed job acts on (no author identity)."""

    job_id: int
    job_kind: str
    feedback_id: int
    ref: str
    kind: str
    status: str
    assignee_user_id: int | None
    due_at: datetime


@dataclass(frozen=True)
class DigestEntry:
    ref: str
    body: str
    answer: str


@dataclass(frozen=True)
class Recipient:
    """A member the digest goes to, with their resolved language (choice, else Telegram's)."""

    member_id: int
    user_id: int
    language: str | None


@dataclass(frozen=True)
class Appointment:
    """A coordinator's appointment to a live group."""

    user_id: int
    path: str
    parent_id: int | None
