"""Repeat rules of notices as people type them (bot/notices/timing.py over bot/when.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot import when
from bot.notices.models import Recurrence
from bot.notices.timing import parse_repeat

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # Sunday 10:00 in Beijing


@pytest.mark.parametrize(("typed", "rule", "until"), [
    ("每天 08:30 到 12月31日", Recurrence("daily", time(8, 30)), date(2026, 12, 31)),
    ("每日上午9点 直到 2026年12月5日", Recurrence("daily", time(9)), date(2026, 12, 5)),
    ("每周一、周四 19:00 到 12月31日", Recurrence("weekly", time(19), (0, 3)), date(2026, 12, 31)),
    ("每周一和四 晚上7点 至 1月15日", Recurrence("weekly", time(19), (0, 3)), date(2027, 1, 15)),  # next year
    ("每星期六下午2点到12月31日", Recurrence("weekly", time(14), (5,)), date(2026, 12, 31)),
    ("每月5日 09:00 到 2027年6月30日", Recurrence("monthly", time(9), monthday=5), date(2027, 6, 30)),
    ("每月5号 上午9点半 截止 2027-06-30", Recurrence("monthly", time(9, 30), monthday=5), date(2027, 6, 30)),
    ("weekly mon,thu 19:00 until 2026-12-31", Recurrence("weekly", time(19), (0, 3)), date(2026, 12, 31)),
])
def test_repeat_rules_people_type(typed: str, rule: Recurrence, until: date) -> None:
    parsed = parse_repeat(typed, ZONE, NOW)
    assert parsed is not None, typed
    assert parsed[0] == rule
    assert parsed[1] == datetime.combine(until, time(23, 59), ZONE)


@pytest.mark.parametrize("typed", [
    "每周一 19:00",  # until when?
    "每天 到 12月31日",  # at what time?
    "每两天 9:00 到 12月31日",  # not a rule we keep
    "每月32日 09:00 到 12月31日",
    "每天 08:30 到 下雨",
    "",
])
def test_what_is_not_a_repeat_rule(typed: str) -> None:
    assert parse_repeat(typed, ZONE, NOW) is None
    assert when.parse_repeat(typed, NOW, ZONE) is None
