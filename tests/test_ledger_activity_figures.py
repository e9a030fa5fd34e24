"""Activity, feedback and questionnaire figures: exact, scoped, anonymous items without authors."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot.ledger import median_hours
from bot.roles import Scope
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.ledger_helpers import ANONYMOUS_BODY, GROUP_COORDINATOR, HEAD_COORDINATOR, seed, seed_activity


async def _seeded(bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    await seed_activity(bot.db)


async def test_activity_figures_are_exact_for_the_head_association(bot: BotRuntime) -> None:
    await _seeded(bot)
    assert bot.services is not None
    stats = await bot.services.ledger.stats(Scope(everything=True), bot.services.ledger.this_month())
    a = stats.activities
    # held: 读书会 and 新媒体沙龙 (cancelled, future and October ones are not)
    assert (a.held, a.signups, a.attended, a.no_shows) == (2, 5, 3, 2)
    assert a.attendance_rate == 0.6


async def test_activity_figures_are_scoped_to_the_subtree(bot: BotRuntime) -> None:
    await _seeded(bot)
    assert bot.services is not None
    stats = await bot.services.ledger.stats(Scope(paths=("/1/2/",)), bot.services.ledger.this_year())
    a = stats.activities
    assert [x.title for x in a.activities] == ["October walk", "读书会"]
    assert (a.held, a.signups, a.attended, a.no_shows) == (2, 4, 3, 1)
    assert [(m.month, s, n) for m, s, n in a.monthly(stats.period)][9:11] == [(10, 1, 1), (11, 3, 2)]


async def test_feedback_figures_are_exact(bot: BotRuntime) -> None:
    await _seeded(bot)
    assert bot.services is not None
    ledger = bot.services.ledger
    f = (await ledger.stats(Scope(everything=True), ledger.this_month())).feedback
    assert f.by_kind() == {"suggestion": 2, "need": 1, "complaint": 1}
    assert (f.received, f.answered, f.overdue) == (4, 2, 1)
    assert median_hours(f.answer_seconds) == 7.0
    scoped = (await ledger.stats(Scope(paths=("/1/2/",)), ledger.this_month())).feedback
    assert (scoped.received, scoped.answered, scoped.overdue, median_hours(scoped.answer_seconds)) == (2, 1, 1, 10.0)


async def test_stats_message_shows_activity_and_feedback_lines(tg: FakeTelegram, bot: BotRuntime) -> None:
    await _seeded(bot)
    head = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await head.send("/stats")
    text = (await head.next_message()).text or ""
    assert "Activities: 2 held, 5 sign-ups, 3 attended, attendance rate 60.0%, 2 no-shows" in text
    assert "Feedback: 4 received (Complaint 1, Need / request for help 1, Suggestion 2), 2 answered" in text
    assert "median time to first answer 7.0 h, 1 overdue" in text


async def test_export_leaves_out_authors_of_anonymous_feedback(tg: FakeTelegram, bot: BotRuntime) -> None:
    await _seeded(bot)
    coordinator = tg.create_user("组长", user_id=GROUP_COORDINATOR, language_code="en")
    await coordinator.send("/export")
    await coordinator.wait_for(lambda m: "Export finished" in (m.text or ""), timeout=20)
    xlsx = await coordinator.download(next(m for m in coordinator.messages if m.document))
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    feedback = list(book["Feedback"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in feedback] == ["FB-2026-0001", "FB-2026-0002"]  # only the subtree
    anonymous = feedback[1]
    assert anonymous[6] == ANONYMOUS_BODY
    assert anonymous[3] == "Yes" and anonymous[4] is None and anonymous[5] is None
    assert "李娜" not in [str(v) for v in anonymous]
    assert feedback[0][4:6] == (1, "张伟")
    signups = list(book["Sign-ups"].iter_rows(min_row=2, values_only=True))
    assert sorted((r[0], r[2]) for r in signups) == [(1, 1), (1, 2), (1, 3), (1, 7), (5, 1)]
    results = list(book["Questionnaire results"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[5], r[6]) for r in results] == [(1, "0", 2), (1, "1", 1)]


async def test_member_sees_their_participation_record(tg: FakeTelegram, bot: BotRuntime) -> None:
    await _seeded(bot)
    member = tg.create_user("张伟", user_id=101, language_code="en")
    await member.send("/myrecord")
    text = (await member.next_message()).text or ""
    assert "Activities attended: 2 (signed up: 3), 4.0 hours in total" in text
    assert "Feedback given: 1 (Suggestion 1)" in text
    assert "2026-11-10 读书会" in text


async def test_cached_stats_follow_every_write(bot: BotRuntime) -> None:
    """/stats figures are cached by data version: a write in between is counted at once."""
    await _seeded(bot)
    assert bot.services is not None and bot.db is not None
    ledger = bot.services.ledger
    before = (await ledger.stats(Scope(everything=True), ledger.this_month())).activities.attended
    assert (await ledger.stats(Scope(everything=True), ledger.this_month())).activities.attended == before
    async with bot.db.transaction() as tx:
        await tx.execute(
            "UPDATE activity_signups SET checked_in_at = created_at WHERE activity_id = 2 AND member_id = 6"
        )
    assert (await ledger.stats(Scope(everything=True), ledger.this_month())).activities.attended == before + 1
