"""/stats: exact figures from the database, scoped to the coordinator's subtree."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from bot.errors import Refusal
from bot.ledger import parse_period, period_from_code
from bot.roles import Scope
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID
from tests.ledger_helpers import CATEGORIES, GROUP_COORDINATOR, HEAD_COORDINATOR, seed

ZONE = ZoneInfo("Asia/Shanghai")


async def test_head_association_figures_are_exact(bot: BotRuntime) -> None:
    assert bot.services is not None and bot.db is not None
    await seed(bot.db)
    ledger = bot.services.ledger
    stats = await ledger.stats(Scope(everything=True), ledger.this_month())
    m = stats.members
    by_cat = {c.category: (c.active, c.pending, c.left, c.erased) for c in m.by_category}
    assert by_cat == {
        CATEGORIES["A"]: (3, 0, 0, 0),
        CATEGORIES["B"]: (1, 0, 0, 1),  # the erased member still counts, category kept
        CATEGORIES["C"]: (0, 1, 0, 0),
        CATEGORIES["D"]: (1, 0, 0, 0),
    }
    assert (m.active, m.total) == (5, 7)
    assert [(g.group_id, g.active, g.pending) for g in m.by_group] == [
        (1, 0, 0), (2, 2, 0), (3, 1, 1), (4, 3, 0), (5, 0, 0),  # empty groups are listed too
    ]
    assert (m.pending_approvals, m.unreachable, m.stale_profiles, m.joined_in_period) == (1, 2, 1, 4)


async def test_group_coordinator_figures_cover_only_their_subtree(bot: BotRuntime) -> None:
    assert bot.services is not None and bot.db is not None
    await seed(bot.db)
    ledger = bot.services.ledger
    stats = await ledger.stats(Scope(paths=("/1/2/",)), ledger.this_month())
    m = stats.members
    assert {c.category: c.total for c in m.by_category} == {CATEGORIES["A"]: 3, CATEGORIES["C"]: 1}
    assert [g.group_id for g in m.by_group] == [2, 3]
    assert (m.pending_approvals, m.unreachable, m.stale_profiles, m.joined_in_period) == (1, 1, 0, 2)


async def test_stats_command_shows_scoped_figures(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    coordinator = tg.create_user("组长", user_id=GROUP_COORDINATOR)
    await coordinator.send("/stats")
    text = (await coordinator.next_message()).text or ""
    assert "在册 3 人，累计 4 人；本期新增 2 人" in text
    assert "陆家嘴金融城新联会：1 / 1" in text
    assert "新媒体" not in text  # another subtree
    assert tg.counters.validation_errors == []


async def test_stats_period_buttons_switch_to_this_year(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await head.send("/stats")
    message = await head.next_message()
    await head.press(message, "This year")
    edited = await head.wait_for(lambda m: "2026-01-01 – 2026-12-31" in (m.text or ""))
    assert "5 active, 7 in total; 5 joined in the period" in (edited.text or "")


async def test_bad_custom_period_is_refused_politely(tg: FakeTelegram, bot: BotRuntime) -> None:
    head = tg.create_user("Head", user_id=OWNER_ID, language_code="en")
    await head.send("/stats")
    await head.press(await head.next_message(), "Custom period")
    assert "2026-01-01 2026-06-30" in ((await head.next_message()).text or "")
    await head.send("<b>soon</b> 🙂")
    assert "could not read that period" in ((await head.next_message()).text or "")


async def test_custom_period_is_typed(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await head.send("/stats")
    await head.press(await head.next_message(), "Custom period")
    await head.next_message()
    await head.send("2025-01-01 2025-12-31")
    text = (await head.next_message()).text or ""
    assert "2025-01-01 – 2025-12-31" in text and "1 joined in the period" in text


async def test_members_may_not_see_stats(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    member = tg.create_user("张伟", user_id=101)
    await member.send("/stats")
    text = (await member.next_message()).text or ""
    assert "台账统计" not in text


async def test_forged_period_button_changes_nothing(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await head.send("/stats")
    message = await head.next_message()
    result = await head.press_data(message, "lg:s:20261399-20260101")
    await result.answer()
    assert tg.counters.validation_errors == []


def test_periods_parse_in_the_configured_zone() -> None:
    period = parse_period("2026-01-01 2026-06-30", ZONE)
    assert (period.first, period.last) == (date(2026, 1, 1), date(2026, 6, 30))
    assert period.start.isoformat() == "2025-12-31T16:00:00+00:00"
    assert period_from_code(period.code, ZONE) == period
    for bad in ("2026-06-30 2026-01-01", "tomorrow", "2026-02-30 2026-03-01", ""):
        with pytest.raises(Refusal):
            parse_period(bad, ZONE)
