"""bot/when.py: the one reader of dates and times people type (issue #17)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.errors import Refusal
from bot.i18n import Catalog
from bot.when import parse, span, zone_name

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 11, 20, tzinfo=UTC)  # Thursday 19:20 in Beijing


def local(text: str, **kw: object) -> datetime:
    moment = parse(text, NOW, ZONE, "zh-Hans", **kw)  # type: ignore[arg-type]
    assert isinstance(moment, datetime), (text, moment)
    return moment.astimezone(ZONE).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明天 09:00", datetime(2026, 12, 4, 9, 0)),
        ("12月20日 下午2点", datetime(2026, 12, 20, 14, 0)),
        ("下周三下午2点", datetime(2026, 12, 9, 14, 0)),
        ("周六14:00", datetime(2026, 12, 5, 14, 0)),
        ("本周六 10:00", datetime(2026, 12, 5, 10, 0)),
        ("星期日 下午三点", datetime(2026, 12, 6, 15, 0)),
        ("后天 上午10点半", datetime(2026, 12, 5, 10, 30)),
        ("12月20号 晚上8点", datetime(2026, 12, 20, 20, 0)),
        ("中午12点", datetime(2026, 12, 4, 12, 0)),  # today's noon has passed: tomorrow's
        ("１２月５日　１４：００", datetime(2026, 12, 5, 14, 0)),
        ("2026-12-05 14:00", datetime(2026, 12, 5, 14, 0)),
        ("12月1日 9:00", datetime(2027, 12, 1, 9, 0)),  # past without a year: next year
        ("tomorrow 9am", datetime(2026, 12, 4, 9, 0)),
        ("Sat 14:00", datetime(2026, 12, 5, 14, 0)),
        ("Dec 20 2pm", datetime(2026, 12, 20, 14, 0)),
        ("20 Dec 2026 14:00", datetime(2026, 12, 20, 14, 0)),
        ("next wed 2:30 pm", datetime(2026, 12, 9, 14, 30)),
    ],
)
def test_what_people_type(text: str, expected: datetime) -> None:
    assert local(text) == expected


def test_a_bare_end_time_is_on_the_start_day() -> None:
    start = datetime(2026, 12, 17, 1, 0, tzinfo=UTC)  # 09:00 Beijing
    assert local("16:30", after=start) == datetime(2026, 12, 17, 16, 30)


@pytest.mark.parametrize("text", ["", "soon", "hello 14:00", "25:00", "2026-02-30 10:00", "x" * 100])
def test_unreadable_is_one_refusal_with_an_example(text: str) -> None:
    refused = parse(text, NOW, ZONE, "zh-Hans")
    assert isinstance(refused, Refusal) and refused.key == "when.unreadable"
    tr = Catalog.load().for_lang("zh-Hans")
    assert "12月4日 下午2点" in tr(refused.key, **refused.values)


def test_a_date_without_time_asks_for_the_time() -> None:
    refused = parse("明天", NOW, ZONE, "zh-Hans")
    assert isinstance(refused, Refusal) and refused.key == "when.need_time"


def test_the_zone_and_a_span_in_peoples_words() -> None:
    zh, en = Catalog.load().for_lang("zh-Hans"), Catalog.load().for_lang("en")
    assert zone_name(zh, ZONE) == "北京时间" and zone_name(en, ZONE) == "Beijing time"
    assert zone_name(zh, ZoneInfo("Europe/Paris")) == "Europe/Paris"
    start, end = datetime(2026, 12, 17, 1, 0, tzinfo=UTC), datetime(2026, 12, 17, 5, 0, tzinfo=UTC)
    assert span(zh, start, end, ZONE) == "12月17日（周四）09:00–13:00"
    assert span(en, start, end, ZONE) == "Thu 17 Dec 09:00–13:00"
