"""/audit: owners read recent privileged actions, filtered and paginated."""

from __future__ import annotations

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from storage.audit import record
from tests.conftest import OWNER_ID
from tests.ledger_helpers import HEAD_COORDINATOR, NOV, seed


async def _log(bot: BotRuntime, count: int) -> None:
    assert bot.db is not None
    async with bot.db.transaction() as tx:
        for i in range(count):
            action = "member.approve" if i % 2 == 0 else "notice.send"
            await record(tx, NOV, 500 + i % 3, action, "member", i, {"note": f"<x{i}>"})


async def test_owner_pages_through_the_audit_log(tg: FakeTelegram, bot: BotRuntime) -> None:
    await _log(bot, 25)
    owner = tg.create_user("Owner", user_id=OWNER_ID, language_code="en")
    await owner.send("/audit")
    first = await owner.next_message()
    assert "(25 entries)" in (first.text or "") and "#25 " in (first.text or "")
    await owner.press(first, "Next ▶")
    second = await owner.wait_for(lambda m: "2/3" in str(m.reply_markup) and "#15 " in (m.text or ""))
    assert "#16 " not in (second.text or "")
    assert tg.counters.validation_errors == []


async def test_audit_filters_by_action_prefix_and_actor(tg: FakeTelegram, bot: BotRuntime) -> None:
    await _log(bot, 12)
    owner = tg.create_user("Owner", user_id=OWNER_ID, language_code="en")
    await owner.send("/audit member. 500")
    text = (await owner.next_message()).text or ""
    # member.approve rows are the even i; actor 500 is i % 3 == 0: i in {0, 6}
    assert "(2 entries)" in text and "notice.send" not in text


async def test_audit_is_for_owners_only(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed(bot.db)
    coordinator = tg.create_user("Head", user_id=HEAD_COORDINATOR, language_code="en")
    await coordinator.send("/audit")
    assert "Audit log" not in ((await coordinator.next_message()).text or "")


async def test_bad_audit_arguments_get_usage(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner = tg.create_user("Owner", user_id=OWNER_ID, language_code="en")
    await owner.send("/audit <script>")
    assert "Usage: /audit" in ((await owner.next_message()).text or "")
