"""Pure parts of activities: typed dates, .ics files, input rules, eligibility."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.activities import Eligibility, parse_capacity, parse_offsets, validate_times
from bot.activities.ics import activity_ics, escape_text
from bot.dates import DateError, parse_local

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.mark.parametrize(
    "text",
    ["2026-12-05 14:00", "2026/12/05 14:00", "12-05 14:00", "12月5日 14:00", "2026年12月5日 14:00", "12月5号 14：00"],
)
def test_typed_dates_in_the_configured_zone_become_utc(text: str) -> None:
    assert parse_local(text, ZONE, NOW) == datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["明天 14:00", "tomorrow 14:00", "Tomorrow  14:00"])
def test_tomorrow_is_the_next_local_day(text: str) -> None:
    assert parse_local(text, ZONE, NOW) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def test_a_date_without_year_already_past_means_next_year() -> None:
    assert parse_local("01-10 09:00", ZONE, NOW) == datetime(2027, 1, 10, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "soon", "2026-02-30 10:00", "12-05", "25:00", "12-05 24:10", "x" * 100])
def test_unreadable_dates_are_refused(text: str) -> None:
    with pytest.raises(DateError):
        parse_local(text, ZONE, NOW)


def test_time_rules_name_the_first_problem() -> None:
    later = datetime(2026, 12, 1, tzinfo=UTC)
    assert validate_times(datetime(2026, 1, 1, tzinfo=UTC), later, later, NOW) == "start_past"
    assert validate_times(later, later, NOW.replace(day=23), NOW) == "end_before_start"
    assert validate_times(later, later.replace(day=2), later.replace(day=3), NOW) == "deadline_after_start"
    assert validate_times(later, later.replace(day=2), later, NOW) is None


@pytest.mark.parametrize("text", ["0", "-3", "abc", "1.5", "", "9999999"])
def test_capacity_must_be_a_positive_number(text: str) -> None:
    with pytest.raises(ValueError, match=r".*"):
        parse_capacity(text)


def test_reminder_offsets_parse_to_minutes() -> None:
    assert parse_offsets("2h, 1d") == (1440, 120)
    with pytest.raises(ValueError, match=r".*"):
        parse_offsets("soon")


def test_eligibility_uses_group_subtrees_and_categories() -> None:
    rule = Eligibility(("/1/4/",), ("3",))
    assert rule.allows(["/1/4/9/"], "3")
    assert not rule.allows(["/1/5/"], "3")
    assert not rule.allows(["/1/4/"], "1")
    assert Eligibility((), ()).allows([], None)


def test_ics_is_rfc5545_with_utc_times_and_escaped_text() -> None:
    data = activity_ics(
        uid="activity-1@x",
        title="读书会; part 1, intro",
        description="line1\nline2 \\ end",
        place="Room, 3",
        starts_at=datetime(2026, 12, 5, 6, 0, tzinfo=UTC),
        ends_at=datetime(2026, 12, 5, 8, 0, tzinfo=UTC),
        stamp=NOW,
    ).decode()
    assert data.startswith("BEGIN:VCALENDAR\r\n") and data.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:20261205T060000Z\r\n" in data
    assert "SUMMARY:读书会\\; part 1\\, intro" in data
    assert "DESCRIPTION:line1\\nline2 \\\\ end" in data
    assert all(len(line.encode()) <= 75 for line in data.split("\r\n"))


def test_long_ics_lines_are_folded_without_splitting_characters() -> None:
    data = activity_ics(
        uid="u", title="新联会" * 40, description="", place="", starts_at=NOW, ends_at=NOW.replace(hour=3), stamp=NOW
    )
    text = data.decode("utf-8")
    assert "\r\n " in text
    assert escape_text("a\r\nb\x00") == "a\\nb"


async def test_old_category_numbers_of_activities_become_the_members_category_keys(tmp_path: Path) -> None:
    from storage.db import Database
    from storage.migrations import MIGRATIONS_DIR, migrate, split_statements

    db = await Database.open(tmp_path / "m.db")
    try:
        await migrate(db)
        async with db.transaction() as tx:
            for cats in ("", "1", "1|2", "2|4|3", "enterprise"):
                await tx.execute(
                    "INSERT INTO activities (title, description, place, starts_at, ends_at, signup_deadline,"
                    " categories, status, created_by, created_at, updated_at) VALUES ('t', '', '',"
                    " '2026-01-02T00:00:00.000000Z', '2026-01-03T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z',"
                    " ?, 'published', 1, 'x', 'x')",
                    (cats,),
                )
            sql = (MIGRATIONS_DIR / "0302_activity_categories.sql").read_text(encoding="utf-8")
            for statement in split_statements(sql):  # as if these rows were there before the migration
                await tx.execute(statement)
        rows = await db.fetchall("SELECT categories FROM activities ORDER BY id")
        assert [r["categories"] for r in rows] == [
            "",
            "enterprise",
            "enterprise|intermediary",
            "intermediary|new_media|freelancer",
            "enterprise",
        ]
    finally:
        await db.close()
