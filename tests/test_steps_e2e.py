"""Step journal (handlers/steps.py): a conversation restarted one step behind what the chat shows
never takes the answer as the previous step's value; it asks the current step again."""

from __future__ import annotations

from bot.config import Settings
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID, StartBot
from tests.notices_helpers import add_group, db_of, members
from tests.steps_helpers import set_state, stored_state, user_data

INTERRUPTED = "last step was interrupted"


async def test_notice_compose_behind_after_restart_asks_the_audience_again(
    tg: FakeTelegram, start_bot: StartBot, settings: Settings
) -> None:
    from handlers.notices import AUDIENCE, WRITE

    tg.set_rate_limits(True, private_burst=10)
    runtime = await start_bot()
    db = db_of(runtime)
    head = await add_group(db, "Head")
    await members(tg, db, 2, [await add_group(db, "Local", head)])
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    owner.state.started = True
    await owner.send("/notice")
    await owner.next_message()
    await owner.send("Study day on Friday")
    await owner.next_message()  # who should get it?
    await runtime.stop()
    path = settings.db_path
    assert stored_state(path, "notice", OWNER_ID) == AUDIENCE
    assert user_data(path, OWNER_ID)["steps"]["notice"] == AUDIENCE  # written before the question
    set_state(path, "notice", OWNER_ID, WRITE)  # killed after the reply, before PTB's flush

    runtime = await start_bot()
    await owner.send("Everyone please")  # meant for the audience question, arrives in WRITE
    assert INTERRUPTED in (await owner.next_message()).text
    ask = await owner.next_message()
    assert "Who should receive" in ask.text
    await owner.press(ask, "Everyone")
    await owner.next_message()  # the preview
    control = await owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in m.text)
    await owner.press(control, "Send now")
    await owner.wait_for(lambda m: m.message_id == control.message_id and "Delivery report" in m.text)
    texts = [str(r["text"]) for r in await db_of(runtime).fetchall("SELECT text FROM notices")]
    assert texts == ["Study day on Friday"]
