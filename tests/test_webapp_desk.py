"""The Mini App's desk work over the API (issue #20): server-side paging of the long lists, the
台账's documents sent to the coordinator's chat, the roster's check-in toggle with the chat's window
rule, and "not acknowledged" by group over the whole notice."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.clock import FakeClock
from bot.roles import Actor, Role
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID
from tests.factories import add_coordinator, add_group, add_member, bot_user, db_of
from tests.webapp_helpers import Api, init_data, mount

COORD_A, COORD_B, MEMBER = 5201, 5202, 5203


async def _branches(tg: FakeTelegram, bot: BotRuntime) -> dict[str, int]:
    mount(tg, bot)
    db = db_of(bot)
    head = await add_group(db, "Head")
    a = await add_group(db, "Branch A", head, requires_approval=True)
    b = await add_group(db, "Branch B", head)
    for uid in (COORD_A, COORD_B):
        await bot_user(db, uid, "en")
    await add_coordinator(db, COORD_A, a)
    await add_coordinator(db, COORD_B, b)
    return {"head": head, "a": a, "b": b}


def _api(tg: FakeTelegram, bot: BotRuntime, user_id: int) -> Api:
    return Api(tg, init_data(bot, user_id))


async def _all_pages(api: Api, path: str, cursor: str, **query: Any) -> tuple[list[dict[str, Any]], list[int]]:
    items: list[dict[str, Any]] = []
    totals: list[int] = []
    after: Any = None
    for _ in range(20):
        params = dict(query) | ({} if after is None else {cursor: after})
        status, page = await api.get(path, **params)
        assert status == 200, page
        items += page["items"]
        totals.append(page["total"])
        after = page["next"]
        if after is None:
            break
    return items, totals


async def test_the_directory_pages_by_key_over_the_whole_scope(tg: FakeTelegram, bot: BotRuntime) -> None:
    ids = await _branches(tg, bot)
    db = db_of(bot)
    names = [f"Name {i:03d}" for i in range(120)]
    for i, name in enumerate(names):  # two members share each name: the key is (name, id)
        await add_member(db, None, name[:-1], [ids["a"]] if i % 3 else [ids["b"]])
    coord_a = _api(tg, bot, COORD_A)
    items, totals = await _all_pages(coord_a, "members", "after")
    in_a = [f"Name {i:03d}"[:-1] for i in range(120) if i % 3]
    assert len(items) == len(in_a) == 80 and len({m["id"] for m in items}) == 80  # none twice, none lost
    assert [m["name"] for m in items] == sorted(in_a)
    assert set(totals) == {80} and len(totals) == 2  # 50 + 30, the total on every page
    # a filter pages the same way, and a forged cursor is a plain 400
    items, _ = await _all_pages(_api(tg, bot, OWNER_ID), "members", "after", group=ids["b"])
    assert len(items) == 40
    assert (await coord_a.get("members", after='["x"]'))[0] == 400
    assert (await coord_a.get("members", after=json.dumps(["x", True])))[0] == 400


async def test_the_total_is_counted_again_after_a_write(tg: FakeTelegram, bot: BotRuntime) -> None:
    ids = await _branches(tg, bot)
    db = db_of(bot)
    await add_member(db, None, "First", [ids["a"]])
    coord_a = _api(tg, bot, COORD_A)
    assert (await coord_a.get("members"))[1]["total"] == 1
    await add_member(db, None, "Second", [ids["a"]])
    _status, page = await coord_a.get("members")
    assert page["total"] == 2 and [m["name"] for m in page["items"]] == ["First", "Second"]


async def test_join_requests_page_by_key(tg: FakeTelegram, bot: BotRuntime) -> None:
    ids = await _branches(tg, bot)
    db = db_of(bot)
    for i in range(55):
        await add_member(db, None, f"Applicant {i:02d}", [ids["a"]], status="pending",
                         at=f"2026-01-01T00:{i % 7:02d}:00.000000Z")
    await add_member(db, None, "Elsewhere", [ids["b"]], status="pending")
    items, totals = await _all_pages(_api(tg, bot, COORD_A), "approvals", "after")
    assert len(items) == 55 and len({i["member_id"] for i in items}) == 55
    assert set(totals) == {55}
    assert all(i["group_id"] == ids["a"] for i in items)


async def test_the_feedback_board_pages_by_column_and_the_overdue_column_is_a_filter(
    tg: FakeTelegram, bot: BotRuntime, clock: FakeClock
) -> None:
    ids = await _branches(tg, bot)
    db = db_of(bot)
    assert bot.services is not None
    refs = []
    for i in range(25):
        member = await add_member(db, 7000 + i, f"Author {i}", [ids["a"]])
        actor = Actor(7000 + i, Role.MEMBER, member, "active")
        refs.append((await bot.services.feedback.submit(actor, "need", f"Need {i}", False, [])).ref)
    coord_a = _api(tg, bot, COORD_A)
    items, totals = await _all_pages(coord_a, "feedback", "before", status="new")
    assert [i["ref"] for i in items] == refs[::-1] and set(totals) == {25}
    assert items[0]["groups"] == ["Branch A"] and items[0]["author"] == "Author 24"
    assert (await _api(tg, bot, COORD_B).get("feedback", status="new"))[1]["items"] == []
    _status, late = await coord_a.get("feedback", status="overdue")
    assert late["items"] == [] and late["total"] == 0
    clock.advance(timedelta(days=30))  # every item is now past its target time
    items, _ = await _all_pages(coord_a, "feedback", "before", status="overdue")
    assert len(items) == 25 and all(i["overdue"] for i in items)


async def test_ledger_documents_are_sent_to_the_coordinators_chat_and_audited(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    ids = await _branches(tg, bot)
    db = db_of(bot)
    await add_member(db, None, "Alan A", [ids["a"]])
    coord = tg.create_user("Coord A", language_code="en", user_id=COORD_A)
    coord.state.started = True
    api = _api(tg, bot, COORD_A)
    status, sent = await api.post("ledger/export")
    assert status == 200 and sent["sent"] is True and sent["file"].endswith(".xlsx")
    workbook = await coord.wait_for(lambda m: m.document is not None, timeout=5)
    assert (await coord.download(workbook))[:2] == b"PK"  # an XLSX is a zip
    status, ledger = await api.get("ledger")
    status, sent = await api.post("ledger/summary", {"period": ledger["periods"]["month"]})
    assert status == 200 and sent["file"] == f"summary-{ledger['periods']['month']}.pdf"
    pdf = await coord.wait_for(lambda m: m.document is not None and m.document.get("file_name", "").endswith(".pdf"),
                               timeout=5)
    assert (await coord.download(pdf)).startswith(b"%PDF")
    rows = await db.fetchall("SELECT actor_user_id, action FROM audit_log WHERE action LIKE 'ledger.%' ORDER BY id")
    assert [(r["actor_user_id"], r["action"]) for r in rows] == [(COORD_A, "ledger.export"),
                                                                 (COORD_A, "ledger.summary")]
    assert (await api.post("ledger/summary", {"period": "nonsense"}))[0] == 400
    # a member cannot ask for them
    member_id = await add_member(db, MEMBER, "Mia", [ids["a"]])
    assert member_id
    for path in ("ledger/export", "ledger/summary"):
        assert (await _api(tg, bot, MEMBER).post(path))[0] == 403


async def test_check_in_toggles_with_the_chats_window_rule(tg: FakeTelegram, bot: BotRuntime,
                                                           clock: FakeClock) -> None:
    ids = await _branches(tg, bot)
    db = db_of(bot)
    assert bot.services is not None
    alice_user = tg.create_user("Alice", language_code="en")
    alice = await add_member(db, alice_user.id, "Alice", [ids["a"]], language="en")
    api = _api(tg, bot, COORD_A)
    start = clock.now() + timedelta(days=1)
    status, made = await api.post("activities", {
        "title": "Tea", "place": "Hall", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(), "group_ids": [ids["a"]]})
    assert status == 200, made
    await bot.services.activities.sign_up(alice_user.id, made["id"])
    path = f"activities/{made['id']}/checkin/{alice}"
    # a day before: the window is closed, the tap only asks
    status, asked = await api.post(path)
    assert asked["done"] == "outside_window" and not asked["checked_in"]
    assert (await api.get(f"activities/{made['id']}/roster"))[1]["items"][0]["checked_in"] is False
    # in the window: a tap marks, a second tap undoes, a third marks again
    clock.set(start - timedelta(minutes=10))
    assert (await api.post(path))[1] == {"done": "marked", "checked_in": True}
    assert (await api.get(f"activities/{made['id']}/roster"))[1]["items"][0]["checked_in"] is True
    assert (await api.post(path))[1] == {"done": "unmarked", "checked_in": False}
    assert (await api.get(f"activities/{made['id']}/roster"))[1]["items"][0]["checked_in"] is False
    assert (await api.post(path))[1]["done"] == "marked"
    rows = await db.fetchall("SELECT action FROM audit_log WHERE action LIKE 'activity.%mark%' ORDER BY id")
    assert [r["action"] for r in rows] == ["activity.mark_attended", "activity.unmark_attended",
                                           "activity.mark_attended"]
    # branch B's coordinator cannot toggle it
    assert (await _api(tg, bot, COORD_B).post(path))[0] == 403


async def test_not_acknowledged_by_group_counts_every_page(tg: FakeTelegram, bot: BotRuntime) -> None:
    ids = await _branches(tg, bot)
    db = db_of(bot)
    west = await add_group(db, "West", ids["a"])
    east = await add_group(db, "East", ids["a"])
    for i in range(70):
        await add_member(db, 8000 + i, f"Recipient {i:02d}", [west if i < 60 else east], language="en")
    api = _api(tg, bot, COORD_A)
    status, sent = await api.post("notices", {"text": "Please confirm", "group_ids": [ids["a"]], "send": True})
    assert status == 200 and sent["recipients"] == 70
    status, detail = await api.get(f"notices/{sent['id']}")
    pending = detail["pending"]
    assert pending["total"] == 70 and len(pending["items"]) == 50  # the list is paged ...
    assert pending["by_group"] == {"West": 60, "East": 10}  # ... the counts are not
    assert bot.services is not None
    await bot.services.notices.ack(8000, sent["id"])  # the member's 已阅 button, as the chat records it
    status, detail = await api.get(f"notices/{sent['id']}")
    assert detail["pending"]["by_group"] == {"West": 59, "East": 10}



async def test_the_notices_list_shows_each_notices_figures(tg: FakeTelegram, bot: BotRuntime) -> None:
    ids = await _branches(tg, bot)
    db = db_of(bot)
    for i in range(3):
        await add_member(db, 8100 + i, f"Reader {i}", [ids["a"]], language="en")
    api = _api(tg, bot, COORD_A)
    made = []
    for n in range(17):
        status, sent = await api.post("notices", {"text": f"Notice {n}", "group_ids": [ids["a"]], "send": True})
        assert status == 200
        made.append(sent["id"])
    assert bot.services is not None
    await bot.services.notices.ack(8100, made[-1])
    await bot.services.notices.ack(8101, made[-1])
    status, listing = await api.get("notices")
    coordinator = await bot.services.roles.actor(COORD_A)
    chat_list = await bot.services.notices.listing(coordinator)  # the chat's /notices: the latest 15
    assert [n["id"] for n in listing["items"]] == [r.id for r in chat_list] and listing["total"] == 15
    for n in listing["items"]:  # counted for the page at once, the same figures as the chat's status
        _, stats = await bot.services.notices.stats(coordinator, n["id"])
        assert (n["recipients"], n["delivered"], n["failed"], n["acknowledged"]) == (
            stats.recipients, stats.delivered, stats.failed, stats.acknowledged)
    assert listing["items"][0]["id"] == made[-1] and listing["items"][0]["acknowledged"] == 2
    assert listing["items"][0]["recipients"] == 3
    assert (await _api(tg, bot, COORD_B).get("notices"))[1]["items"] == []
