"""Texts measured as Telegram does and cut at safe boundaries (issue #16, items 10-11)."""

from __future__ import annotations

import html as htmllib
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text import (
    clean_member_text,
    export_safe,
    split_html,
    truncate_html,
    utf16_len,
    visible_len,
    visible_text,
)
from sandbox.htmlparse import parse_html


def test_lengths_count_utf16_units_after_entities() -> None:
    assert utf16_len("😀") == 2 and utf16_len("中") == 1
    assert visible_len("<b>R&amp;D</b>") == 3
    assert visible_len("😀" * 2000) == 4000


def test_two_thousand_emoji_are_split_into_messages_telegram_accepts() -> None:
    text = "<b>反馈</b>\n" + "😀" * 2000 + "\n" + "👍" * 2100
    parts = split_html(text, 4096)
    assert len(parts) >= 3
    for part in parts:
        plain, _ = parse_html(part)  # raises if Telegram would refuse it
        assert utf16_len(plain) <= 4096


def test_a_cut_never_splits_an_entity_and_keeps_tags_balanced() -> None:
    text = "<i>" + "R&amp;D " * 1200 + "</i>"
    parts = split_html(text, 3990)
    assert len(parts) == 2  # 4,800 visible characters
    for part in parts:
        parse_html(part)
        assert part.startswith("<i>") and part.endswith("</i>")
        assert not re.search(r"&[a-z]*$", part.removesuffix("</i>"))


def test_a_cut_prefers_a_line_break() -> None:
    lines = [f"{i:03d} " + "答" * 60 for i in range(100)]
    parts = split_html("\n".join(lines), 1000)
    for part in parts[:-1]:
        assert part.endswith("\n")


def test_truncate_adds_an_ellipsis_only_when_cut() -> None:
    assert truncate_html("<b>short</b>", 100) == "<b>short</b>"
    cut = truncate_html("<b>" + "长" * 300 + "</b>", 100)
    parse_html(cut)
    assert cut.endswith("…") and visible_len(cut) <= 100


_pieces = st.one_of(
    st.text(min_size=1, max_size=30).map(htmllib.escape),
    st.sampled_from(["\n", "😀", "&amp;", "&lt;", "中文", " "]),
    st.text(min_size=1, max_size=10).map(lambda t: f"<b>{htmllib.escape(t)}</b>"),
    st.text(min_size=1, max_size=10).map(lambda t: f'<a href="https://e.org/?a=1&amp;b=2">{htmllib.escape(t)}</a>'),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_pieces, min_size=1, max_size=200), st.integers(min_value=16, max_value=300))
def test_every_part_fits_parses_and_nothing_is_lost(pieces: list[str], limit: int) -> None:
    source = "".join(pieces)
    parts = split_html(source, limit)
    for part in parts:
        plain, _ = parse_html(part)
        assert utf16_len(plain) <= limit
    joined = "".join(visible_text(p) for p in parts)
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", visible_text(source))


def test_member_text_loses_controls_bidi_and_zero_width_but_keeps_emoji_and_lines() -> None:
    typed = "建议\u202e反转\u200b零宽\x1b[31m红\x00\n第二行 👨\u200d👩\u200d👧 ❤\ufe0f\t完"
    assert clean_member_text(typed) == "建议反转零宽[31m红\n第二行 👨\u200d👩\u200d👧 ❤\ufe0f 完"


def test_any_stored_character_can_go_into_an_export_cell() -> None:
    from io import BytesIO

    from openpyxl import Workbook, load_workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    stored = "ESC\x1b NUL\x00 BEL\x07 ok"
    sheet.append([export_safe(stored)])
    buffer = BytesIO()
    book.save(buffer)
    value = load_workbook(BytesIO(buffer.getvalue())).active["A1"].value  # type: ignore[index]
    assert value == "ESC\ufffd NUL\ufffd BEL\ufffd ok"


# --- plain text cut in Telegram's units (issue #16 item 10: the spots that counted characters) ------
def test_truncate_text_counts_utf16_units_and_never_splits_an_entity_after_escaping() -> None:
    from bot.text import truncate_text

    emoji = truncate_text("😀" * 150, 200)
    assert utf16_len(emoji) <= 200 and emoji.endswith("…") and "\ud83d" not in emoji
    amp = truncate_text("&" * 300, 200)
    escaped = htmllib.escape(amp)
    assert visible_len(escaped) <= 200 and parse_html(escaped) is not None and escaped.count("&amp;") == 199
    assert truncate_text("short", 200) == "short"
    joined = truncate_text("a" * 197 + "👨\u200d👩", 200)
    assert not joined.removesuffix("…").endswith("\u200d")


def test_typed_activity_fields_and_excerpts_are_measured_in_utf16_units() -> None:
    from bot.feedback.service import short as feedback_short
    from handlers.activities.common import clean
    from handlers.notices.common import plain, short

    assert clean("😀" * 150, 200) is None  # 300 units: over the limit (150 characters were accepted)
    assert clean("😀" * 100, 200) == "😀" * 100
    assert utf16_len(feedback_short("😀" * 100, 60)) <= 60
    assert utf16_len(short("😀" * 100, 48)) <= 48
    assert utf16_len(plain("<b>" + "&amp;😀" * 100 + "</b>", 30)) <= 31
    from bot.text import truncate_text

    assert truncate_text("😀" * 100, 64, "") == "😀" * 32  # a stored comment, a directory search term
