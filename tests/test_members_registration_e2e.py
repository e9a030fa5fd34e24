"""Registration, profile and data rights end to end (real Application, sandbox Telegram)."""

from __future__ import annotations

import json

import pytest

from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from tests.conftest import StartBot
from tests.members_helpers import see, seed_group, seed_member


@pytest.fixture(autouse=True)
def _bursty_chats(tg: FakeTelegram) -> None:
    # A scripted user answers instantly; real people pause between steps. Allow short bursts.
    tg.set_rate_limits(True, private_burst=100)




async def register(user: SandboxUser, name: str = "张伟", group: str | None = None) -> None:
    """Walk the whole registration flow with typical answers."""
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await see(user, "What is your name")
    await user.send(name)
    await user.press(await see(user, "Which category"), "Freelancers")
    await see(user, "Your organisation")
    await user.send("Studio 7")
    await user.press(await see(user, "Your position"), "Skip")
    exp = await see(user, "areas of expertise")
    await user.press(exp, "Law")
    exp = await user.wait_for(lambda m: "✅ Law" in m.buttons)
    await user.press(exp, "Done")
    await user.press(await see(user, "Your interests"), "Skip")
    await see(user, "Share your phone number")
    await user.press_reply_button("Share my phone number")
    if group is not None:
        groups = await see(user, "Which groups")
        await user.press(groups, lambda b: group in b["text"])
        groups = await user.wait_for(lambda m: any("✅" in b and group in b for b in m.buttons))
        await user.press(groups, "Done")
    await user.press(await see(user, "Please check your details"), "Confirm")


async def test_full_registration_stores_member_groups_and_expertise(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "陆家嘴金融城新联会")
    user = tg.create_user("Zhang", language_code="en")
    await register(user, group="陆家嘴金融城新联会")
    await see(user, "You are registered")
    row = await bot.db.fetchone("SELECT * FROM members WHERE user_id = ?", (user.id,))
    assert row is not None and row["name"] == "张伟" and row["status"] == "active"
    assert row["category"] == "freelancer" and row["organisation"] == "Studio 7" and row["position"] is None
    assert row["phone"].startswith("+86")
    assert await bot.db.fetchval("SELECT tag FROM member_expertise WHERE member_id = ?", (row["id"],)) == "law"
    assert await bot.db.fetchval("SELECT group_id FROM member_groups WHERE member_id = ?", (row["id"],)) == gid


async def test_nothing_is_stored_before_consent_and_declining_stores_nothing(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    user = tg.create_user("Li", language_code="en")
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "No, thanks")
    await see(user, "Nothing was stored")
    assert await bot.db.fetchval("SELECT COUNT(*) FROM members") == 0


async def test_second_start_shows_home_menu(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Wang", language_code="en")
    await register(user)
    await see(user, "You are registered")
    await user.send("/start")
    await see(user, "Welcome back")


async def test_registration_survives_a_restart(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot()
    user = tg.create_user("Liu", language_code="en")
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await see(user, "What is your name")
    await user.send("刘洋")
    await see(user, "Which category")
    await runtime.stop()
    runtime = await start_bot()
    await user.press(await see(user, "Which category"), "New-media practitioners")
    await see(user, "Your organisation")
    assert runtime.db is not None
    assert await runtime.db.fetchval("SELECT COUNT(*) FROM members") == 0


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("   ", "cannot be empty"),
        ("x" * 65, "too long"),
        ("bad\u0007name", "cannot store"),
        ("a\u202eb", "cannot store"),
    ],
)
async def test_bad_names_are_refused_politely_and_the_step_is_kept(
    tg: FakeTelegram, bot: BotRuntime, text: str, reply: str
) -> None:
    user = tg.create_user("Chen", language_code="en")
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await see(user, "What is your name")
    await user.send(text)
    await see(user, reply)
    await user.send("<b>陈静</b> 🌸 مرحبا")
    await see(user, "Which category")


