"""Typed numbers and button data in every Unicode number form (issue #16, fuzz gap): full-width
１２, Arabic-Indic ١٢, superscripts ¹², circled ⑫, Roman Ⅻ, mathematical 𝟙𝟚, NKo ߁߂. No parser
raises on them; buttons take only ASCII digits; typed numbers take ASCII and full-width digits.

`str.isdigit()` is true for superscripts and circled digits that `int()` refuses: a parser guarded
by `isdigit()` alone crashed on "weekly ² 19:00 until ..." (the notice repeat step)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import when
from bot.activities.rules import parse_capacity
from bot.callbacks import REGISTRY
from bot.errors import Refusal
from bot.notices.timing import parse_repeat, parse_when
from bot.text import typed_int
from handlers.activities.common import number

FORMS = ("１２", "١٢", "۱۲", "¹²", "²", "⑫", "Ⅻ", "ⅻ", "𝟙𝟚", "߁߂", "١", "½", "一二", "十二", "12\u200b", "1٢")
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("form", FORMS)
def test_no_typed_number_parser_raises_on_a_unicode_number_form(form: str) -> None:
    assert typed_int(form) == (12 if form == "１２" else None)
    assert number(form) is None
    with pytest.raises(ValueError):
        parse_capacity(form)
    # decimal digits of any script (١٢, 𝟙𝟚) are read for what they say, or refused; others refused
    value = int(form) if form.isdecimal() else None
    for text in (f"weekly {form} 19:00 until 2027-01-31", f"monthly {form} 09:00 until 2027-01-31",
                 f"daily {form}:00 until 2027-01-31", f"weekly mon {form} until 2027-01-31"):
        parsed = parse_repeat(text, ZONE)  # raised ValueError for ² and ¹² before
        if parsed is not None:
            assert value is not None and value in (parsed[0].monthday, parsed[0].at.hour), (text, parsed)
    parse_when(f"2027-01-{form} 09:00", ZONE)
    moment = when.parse(f"{form}月{form}日 {form}:00", datetime(2026, 11, 22, tzinfo=UTC), ZONE, "zh-Hans")
    assert isinstance(moment, (Refusal, datetime))


@pytest.mark.parametrize("form", FORMS)
def test_no_declared_button_takes_a_unicode_number_form(form: str) -> None:
    import bot.app  # noqa: F401 - every feature declares its buttons

    for button in REGISTRY.values():
        if any(kind is int for _, kind in button.fields):
            parts = [button.prefix, *([button.action] if button.action else [])]
            values = [form if kind is int else (kind[0] if isinstance(kind, tuple) else "x")
                      for _, kind in button.fields]
            assert button.parse(":".join([*parts, *values])) is None, button


def test_full_width_digits_are_a_typed_number() -> None:
    assert typed_int("１２") == 12 and typed_int(" 7 ") == 7 and typed_int("٣") is None
    assert parse_repeat("monthly １２ 09:00 until 2027-01-31", ZONE) is not None
