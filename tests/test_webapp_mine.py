"""A member's own views in the Mini App (issue #20): the profile form and the feedback form with
attachments, through the same services as the chat's /profile and /feedback."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
from PIL import Image

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.factories import add_coordinator, add_group, add_member, bot_user, db_of
from tests.webapp_helpers import Api, init_data, mount

COORD, MEMBER = 5301, 5302


async def _world(tg: FakeTelegram, bot: BotRuntime) -> dict[str, int]:
    mount(tg, bot)
    db = db_of(bot)
    head = await add_group(db, "Head")
    branch = await add_group(db, "Branch", head)
    await bot_user(db, COORD, "en")
    await add_coordinator(db, COORD, branch)
    member = await add_member(db, MEMBER, "Mia", [branch], language="en", phone="+8613800000000",
                              expertise=["law"], organisation="Old Org")
    return {"branch": branch, "member": member}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


async def _upload(tg: FakeTelegram, auth: str, fields: dict[str, str],
                  files: list[tuple[str, str, bytes]]) -> tuple[int, Any]:
    form = aiohttp.FormData()
    for key, value in fields.items():
        form.add_field(key, value)
    for name, kind, data in files:
        form.add_field("file", io.BytesIO(data), filename=name, content_type=kind)
    async with aiohttp.ClientSession() as session, session.post(
        f"{tg.base}/webapp/api/mine/feedback", data=form, headers={"Authorization": f"tma {auth}"}
    ) as resp:
        return resp.status, (await resp.json() if resp.content_type == "application/json" else await resp.read())


async def test_a_member_edits_their_profile_from_the_mini_app(tg: FakeTelegram, bot: BotRuntime) -> None:
    ids = await _world(tg, bot)
    api = Api(tg, init_data(bot, MEMBER))
    status, mine = await api.get("mine/profile")
    assert status == 200 and mine["name"] == "Mia" and mine["expertise"] == ["law"]
    assert {c["key"] for c in mine["categories"]} >= {"enterprise", "freelancer"}
    status, saved = await api.post("mine/profile", {
        "name": "Mia Chen", "category": "freelancer", "organisation": "", "position": "Partner",
        "expertise": ["tax", "law"], "interests": "reading", "phone": "+1999"})
    assert (status, saved) == (200, {"saved": True})
    assert bot.services is not None
    member = await bot.services.members.get(ids["member"])
    assert member is not None
    assert (member.name, member.category, member.organisation, member.position) == (
        "Mia Chen", "freelancer", None, "Partner")
    assert set(member.expertise) == {"tax", "law"} and member.interests == "reading"
    assert member.phone == "+8613800000000"  # the phone is the one shared as a contact, not typed here
    # the chat's rules: an unknown category or tag, an empty name, a control character are refused
    for bad in ({"name": "Mia", "category": "spy"}, {"name": "Mia", "category": "other", "expertise": ["x"]},
                {"name": "  ", "category": "other"}, {"name": "Mi\u202ea", "category": "other"}):
        status, _ = await api.post("mine/profile", bad)
        assert status == 400, bad
    assert (await bot.services.members.get(ids["member"])).name == "Mia Chen"  # type: ignore[union-attr]
    # a coordinator without a member record has no profile here
    assert (await Api(tg, init_data(bot, COORD)).get("mine/profile"))[0] == 409


async def test_feedback_with_attachments_is_stored_like_the_chats(tg: FakeTelegram, bot: BotRuntime) -> None:
    await _world(tg, bot)
    mia = tg.create_user("Mia", language_code="en", user_id=MEMBER)
    mia.state.started = True
    auth = init_data(bot, MEMBER)
    status, sent = await _upload(tg, auth, {"kind": "need", "text": "The hall's door <is> broken", "anonymous": "0"},
                                 [("door.png", "image/png", _png()), ("plan.pdf", "application/pdf", b"%PDF-1.4 x")])
    assert status == 200, sent
    assert sent["attachments"] == 2 and sent["ref"].startswith("FB-")
    # the bot sent the files into Mia's own chat: those are the file ids stored with the item
    photo = await mia.wait_for(lambda m: bool(m.photo), timeout=5)
    document = await mia.wait_for(lambda m: m.document is not None, timeout=5)
    assert "<is>" in (photo.caption or "")  # a plain caption, the member's text as typed
    assert await mia.download(document) == b"%PDF-1.4 x"
    assert bot.services is not None
    coord = Api(tg, init_data(bot, COORD))
    status, board = await coord.get("feedback", status="new")
    assert [(i["ref"], i["attachments"]) for i in board["items"]] == [(sent["ref"], 2)]
    item, _ = await bot.services.feedback.view(await bot.services.roles.actor(COORD), board["items"][0]["id"])
    assert item.attachments == (("photo", photo.photo[-1]["file_id"]), ("document", document.document["file_id"]))


async def test_bad_uploads_are_refused_and_nothing_is_sent(tg: FakeTelegram, bot: BotRuntime) -> None:
    await _world(tg, bot)
    mia = tg.create_user("Mia", language_code="en", user_id=MEMBER)
    mia.state.started = True
    auth = init_data(bot, MEMBER)
    png = ("a.png", "image/png", _png())
    assert (await _upload(tg, auth, {"kind": "need", "text": "   "}, [png]))[0] == 400  # empty text
    assert (await _upload(tg, auth, {"kind": "nope", "text": "x"}, [png]))[0] == 400
    assert (await _upload(tg, auth, {"kind": "need", "text": "x"}, [png] * 11))[0] == 400  # more than the chat's 10
    big = ("big.bin", "application/octet-stream", b"\0" * (20 * 1024 * 1024 + 1))
    assert (await _upload(tg, auth, {"kind": "need", "text": "x"}, [big]))[0] == 413
    assert mia.messages == []  # nothing reached Mia's chat
    assert (await Api(tg, init_data(bot, MEMBER)).get("mine/feedback"))[1]["items"] == []
    # the daily limit is checked before any file is sent
    for n in range(5):
        assert (await Api(tg, auth).post("mine/feedback", {"kind": "need", "text": f"n{n}"}))[0] == 200
    status, refused = await _upload(tg, auth, {"kind": "need", "text": "one more"}, [png])
    assert status == 409 and refused["key"] == "fb.limit" and mia.messages == []
    # multipart is taken only where files are expected
    form = aiohttp.FormData()
    form.add_field("text", "hi")
    async with aiohttp.ClientSession() as session, session.post(
        f"{tg.base}/webapp/api/notices", data=form, headers={"Authorization": f"tma {auth}"}
    ) as resp:
        assert resp.status == 400
