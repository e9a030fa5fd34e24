"""Issue 16 item 11: the members feature's profile fields follow the one cleaning policy
(bot/text.clean_member_text): same characters dropped/refused, same spacing, NFC, Telegram's units."""

from __future__ import annotations

import pytest

from bot.errors import Refusal
from bot.members.rules import clean_text
from bot.text import clean_member_text


@pytest.mark.parametrize("typed", ["张\t伟", "Ze\u0301 Li", "  王\r\n芳  ", "👨\u200d👩\u200d👧 家"])
def test_profile_text_is_what_the_one_policy_keeps(typed: str) -> None:
    assert clean_text(typed) == clean_member_text(typed)


@pytest.mark.parametrize("typed", ["a\u202eb", "a\u200bb", "a\x1bb", "a\u2066b\u2069"])
def test_profile_text_with_characters_the_policy_drops_is_refused(typed: str) -> None:
    with pytest.raises(Refusal) as refused:
        clean_text(typed)
    assert refused.value.key == "members.invalid.control"


def test_profile_length_counts_telegram_units() -> None:
    assert clean_text("😀" * 32, 64) == "😀" * 32
    with pytest.raises(Refusal):
        clean_text("😀" * 33, 64)
