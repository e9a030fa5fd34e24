"""Notice figures: sent, delivery and acknowledgement rates over recipients in scope."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot.roles import Scope
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.ledger_helpers import GROUP_COORDINATOR, HEAD_COORDINATOR, seed, seed_notices


async def _seeded(bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    await seed_notices(bot.db)


async def test_notice_figures_are_exact_for_the_head_association(bot: BotRuntime) -> None:
    await _seeded(bot)
    assert bot.services is not None
    n = (await bot.services.ledger.stats(Scope(everything=True), bot.services.ledger.this_month())).notices
    assert (n.sent, n.recipients, n.delivered, n.acknowledged) == (2, 7, 6, 3)
    assert n.ack_rate == 0.5


async def test_notice_figures_count_only_recipients_in_the_subtree(bot: BotRuntime) -> None:
    await _seeded(bot)
    assert bot.services is not None
    n = (await bot.services.ledger.stats(Scope(paths=("/1/2/",)), bot.services.ledger.this_month())).notices
    assert (n.sent, n.recipients, n.delivered, n.acknowledged) == (2, 5, 4, 2)


async def test_stats_message_shows_notice_rates(tg: FakeTelegram, bot: BotRuntime) -> None:
    await _seeded(bot)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await head.send("/stats")
    text = (await head.next_message()).text or ""
    assert "Notices: 2 sent, delivered 6/7 (85.7%), acknowledged 3 (50.0%)" in text


async def test_export_lists_notices_as_plain_text_with_counts(tg: FakeTelegram, bot: BotRuntime) -> None:
    await _seeded(bot)
    coordinator = tg.create_user("组长", user_id=GROUP_COORDINATOR, language_code="en")
    await coordinator.send("/export")
    await coordinator.wait_for(lambda m: "Export finished" in (m.text or ""), timeout=20)
    xlsx = await coordinator.download(next(m for m in coordinator.messages if m.document))
    rows = list(load_workbook(io.BytesIO(xlsx), read_only=True)["Notices"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[3], r[4], r[5], r[6]) for r in rows] == [
        (1, "学习通知 1 & 材料", 3, 2, 1), (2, "学习通知 2 & 材料", 2, 2, 1), (3, "学习通知 3 & 材料", 1, 1, 1),
    ]
