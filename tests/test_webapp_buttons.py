"""`web_app` buttons where the chat points at desk work (issue #20): /manage, /queue, /stats and a
notice's status message open the Mini App at the matching view; without LIAISON_WEBAPP_URL they are
not shown. Through the sandbox (real Application, real HTTP)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandbox.driver import SandboxMessage
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID, StartBot
from tests.factories import add_group, add_member, db_of
from tests.webapp_helpers import Api, init_data, mount


def web_apps(message: SandboxMessage) -> list[dict[str, Any]]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [b for row in rows for b in row if "web_app" in b]


async def _desk_messages(tg: FakeTelegram, start_bot: StartBot, **settings: object) -> dict[str, SandboxMessage]:
    """/stats, /queue, /manage and a notice's status, as the owner sees them."""
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    owner.state.started = True
    bot = await start_bot(**settings)
    mount(tg, bot)
    db = db_of(bot)
    head = await add_group(db, "Head")
    await add_member(db, 6100, "Ann", [head], language="en")
    api = Api(tg, init_data(bot, OWNER_ID))
    assert bot.services is not None
    start = bot.services.clock.now() + timedelta(days=2)
    status, _ = await api.post("activities", {"title": "Tea", "place": "Hall", "starts_at": start.isoformat(),
                                              "ends_at": (start + timedelta(hours=1)).isoformat(),
                                              "group_ids": [head]})
    assert status == 200
    status, sent = await api.post("notices", {"text": "Hello all", "send": True})
    assert status == 200
    seen: dict[str, SandboxMessage] = {}
    for command in ("/stats", "/queue", "/manage"):
        await owner.send(command)
        seen[command] = await owner.next_message()
    await owner.send("/notices")
    listing = await owner.next_message()
    await owner.press(listing, lambda b: f"#{sent['id']}" in str(b.get("text", "")))
    seen["status"] = await owner.wait_for(lambda m: "Hello all" in (m.text or "") and bool(m.reply_markup), timeout=5)
    seen["notice_id"] = sent["id"]
    return seen


async def test_desk_work_messages_carry_a_web_app_button(tg: FakeTelegram, start_bot: StartBot) -> None:
    url = f"{tg.base}/webapp/"
    seen = await _desk_messages(tg, start_bot, LIAISON_WEBAPP_URL=url)
    expected = {"/stats": f"{url}?view=ledger", "/queue": f"{url}?view=feedback",
                "/manage": f"{url}?view=activities", "status": f"{url}?view=notices&id={seen['notice_id']}"}
    for where, target in expected.items():
        buttons = web_apps(seen[where])
        assert [b["web_app"]["url"] for b in buttons] == [target], where
        assert buttons[0]["text"] == "🗂 Open in the workspace"


async def test_no_web_app_button_without_the_url(tg: FakeTelegram, start_bot: StartBot) -> None:
    seen = await _desk_messages(tg, start_bot)
    for where in ("/stats", "/queue", "/manage", "status"):
        assert seen[where].reply_markup, where  # the usual buttons are there ...
        assert web_apps(seen[where]) == [], where  # ... the workspace's is not


async def test_no_web_app_button_outside_a_private_chat(tg: FakeTelegram, start_bot: StartBot) -> None:
    """Telegram accepts web_app buttons only in private chats: a keyboard for a group gets none."""
    from datetime import UTC, datetime

    from telegram import Chat, Message, Update, User

    from handlers.webapp import desk_rows

    bot = await start_bot(LIAISON_WEBAPP_URL=f"{tg.base}/webapp/")
    assert bot.services is not None
    tr = bot.services.catalog.for_lang("en")
    user = User(OWNER_ID, "Owner", False)

    def update_in(chat: Chat) -> Update:
        return Update(1, message=Message(1, datetime.now(UTC), chat, from_user=user, text="/stats"))

    private = desk_rows(bot.services, tr, "ledger", update_in(Chat(OWNER_ID, Chat.PRIVATE)))
    assert [b.web_app.url for row in private for b in row if b.web_app] == [f"{tg.base}/webapp/?view=ledger"]
    for kind in (Chat.GROUP, Chat.SUPERGROUP):
        assert desk_rows(bot.services, tr, "ledger", update_in(Chat(-100, kind))) == []