async def test_markup_emoji_and_rtl_names_are_stored_and_shown_escaped(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Eve", language_code="en")
    await register(user, name="<i>x</i> & 🌸 مرحبا")
    await see(user, "You are registered")
    await user.send("/profile")
    card = await see(user, "Your profile")
    assert "<i>x</i> & 🌸 مرحبا" in (card.text or "")
    assert tg.counters.validation_errors == []


async def test_someone_elses_contact_is_refused(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Fang", language_code="en")
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await user.press(await see(user, "What is your name"), lambda b: "Use" in b["text"])
    await user.press(await see(user, "Which category"), "Other")
    await user.press(await see(user, "Your organisation"), "Skip")
    await user.press(await see(user, "Your position"), "Skip")
    await user.press(await see(user, "areas of expertise"), "Done")
    await user.press(await see(user, "Your interests"), "Skip")
    await see(user, "Share your phone number")
    await user.share_contact("+8613900000000", own=False, other_user_id=42)
    await see(user, "someone else's contact")
    await user.send("Skip")
    await user.press(await see(user, "Please check your details"), "Confirm")
    await see(user, "You are registered")
    assert bot.db is not None
    assert await bot.db.fetchval("SELECT phone FROM members WHERE user_id = ?", (user.id,)) is None


async def test_help_mid_registration_answers_and_keeps_the_step(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Gao", language_code="en")
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await see(user, "What is your name")
    await user.send("/help")
    await see(user, "Commands")
    await user.send("高明")
    await see(user, "Which category")


async def test_cancel_leaves_registration(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Hu", language_code="en")
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await see(user, "What is your name")
    await user.send("/cancel")
    await see(user, "Left the current step")
    await user.send("胡")
    await see(user, "didn't understand")


async def test_edit_from_summary_jumps_back_to_the_field(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Ma", language_code="en")
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await see(user, "What is your name")
    await user.send("马")
    await user.press(await see(user, "Which category"), "Other")
    await user.press(await see(user, "Your organisation"), "Skip")
    await user.press(await see(user, "Your position"), "Skip")
    await user.press(await see(user, "areas of expertise"), "Done")
    await user.press(await see(user, "Your interests"), "Skip")
    await see(user, "Share your phone number")
    await user.send("Skip")
    await user.press(await see(user, "Please check your details"), "Edit a field")
    await user.press(await see(user, "Which field"), "Name")
    await see(user, "What is your name")
    await user.send("马云飞")
    summary = await user.wait_for(lambda m: "Please check" in (m.text or "") and "马云飞" in (m.text or ""))
    await user.press(summary, "Confirm")
    await see(user, "You are registered")


async def test_profile_edit_uses_the_same_validation_and_saves(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed_member(bot.db, 0, "placeholder")  # another member: ids differ from user ids
    user = tg.create_user("Xu", language_code="en")
    await register(user, name="徐")
    await see(user, "You are registered")
    await user.send("/profile")
    await user.press(await see(user, "Your profile"), "Edit a field")
    await user.press(await see(user, "Which field"), "Organisation")
    await see(user, "Your organisation")
    await user.send("y" * 300)
    await see(user, "too long")
    await user.send("上海律所")
    profile = await user.wait_for(lambda m: "Your profile" in (m.text or "") and "上海律所" in (m.text or ""))
    await user.press(profile, "Save")
    await see(user, "profile is saved")
    assert await bot.db.fetchval("SELECT organisation FROM members WHERE user_id = ?", (user.id,)) == "上海律所"


async def test_mydata_sends_text_and_json(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Sun", language_code="en")
    await register(user, name="孙丽")
    await see(user, "You are registered")
    await user.send("/mydata")
    await see(user, "Everything stored about you")
    doc = await user.wait_for(lambda m: m.document is not None)
    data = json.loads(await user.download(doc))
    assert data["members"]["profile"]["name"] == "孙丽" and data["members"]["expertise"] == ["Law"]


async def test_forget_erases_personal_data_but_keeps_counts(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    user = tg.create_user("Zhao", language_code="en")
    await register(user, name="赵", group="花木街道新联会")
    await see(user, "You are registered")
    await user.send("/forget")
    await user.press(await see(user, "Erase your personal data"), "Yes, erase")
    await see(user, "personal data is erased")
    row = await bot.db.fetchone("SELECT * FROM members")
    assert row is not None and row["status"] == "erased" and row["name"] is None and row["user_id"] is None
    assert row["phone"] is None and row["category"] == "freelancer"
    assert await bot.db.fetchval("SELECT COUNT(*) FROM member_expertise") == 0
    assert await bot.db.fetchval("SELECT COUNT(*) FROM member_groups WHERE group_id = ?", (gid,)) == 1
    assert await bot.db.fetchval("SELECT COUNT(*) FROM bot_users WHERE user_id = ?", (user.id,)) == 0
    await user.send("/help")  # another update after the erasure must not bring the data back
    await see(user, "Commands")
    assert await bot.db.fetchval("SELECT COUNT(*) FROM ptb_user_data WHERE user_id = ?", (user.id,)) == 0
    assert await bot.db.fetchval("SELECT COUNT(*) FROM members WHERE name IS NOT NULL") == 0


async def test_leaving_a_group_and_the_association(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    await seed_group(bot.db, "花木街道新联会")
    user = tg.create_user("Qian", language_code="en")
    await register(user, name="钱", group="花木街道新联会")
    await see(user, "You are registered")
    await user.send("/start")
    groups = await user.press(await see(user, "Welcome back"), "My groups")
    await groups.answer()
    mine = await see(user, "Your groups")
    await user.press(mine, "Leave 花木街道新联会")
    await user.wait_for(lambda m: "Your groups" in (m.text or "") and "花木" not in (m.text or ""))
    await user.press(await see(user, "Your groups"), "Leave the association (end membership)")
    await user.press(await see(user, "Leave the association?"), "Yes, leave")
    await see(user, "You left the association")
    assert await bot.db.fetchval("SELECT status FROM members WHERE user_id = ?", (user.id,)) == "left"


async def test_phone_required_offers_no_skip_and_insists_on_the_button(tg: FakeTelegram, start_bot: StartBot) -> None:
    runtime = await start_bot(phone_required=True)
    user = tg.create_user("Ye", language_code="en")
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await user.press(await see(user, "What is your name"), lambda b: "Use" in b["text"])
    await user.press(await see(user, "Which category"), "Other")
    await user.press(await see(user, "Your organisation"), "Skip")
    await user.press(await see(user, "Your position"), "Skip")
    await user.press(await see(user, "areas of expertise"), "Done")
    await user.press(await see(user, "Your interests"), "Skip")
    await see(user, "Please share your phone number")
    labels = [b if isinstance(b, str) else b["text"] for row in (user.reply_keyboard or {})["keyboard"] for b in row]
    assert labels == ["Share my phone number"]
    await user.send("Skip")
    await see(user, "Please use the button below")
    await user.press_reply_button("Share my phone number")
    await user.press(await see(user, "Please check your details"), "Confirm")
    await see(user, "You are registered")
    assert runtime.db is not None
    assert await runtime.db.fetchval("SELECT phone FROM members WHERE user_id = ?", (user.id,))


async def test_owner_who_is_not_a_member_gets_home_and_can_opt_in(tg: FakeTelegram, bot: BotRuntime) -> None:
    from tests.conftest import OWNER_ID

    owner = tg.create_user("Boss", language_code="en", user_id=OWNER_ID)
    await owner.send("/start")
    await see(owner, "Send /register")
    await owner.send("/register")
    await see(owner, "Privacy notice")


async def test_input_a_step_does_not_take_is_answered_and_the_step_asked_again(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    user = tg.create_user("Hu", language_code="en")
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await see(user, "What is your name")
    await user.send_photo(b"\x89PNG selfie")
    await see(user, "does not fit this step")
    again = await user.wait_for(lambda m: "What is your name" in (m.text or "") and m is user.messages[-1])
    assert again.text is not None
    await user.send("胡")
    category = await see(user, "Which category")
    # a button of a later step (as if the bot had restarted a moment after showing it) is refused too
    answer = await (await user.press_data(category, "reg:skip")).answer()
    assert "does not fit" in (answer.text or "")
    await user.press(await user.wait_for(lambda m: "Which category" in (m.text or "") and bool(m.buttons)),
                     "Freelancers")
    await see(user, "Your organisation")
