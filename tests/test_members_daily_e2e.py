"""Issue #17 items of registration, end to end through the sandbox."""

from __future__ import annotations

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.members_helpers import see, seed_group


async def test_group_picker_grouped_by_kind_and_the_final_message_says_what_is_pending(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    assert bot.db is not None
    await seed_group(bot.db, "Pudong", kind="local")
    await seed_group(bot.db, "Photo club", kind="club", requires_approval=True)
    user = tg.create_user("Zhang", language_code="en")
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await see(user, "What is your name")
    await user.send("张伟")
    await user.press(await see(user, "Which category"), "Freelancers")
    await user.press(await see(user, "Your organisation"), "Skip")
    await user.press(await see(user, "Your position"), "Skip")
    await user.press(await see(user, "areas of expertise"), "Done")
    await user.press(await see(user, "Your interests"), "Skip")
    await see(user, "Share your phone number")
    await user.press_reply_button("Share my phone number")
    picker = await see(user, "Which groups")
    buttons = picker.buttons
    local, club = buttons.index("— local group —"), buttons.index("— interest club —")
    assert local < buttons.index("Pudong") < club < buttons.index("Photo club (needs approval)")
    await user.press(picker, "Photo club (needs approval)")
    picker = await user.wait_for(lambda m: "✅ Photo club (needs approval)" in m.buttons)
    await user.press(picker, "Done")
    await user.press(await see(user, "Please check your details"), "Confirm")
    done = await see(user, "Waiting for approval: Photo club")
    assert "/profile" in (done.text or "") or "/activities" in (done.text or "")
