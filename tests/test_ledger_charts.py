"""Charts are valid PNG images with Chinese labels; the /stats chart button sends them."""

from __future__ import annotations

import io

import pytest
from matplotlib.image import imread

from bot.ledger import charts
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.ledger_helpers import HEAD_COORDINATOR, seed

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_valid_png(data: bytes) -> None:
    assert data.startswith(PNG_SIGNATURE)
    pixels = imread(io.BytesIO(data), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert float(pixels.std()) > 0.01  # not a blank image


def test_bar_chart_with_chinese_labels_is_a_valid_png() -> None:
    fig = charts.bar_chart(
        "成员按类别", ["新媒体从业人员", "自由职业人员"], [charts.Series("在册", [3, 1]), charts.Series("注销", [0, 1])]
    )
    assert_valid_png(charts.png(fig))


def test_the_cjk_font_is_registered_from_its_file() -> None:
    family = charts.font_family()
    assert "WenQuanYi" in family or "Noto" in family


def test_missing_font_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "FONT_CANDIDATES", ("/nonexistent/font.ttc",))
    monkeypatch.delenv(charts.FONT_ENV, raising=False)
    with pytest.raises(charts.FontMissing, match="fonts-wqy-microhei"):
        charts.font_path()


async def test_chart_button_sends_valid_png_photos(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await head.send("/stats")
    await head.press(await head.next_message(), "📊 Charts")
    await head.wait_for(lambda m: len([x for x in head.messages if x.photo]) >= 5, timeout=20)
    photos = [m for m in head.messages if m.photo]
    assert len(photos) == 5
    for photo in photos:
        assert_valid_png(await head.download(photo))
    assert "Ledger chart" in (photos[0].caption or "")
