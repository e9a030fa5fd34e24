"""The Mini App's JSON API through the sandbox's port: authentication, scope and the actions."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID
from tests.factories import add_coordinator, add_group, add_member, bot_user, db_of
from tests.webapp_helpers import Api, init_data, mount

COORD_A, COORD_B, MEMBER = 5001, 5002, 5003


async def _world(tg: FakeTelegram, bot: BotRuntime) -> dict[str, int]:
    mount(tg, bot)
    db = db_of(bot)
    head = await add_group(db, "Head")
    a = await add_group(db, "Branch A", head)
    b = await add_group(db, "Branch B", head)
    for uid in (COORD_A, COORD_B, MEMBER):
        await bot_user(db, uid, "en")
    await add_coordinator(db, COORD_A, a)
    await add_coordinator(db, COORD_B, b)
    ids = {"head": head, "a": a, "b": b}
    ids["member"] = await add_member(db, MEMBER, "Mia Member", [a], expertise=["law"])
    ids["ma"] = await add_member(db, 6001, "Alan A", [a], expertise=["tax"])
    ids["mb"] = await add_member(db, 6002, "Bea B", [b], category="freelancer")
    return ids


def api(tg: FakeTelegram, bot: BotRuntime, user_id: int) -> Api:
    return Api(tg, init_data(bot, user_id))


async def test_authentication_valid_forged_expired_other_token_missing(tg: FakeTelegram, bot: BotRuntime) -> None:
    await _world(tg, bot)
    status, me = await api(tg, bot, COORD_A).get("me")
    assert status == 200 and me["role"] == "coordinator" and me["user_id"] == COORD_A
    good = init_data(bot, COORD_A)
    forged = good[:-4] + ("0000" if not good.endswith("0000") else "1111")
    cases = {
        "forged": forged,
        "expired": init_data(bot, COORD_A, age_s=86400 + 5),
        "other bot": init_data(bot, COORD_A, token="7000001:other"),
        "garbage": "user=%7B%22id%22%3A5001%7D&auth_date=1&hash=abc",
    }
    for name, raw in [*cases.items(), ("missing", None)]:
        for path in ("me", "members", "notices"):
            status, body = await Api(tg, raw).get(path)
            assert (status, body) == (401, b""), (name, path)
    # The 401 comes before routing: an unknown path is 401 too, not 404.
    assert await Api(tg, forged).get("nothing/here") == (401, b"")
    # A coordinator endpoint with a tampered user id (signature of another user) is refused.
    assert (await Api(tg, good.replace("5001", "5002")).get("me"))[0] == 401


async def test_max_age_is_configurable(tg: FakeTelegram, start_bot) -> None:  # type: ignore[no-untyped-def]
    bot = await start_bot(LIAISON_WEBAPP_MAX_AGE=120)
    await _world(tg, bot)
    assert (await Api(tg, init_data(bot, COORD_A, age_s=100)).get("me"))[0] == 200
    assert (await Api(tg, init_data(bot, COORD_A, age_s=130)).get("me"))[0] == 401


async def test_member_is_refused_coordinator_endpoints(tg: FakeTelegram, bot: BotRuntime) -> None:
    ids = await _world(tg, bot)
    member = api(tg, bot, MEMBER)
    status, me = await member.get("me")
    assert status == 200 and me["role"] == "member" and me["groups"] == []
    for path in ("members", f"members/{ids['ma']}", "approvals", "activities", "ledger", "notices", "feedback",
                 "notices/1", "activities/1/roster"):
        status, body = await member.get(path)
        assert status == 403 and body == {"error": "forbidden"}, path
    for path, body in (("notices", {"text": "hi", "send": True}), ("notices/audience", {}),
                       (f"approvals/{ids['ma']}/{ids['a']}", {"approve": True}), ("notices/1/nudge", {}),
                       ("ledger/export", {}), ("ledger/summary", {}), ("activities", {"title": "x"}),
                       ("activities/1/export", {}), (f"activities/1/checkin/{ids['ma']}", {}),
                       ("feedback/1/assign", {}), ("feedback/1/note", {"text": "x"})):
        status, _ = await member.post(path, body)
        assert status in (403, 404), path  # 404: the member may not even learn whether it exists
    for query in ({"status": "overdue"}, {"status": "new", "before": "99"}):
        assert (await member.get("feedback", **query))[0] == 403


async def test_coordinator_of_a_cannot_reach_branch_b(tg: FakeTelegram, bot: BotRuntime) -> None:
    ids = await _world(tg, bot)
    coord_a = api(tg, bot, COORD_A)
    status, page = await coord_a.get("members")
    assert status == 200 and {m["name"] for m in page["items"]} == {"Mia Member", "Alan A"}
    assert (await coord_a.get("members", group=ids["b"]))[0] == 403
    assert (await coord_a.get(f"members/{ids['mb']}"))[0] == 403
    status, card = await coord_a.get(f"members/{ids['ma']}")
    assert status == 200 and card["groups"] == ["Branch A"] and card["expertise"] == ["tax"]
    # filters
    status, page = await coord_a.get("members", expertise="law")
    assert [m["name"] for m in page["items"]] == ["Mia Member"]
    # notices: B's notice is not A's to see, nudge, or read the pending list of
    coord_b = api(tg, bot, COORD_B)
    status, sent = await coord_b.post("notices", {"text": "B only", "group_ids": [ids["b"]], "send": True})
    assert status == 200 and sent["recipients"] == 1
    assert (await coord_a.get(f"notices/{sent['id']}"))[0] == 403
    assert (await coord_a.post(f"notices/{sent['id']}/nudge"))[0] == 403
    status, listing = await coord_a.get("notices")
    assert listing["items"] == []
    # composing to branch B's group is refused for A
    assert (await coord_a.post("notices/audience", {"group_ids": [ids["b"]]}))[0] == 403
    assert (await coord_a.post("notices", {"text": "x", "group_ids": [ids["b"]], "send": True}))[0] == 403
    # activities: B's activity is not visible/manageable for A
    assert bot.services is not None
    start = bot.services.clock.now() + timedelta(days=3)
    body = {"title": "B meetup", "place": "Hall", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(), "group_ids": [ids["b"]]}
    assert (await coord_a.post("activities", body))[0] == 403
    status, made = await coord_b.post("activities", body)
    assert status == 200, made
    status, mine = await coord_a.get("activities")
    assert all(a["id"] != made["id"] for a in mine["items"])
    assert (await coord_a.get(f"activities/{made['id']}/roster"))[0] == 403
    assert (await coord_a.post(f"activities/{made['id']}", {"title": "taken"}))[0] == 403
    assert (await coord_a.post(f"activities/{made['id']}/checkin/{ids['mb']}"))[0] == 403
    assert (await coord_a.post(f"activities/{made['id']}/checkin/{ids['mb']}", {"confirm": True}))[0] == 403
    assert (await coord_a.post(f"activities/{made['id']}/export"))[0] == 403
    # feedback: B's item is not on A's board and cannot be answered by A
    db = db_of(bot)
    item = await _feedback(db, ids["mb"], ids["b"], bot)
    status, board = await coord_a.get("feedback")
    assert status == 200 and board["items"] == []
    assert (await coord_a.post(f"feedback/{item}/answer", {"text": "no", "send": True}))[0] in (403, 404)
    for action, body in (("assign", {}), ("note", {"text": "mine now"}), ("answer", {"text": "preview?"})):
        assert (await coord_a.post(f"feedback/{item}/{action}", body))[0] in (403, 404), action
    for status_column in ("new", "overdue", "assigned"):
        assert (await coord_a.get("feedback", status=status_column))[1]["items"] == []
    status, board_b = await coord_b.get("feedback")
    assert [i["id"] for i in board_b["items"]] == [item]
    # approvals of B are not A's
    assert (await coord_a.post(f"approvals/{ids['mb']}/{ids['b']}", {"approve": True}))[0] == 403


async def _feedback(db, member_id: int, group_id: int, bot: BotRuntime) -> int:  # type: ignore[no-untyped-def]
    assert bot.services is not None
    from bot.roles import Actor, Role

    actor = Actor(6002, Role.MEMBER, member_id, "active")
    created = await bot.services.feedback.submit(actor, "suggestion", "More evening events", False, [])
    return created.id


async def test_owner_sees_ledger_and_everything(tg: FakeTelegram, bot: BotRuntime) -> None:
    ids = await _world(tg, bot)
    owner = api(tg, bot, OWNER_ID)
    status, ledger = await owner.get("ledger")
    assert status == 200 and ledger["members"]["active"] == 3
    assert {g["name"] for g in ledger["by_group"]} >= {"Branch A", "Branch B"}
    status, ledger_a = await api(tg, bot, COORD_A).get("ledger")
    assert status == 200 and ledger_a["members"]["active"] == 2
    status, page = await owner.get("members", group=ids["b"])
    assert [m["name"] for m in page["items"]] == ["Bea B"]
    assert (await owner.get("ledger", period="bad"))[0] == 400
    status, month = await owner.get("ledger", period=ledger["periods"]["month"])
    assert status == 200 and month["period"]["code"] == ledger["periods"]["month"] != ledger["period"]["code"]


async def test_menu_button_and_desk_buttons_when_configured(tg: FakeTelegram, start_bot) -> None:  # type: ignore[no-untyped-def]
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    owner.state.started = True
    bot = await start_bot(LIAISON_WEBAPP_URL=f"{tg.base}/webapp/")
    menu = tg.api.menu_buttons[OWNER_ID]
    assert menu["type"] == "web_app" and menu["web_app"]["url"] == f"{tg.base}/webapp/"
    assert menu["text"] == "工作台"  # the default language: the owner has not written yet
    await owner.send("/desk")
    msg = await owner.next_message()
    assert tg.api.menu_buttons[OWNER_ID]["text"] == "Workspace"  # set again, in their language
    urls = [b["web_app"]["url"] for row in msg.reply_markup["inline_keyboard"] for b in row]
    assert urls == [f"{tg.base}/webapp/?view={v}" for v in ("ledger", "notices", "activities", "feedback", "members")]
    assert bot.webapp is not None


async def test_no_menu_button_or_desk_buttons_without_the_url(tg: FakeTelegram, bot: BotRuntime) -> None:
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/desk")
    msg = await owner.next_message()
    assert msg.reply_markup is None and "LIAISON_WEBAPP_URL" in msg.text
    assert OWNER_ID not in tg.api.menu_buttons


async def test_the_sandbox_signs_launch_data_the_bot_accepts(tg: FakeTelegram, bot: BotRuntime) -> None:
    import time
    from urllib.parse import parse_qsl

    import aiohttp

    from bot.app import SANDBOX_TOKEN
    from bot.webapp.auth import validate

    await _world(tg, bot)
    user = tg.create_user("Panel", language_code="en")
    async with aiohttp.ClientSession() as session, session.get(
        f"{tg.base}/sandbox/api/users/{user.id}/webapp", params={"theme": "dark"}
    ) as resp:
        launch = await resp.json()
    fields = dict(parse_qsl(launch["fragment"][1:]))
    signed = validate(fields["tgWebAppData"], SANDBOX_TOKEN, time.time(), 60)
    assert signed is not None and signed.user_id == user.id
    assert '"bg_color": "#212121"' in fields["tgWebAppThemeParams"]
    assert launch["menu_button"] == {"type": "default"}
    assert (await Api(tg, fields["tgWebAppData"]).get("me"))[0] == 200


async def test_bad_bodies_are_refused_plainly(tg: FakeTelegram, bot: BotRuntime) -> None:
    import aiohttp

    await _world(tg, bot)
    auth = {"Authorization": f"tma {init_data(bot, OWNER_ID)}"}
    url = f"{tg.base}/webapp/api/notices/audience"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=b"{not json", headers=auth) as resp:
            assert resp.status == 400
        async with session.post(url, data=b"[1]", headers=auth) as resp:
            assert resp.status == 400
        async with session.post(url, data=b"{" + b" " * 70_000 + b"}", headers=auth) as resp:
            assert resp.status == 413
        async with session.get(f"{tg.base}/webapp/api/members", params={"after": "x"}, headers=auth) as resp:
            assert resp.status == 400


async def test_a_member_sends_feedback_from_the_mini_app(tg: FakeTelegram, bot: BotRuntime) -> None:
    ids = await _world(tg, bot)
    member = api(tg, bot, MEMBER)
    status, mine = await member.get("mine/feedback")
    assert status == 200 and mine["items"] == [] and mine["remaining_today"] == 5
    status, sent = await member.post("mine/feedback", {"kind": "need", "text": "Evening events please"})
    assert status == 200 and sent["ref"].startswith("FB-")
    assert (await member.post("mine/feedback", {"kind": "bogus", "text": "x"}))[0] == 400
    assert (await member.post("mine/feedback", {"kind": "need", "text": "   "}))[0] == 400
    status, board = await api(tg, bot, COORD_A).get("feedback", status="new")
    assert [i["ref"] for i in board["items"]] == [sent["ref"]]
    status, board_b = await api(tg, bot, COORD_B).get("feedback", status="new")
    assert board_b["items"] == [] and ids["b"]
    # a coordinator who is not a member has no own feedback form
    assert (await api(tg, bot, COORD_A).get("mine/feedback"))[0] == 403
