"""The pure rule behind every activity edit (guided or /editactivity): `plan_edit`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.activities import Activity, plan_edit

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _activity(start: datetime, deadline: datetime) -> Activity:
    return Activity(
        id=1,
        series_id=None,
        title="Salon",
        description="",
        place="",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        signup_deadline=deadline,
        capacity=None,
        seats_taken=0,
        offer_hours=None,
        survey=False,
        reminder_offsets=(),
        categories=(),
        has_groups=False,
        status="published",
        checkin_code=None,
        created_by=1,
    )


def test_text_edit_of_an_activity_already_under_way_is_allowed() -> None:
    started = _activity(NOW - timedelta(minutes=30), NOW - timedelta(days=1))
    assert plan_edit(started, {"title": "New"}, NOW) == ({"title": "New"}, None)


def test_start_moved_before_the_deadline_pulls_the_deadline_along() -> None:
    a = _activity(NOW + timedelta(days=3), NOW + timedelta(days=2))
    new_start = NOW + timedelta(days=1)
    changes, problem = plan_edit(a, {"starts_at": new_start, "ends_at": new_start + timedelta(hours=2)}, NOW)
    assert problem is None and changes["signup_deadline"] == new_start


def test_start_moved_later_leaves_the_deadline_alone() -> None:
    a = _activity(NOW + timedelta(days=3), NOW + timedelta(days=2))
    new_start = NOW + timedelta(days=5)
    changes, problem = plan_edit(a, {"starts_at": new_start, "ends_at": new_start + timedelta(hours=2)}, NOW)
    assert problem is None and "signup_deadline" not in changes


def test_a_passed_deadline_does_not_block_moving_the_times() -> None:
    a = _activity(NOW + timedelta(days=3), NOW - timedelta(hours=1))
    assert plan_edit(a, {"ends_at": NOW + timedelta(days=3, hours=5)}, NOW)[1] is None


def test_a_new_deadline_in_the_past_is_refused() -> None:
    a = _activity(NOW + timedelta(days=3), NOW + timedelta(days=2))
    assert plan_edit(a, {"signup_deadline": NOW - timedelta(minutes=1)}, NOW)[1] == "deadline_past"


def test_end_before_start_is_refused() -> None:
    a = _activity(NOW + timedelta(days=3), NOW + timedelta(days=2))
    assert plan_edit(a, {"ends_at": NOW + timedelta(days=2)}, NOW)[1] == "end_before_start"
