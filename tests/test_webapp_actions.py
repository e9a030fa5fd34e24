"""The Mini App's actions end to end (through the same services as the chat, audited), and where it is
served: the webhook server in webhook mode, `LIAISON_WEBAPP_LISTEN` with long polling."""

from __future__ import annotations

import csv
import io
import socket
from datetime import timedelta

import aiohttp

from bot.roles import Actor, Role
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import StartBot
from tests.factories import add_coordinator, add_group, add_member, bot_user, db_of
from tests.webapp_helpers import Api, init_data, mount

COORD = 5101


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _status(url: str, auth: str | None) -> int:
    headers = {} if auth is None else {"Authorization": f"tma {auth}"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status


async def test_served_on_the_webhook_server(tg: FakeTelegram, start_bot: StartBot) -> None:
    port = _free_port()
    bot = await start_bot(webhook_url=f"http://127.0.0.1:{port}/telegram", webhook_secret="s3cret-Token_1-long",
                          listen=f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}/webapp"
    assert await _status(f"{base}/api/me", init_data(bot, 42)) == 200
    assert await _status(f"{base}/api/me", None) == 401
    assert await _status(f"{base}/", None) == 200  # the page itself needs no initData
    assert await _status(f"{base}/echarts.min.js", None) == 200
    assert await _status(f"{base}/../bot/config.py", None) == 404


async def test_served_on_its_own_listen_address_with_long_polling(tg: FakeTelegram, start_bot: StartBot) -> None:
    port = _free_port()
    bot = await start_bot(webapp_listen=f"127.0.0.1:{port}")
    assert await _status(f"http://127.0.0.1:{port}/webapp/api/me", init_data(bot, 42)) == 200
    assert await _status(f"http://127.0.0.1:{port}/webapp/api/me", "hash=00") == 401


async def _audit(bot: BotRuntime, action: str) -> int:
    return int(await db_of(bot).fetchval("SELECT COUNT(*) FROM audit_log WHERE action = ?", (action,)))


async def test_actions_go_through_the_services_and_are_audited(tg: FakeTelegram, bot: BotRuntime) -> None:
    mount(tg, bot)
    db = db_of(bot)
    head = await add_group(db, "Head")
    branch = await add_group(db, "Branch", head, requires_approval=True)
    await bot_user(db, COORD, "en")
    await add_coordinator(db, COORD, branch)
    coord_user = tg.create_user("Coord", language_code="en", user_id=COORD)
    coord_user.state.started = True
    alice_user = tg.create_user("Alice", language_code="en")
    alice = await add_member(db, alice_user.id, "Alice", [branch], language="en", organisation="Acme Media",
                             phone="013800138000")
    alice_user.state.started = True
    newcomer = await add_member(db, 7002, "Newcomer", [branch], status="pending")
    api = Api(tg, init_data(bot, COORD))
    # approvals
    status, waiting = await api.get("approvals")
    assert status == 200 and [r["member_id"] for r in waiting["items"]] == [newcomer]
    status, done = await api.post(f"approvals/{newcomer}/{branch}", {"approve": True})
    assert status == 200 and done == {"done": True}
    assert await _audit(bot, "member.approve") == 1
    # activities: create, edit, roster, check-in
    assert bot.services is not None
    start = bot.services.clock.now() + timedelta(days=2)
    status, made = await api.post("activities", {
        "title": "Tea", "place": "Hall", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(), "group_ids": [branch], "capacity": 10})
    assert status == 200, made
    status, edited = await api.post(f"activities/{made['id']}", {"title": "Tea & talk"})
    assert status == 200 and edited["done"] == "edited"
    await bot.services.activities.sign_up(alice_user.id, made["id"])
    status, roster = await api.get(f"activities/{made['id']}/roster")
    assert roster["activity"]["title"] == "Tea & talk" and [e["name"] for e in roster["items"]] == ["Alice"]
    # outside the check-in window a tap only asks (the chat's rule); "check in anyway" marks
    status, asked = await api.post(f"activities/{made['id']}/checkin/{alice}")
    assert status == 200 and asked["done"] == "outside_window" and asked["opens"]
    status, marked = await api.post(f"activities/{made['id']}/checkin/{alice}", {"confirm": True})
    assert (status, marked) == (200, {"done": "marked", "checked_in": True})
    status, roster = await api.get(f"activities/{made['id']}/roster")
    assert roster["items"][0]["checked_in"] is True and roster["items"][0]["status_label"] == "Signed up"
    status, exported = await api.post(f"activities/{made['id']}/export")
    assert (status, exported) == (200, {"sent": True, "rows": 1})
    sent = await coord_user.wait_for(lambda m: m.document is not None, timeout=5)
    data = await coord_user.download(sent)
    # the one roster builder (bot/activities/roster_file.py), as the chat's export: organisation, phone as text
    header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header[:6] == ["No.", "Name", "Organisation", "Phone", "Status", "Checked in?"]
    assert row[:6] == ["1", "Alice", "Acme Media", "013800138000", "Signed up", "Yes"]
    assert await _audit(bot, "activity.export") == 1
    assert await _audit(bot, "activity.create") == 1 and await _audit(bot, "activity.edit") == 1
    assert await _audit(bot, "activity.mark_attended") == 1
    # bad input is a 400, not a crash
    assert (await api.post("activities", {"title": "x", "starts_at": "tomorrow"}))[0] == 400
    # feedback: assign, note, answer (preview first), shown on the board by status
    member = Actor(alice_user.id, Role.MEMBER, alice, "active")
    item = (await bot.services.feedback.submit(member, "need", "A room for meetings", False, [])).id
    status, board = await api.get("feedback", status="new")
    assert [i["id"] for i in board["items"]] == [item]
    assert (await api.post(f"feedback/{item}/assign", {}))[0] == 200
    assert (await api.post(f"feedback/{item}/note", {"text": "asked the district"}))[0] == 200
    status, preview = await api.post(f"feedback/{item}/answer", {"text": "Room 3 is yours"})
    assert preview == {"preview": True, "text": "Room 3 is yours"}
    status, answered = await api.post(f"feedback/{item}/answer", {"text": "Room 3 is yours", "send": True})
    assert status == 200 and answered["status"] == "answered"
    message = await alice_user.wait_for(lambda m: "Room 3 is yours" in (m.text or ""), timeout=5)
    assert message is not None
    status, board = await api.get("feedback", status="answered")
    assert [i["id"] for i in board["items"]] == [item]
    # notices: audience count, preview, send, progress, nudge
    status, count = await api.post("notices/audience", {"group_ids": [branch]})
    assert count == {"count": 2}
    status, preview = await api.post("notices", {"text": "Hello branch", "group_ids": [branch]})
    assert preview == {"preview": True, "count": 2, "text": "Hello branch"}
    status, sent = await api.post("notices", {"text": "Hello branch", "group_ids": [branch], "send": True})
    assert status == 200 and sent["recipients"] == 2
    status, detail = await api.get(f"notices/{sent['id']}")
    assert detail["stats"]["recipients"] == 2 and detail["pending"]["total"] == 2
    status, nudged = await api.post(f"notices/{sent['id']}/nudge")
    assert (status, nudged) == (200, {"queued": 2}) and await _audit(bot, "notice.nudge") == 1
    # a refusal of the service comes back as its catalogue text
    status, refused = await api.post("notices", {"text": "", "group_ids": [branch], "send": True})
    assert status == 409 and refused["key"] == "notice.error.empty" and refused["text"]
