"""What the activities feature stores and returns: rows as dataclasses, the coordinator's draft,
a service outcome, and the enum-like values shown to people (declared with bot/labels).

Imports nothing above it: storage/activities.py and storage/signups.py build these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bot import labels

# Sign-up statuses (activity_signups.status) and activity statuses (activities.status), shown to
# people as `label.signup_status.<value>` / `label.activity_status.<value>` (bot/labels.py).
SIGNUP_STATUSES = ("confirmed", "waiting", "offered", "not_going", "cancelled")
ACTIVITY_STATUSES = ("published", "closed", "cancelled")
labels.register("signup_status", SIGNUP_STATUSES)
labels.register("activity_status", ACTIVITY_STATUSES)

HOLDING = ("confirmed", "offered")
ACTIVE = ("confirmed", "offered", "waiting")
DEFAULT_REMINDERS = (1440, 120)
CHECKIN_OPENS = 30  # minutes before the start check-in opens, unless chosen otherwise
MAX_TITLE = 120
MAX_TEXT = 1500
MAX_PLACE = 300


@dataclass(frozen=True)
class Activity:
    id: int
    series_id: int | None
    title: str
    description: str
    place: str
    starts_at: datetime
    ends_at: datetime
    signup_deadline: datetime
    capacity: int | None
    seats_taken: int
    offer_hours: int | None
    survey: bool
    reminder_offsets: tuple[int, ...]
    categories: tuple[str, ...]
    has_groups: bool
    status: str
    checkin_code: str | None
    created_by: int
    checkin_opens: int = CHECKIN_OPENS  # minutes before the start check-in opens

    @property
    def checkin_from(self) -> datetime:
        """When check-in opens (it closes at the end)."""
        return self.starts_at - timedelta(minutes=self.checkin_opens)


@dataclass(frozen=True)
class NewActivity:
    title: str
    description: str
    place: str
    starts_at: datetime
    ends_at: datetime
    signup_deadline: datetime
    capacity: int | None
    offer_hours: int | None
    survey: bool
    reminder_offsets: tuple[int, ...]
    categories: tuple[str, ...]
    group_ids: tuple[int, ...]
    series_id: int | None = None
    checkin_opens: int = CHECKIN_OPENS


@dataclass(frozen=True)
class SignupContext:
    """Everything a sign-up press needs, read in one query inside the write transaction."""

    activity: Activity
    member_id: int | None
    member_status: str | None
    category: str | None
    language: str | None
    signup_id: int | None
    signup_status: str | None


@dataclass(frozen=True)
class Signup:
    id: int
    activity_id: int
    member_id: int
    status: str
    offer_expires: datetime | None
    checked_in_at: datetime | None


@dataclass(frozen=True)
class RosterEntry:
    signup_id: int
    member_id: int
    user_id: int | None
    name: str
    status: str
    checked_in_at: datetime | None
    created_at: datetime
    organisation: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Recipient:
    member_id: int
    user_id: int
    language: str | None
    category: str | None
    paths: tuple[str, ...]


@dataclass(frozen=True)
class DueItem:
    id: int
    activity_id: int
    kind: str
    member_id: int
    tag: int
    due_at: datetime


@dataclass(frozen=True)
class Ticket:
    """What a sign-up got: a seat ('confirmed') or a place on the waitlist ('waiting', position ≥ 1)."""

    status: str
    signup_id: int
    position: int = 0


@dataclass(frozen=True)
class SignupAttempt:
    """What one sign-up found and did: the context, the judge's refusal code, or the ticket.

    Refusal codes live only inside the one-trip work; the service turns them into `Refusal`s.
    """

    context: SignupContext | None
    refusal: str | None = None
    ticket: Ticket | None = None
    position: int = 0  # place on the waitlist of a member who was already waiting


@dataclass(frozen=True)
class MemberSignup:
    """One of a member's sign-ups, for their /mydata export."""

    title: str
    starts_at: datetime
    status: str
    signed_up_at: datetime
    checked_in_at: datetime | None
    rating: int | None
    comment: str | None


@dataclass(frozen=True)
class Group:
    """A live group an activity can be addressed to."""

    id: int
    name: str
    path: str


@dataclass(frozen=True)
class Draft:
    """What a coordinator typed in the /newactivity conversation."""

    title: str
    description: str
    place: str
    starts_at: datetime
    ends_at: datetime
    signup_deadline: datetime
    capacity: int | None
    group_ids: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    reminder_offsets: tuple[int, ...] = DEFAULT_REMINDERS
    survey: bool = False
    offer_hours: int | None = None
    repeat: Literal["none", "weekly", "monthly"] = "none"
    occurrences: int = 1
    checkin_opens: int = CHECKIN_OPENS  # minutes before the start check-in opens


@dataclass(frozen=True)
class Result:
    """What a service action did (a refusal is raised as `bot.errors.Refusal` instead).

    `code` names the catalogue text ``act.r.<code>``; `status` is the member's sign-up status after.
    """

    code: str
    activity: Activity | None = None
    position: int = 0
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
