"""Defects of issue #15 in the members feature, end to end (each failed before the restructuring)."""

from __future__ import annotations

import json

import pytest

from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from tests.members_helpers import see, seed_coordinator, seed_group, seed_member


@pytest.fixture(autouse=True)
def _bursty_chats(tg: FakeTelegram) -> None:
    tg.set_rate_limits(True, private_burst=100)




def rejected_edits(tg: FakeTelegram) -> list[tuple[str, str]]:
    return [e for e in tg.counters.validation_errors if "not modified" in e[1]]


async def to_expertise(user: SandboxUser) -> SandboxMessage:
    await user.send("/start")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await see(user, "What is your name")
    await user.send("双击")
    await user.press(await see(user, "Which category"), "Other")
    await user.press(await see(user, "Your organisation"), "Skip")
    await user.press(await see(user, "Your position"), "Skip")
    return await see(user, "areas of expertise")


# --- #1 flows collide ---------------------------------------------------------------------------------
async def test_feedback_after_an_unfinished_profile_edit_takes_the_suggestion(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    user = tg.create_user("Lin", language_code="en")
    await seed_member(bot.db, user.id, "林", group_ids=[gid])
    await user.send("/profile")
    await user.press(await see(user, "Your profile"), "Edit a field")
    await user.press(await see(user, "Which field"), "Organisation")
    await see(user, "Your organisation")
    await user.send("/feedback")  # the profile edit is left unfinished
    await user.press(await see(user, "What kind of feedback"), "Suggestion")
    await see(user, "Please write your text")
    await user.send("More evening activities please")
    await user.wait_for(lambda m: "You may send photos" in (m.text or ""))
    assert await bot.db.fetchval("SELECT organisation FROM members WHERE user_id = ?", (user.id,)) is None


async def test_one_cancel_ends_an_unfinished_profile_edit(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    user = tg.create_user("Kong", language_code="en")
    await seed_member(bot.db, user.id, "孔")
    await user.send("/profile")
    await user.press(await see(user, "Your profile"), "Edit a field")
    await user.press(await see(user, "Which field"), "Organisation")
    await see(user, "Your organisation")
    await user.send("/cancel")
    await see(user, "Left the current step")
    await user.send("Acme Ltd")
    await see(user, "didn't understand")
    assert await bot.db.fetchval("SELECT organisation FROM members WHERE user_id = ?", (user.id,)) is None


async def test_one_cancel_after_profile_edit_and_feedback_ends_both(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    user = tg.create_user("Two", language_code="en")
    await seed_member(bot.db, user.id, "两次", group_ids=[gid])
    await user.send("/profile")
    await user.press(await see(user, "Your profile"), "Edit a field")
    await user.press(await see(user, "Which field"), "Organisation")
    await see(user, "Your organisation")
    await user.send("/feedback")
    await user.press(await see(user, "What kind of feedback"), "Suggestion")
    await see(user, "Please write your text")
    await user.send("/cancel")  # once
    await see(user, "Left the current step")
    await user.send("Acme Ltd")
    await see(user, "didn't understand")
    assert await bot.db.fetchval("SELECT organisation FROM members WHERE user_id = ?", (user.id,)) is None
    assert await bot.db.fetchval("SELECT COUNT(*) FROM feedback_items") == 0


# --- #2 what the picker shows is what is stored -------------------------------------------------------
async def test_double_tapped_expertise_shows_what_is_stored(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    user = tg.create_user("Tap", language_code="en")
    picker = await to_expertise(user)
    a = await user.press(picker, "Law")
    b = await user.press(picker, "Law")  # a double tap: both presses carry the screen without a tick
    await a.answer()
    await b.answer()
    await user.send("/help")  # handled after both presses (one user's updates are handled in order)
    await see(user, "Commands")
    shown = await user.wait_for(lambda m: m.message_id == picker.message_id)
    assert [b for b in shown.buttons if "✅" in b] == []  # toggled twice: nothing chosen, nothing shown
    await user.press(shown, "Done")
    await user.press(await see(user, "Your interests"), "Skip")
    await see(user, "Share your phone number")
    await user.send("Skip")
    summary = await see(user, "Please check your details")
    assert "Expertise: —" in (summary.text or "")
    await user.press(summary, "Confirm")
    await see(user, "You are registered")
    assert await bot.db.fetchval("SELECT COUNT(*) FROM member_expertise") == 0
    assert rejected_edits(tg) == []


async def test_stale_taps_on_the_consent_message_send_no_rejected_edit(tg: FakeTelegram, bot: BotRuntime) -> None:
    user = tg.create_user("Stale", language_code="en")
    await user.send("/start")
    consent = await see(user, "Privacy notice")
    a = await user.press(consent, "I agree")
    b = await user.press(consent, "I agree")  # a double tap: both carry the consent screen
    await a.answer()
    await b.answer()
    await see(user, "What is your name")
    await user.send("旧按钮")
    await see(user, "Which category")
    stale = await user.press_data(consent, "reg:consent:yes")  # the old consent button, again
    await stale.answer()
    await user.press(await user.wait_for(lambda m: "Which category" in (m.text or "") and bool(m.buttons)), "Other")
    await see(user, "Your organisation")
    assert rejected_edits(tg) == []
    assert tg.counters.validation_errors == []


# --- #3 scope -----------------------------------------------------------------------------------------
async def _two_branches(bot: BotRuntime) -> tuple[int, int, int]:
    assert bot.db is not None
    root = await seed_group(bot.db, "浦东新联总会", "head")
    a = await seed_group(bot.db, "花木街道新联会", parent_id=root)
    b = await seed_group(bot.db, "陆家嘴金融城新联会", parent_id=root)
    return root, a, b


async def test_directory_filter_by_a_group_outside_scope_is_refused(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    _root, a, b = await _two_branches(bot)
    await seed_member(bot.db, 6101, "两边", group_ids=[a, b])
    await seed_member(bot.db, 6102, "只在甲", group_ids=[a])
    coord = tg.create_user("CoordA", language_code="en")
    await seed_coordinator(bot.db, coord.id, a)
    await coord.send(f"/members group={b}")
    reply = await coord.next_message()
    assert "两边" not in reply.buttons and "found" not in (reply.text or "")
    assert "not allowed" in (reply.text or "")
    await coord.send("/members")
    listing = await see(coord, "2 found")
    forged = await coord.press_data(listing, f"dirf:grp:{b}")
    assert (await forged.answer()).show_alert
    latest = await coord.wait_for(lambda m: m.message_id == listing.message_id)
    assert "2 found" in (latest.text or "")


async def test_member_card_lists_only_groups_inside_the_scope(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    _root, a, b = await _two_branches(bot)
    await seed_member(bot.db, 6201, "两边", group_ids=[a, b])
    coord = tg.create_user("CoordA", language_code="en")
    await seed_coordinator(bot.db, coord.id, a)
    await coord.send("/members")
    await coord.press(await see(coord, "1 found"), "两边")
    card = await see(coord, "Participation")
    assert "花木街道新联会" in (card.text or "") and "陆家嘴" not in (card.text or "")


async def test_approvals_list_and_decide_only_within_scope(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    root = await seed_group(bot.db, "浦东新联总会", "head")
    a = await seed_group(bot.db, "花木街道新联会", parent_id=root, requires_approval=True)
    b = await seed_group(bot.db, "陆家嘴金融城新联会", parent_id=root, requires_approval=True)
    in_a = await seed_member(bot.db, 6301, "甲申请", group_ids=[a], status="pending")
    in_b = await seed_member(bot.db, 6302, "乙申请", group_ids=[b], status="pending")
    coord = tg.create_user("CoordA", language_code="en")
    await seed_coordinator(bot.db, coord.id, a)
    await coord.send("/approvals")
    listing = await see(coord, "Pending requests")
    assert "甲申请" in (listing.text or "") and "乙申请" not in (listing.text or "")
    forged = await coord.press_data(listing, f"appr:ok:{in_b}:{b}")
    assert (await forged.answer()).show_alert
    forged = await coord.press_data(listing, f"appr:ok:{in_b}:{a}")  # a group in scope, a member who is not
    await forged.answer()
    assert await bot.db.fetchval("SELECT status FROM members WHERE id = ?", (in_b,)) == "pending"
    assert await bot.db.fetchval("SELECT COUNT(*) FROM member_groups WHERE member_id = ?", (in_b,)) == 1
    await coord.press(listing, "Approve 甲申请")
    await see(coord, "Approved 甲申请")
    assert await bot.db.fetchval("SELECT status FROM members WHERE id = ?", (in_a,)) == "active"


# --- #4 words, not keys -------------------------------------------------------------------------------
async def test_mydata_json_shows_words_not_keys(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    user = tg.create_user("Words", language_code="en")
    await seed_member(bot.db, user.id, "文字", "new_media", group_ids=[gid], expertise=("law", "it"))
    await user.send("/mydata")
    text = await see(user, "Everything stored about you")
    assert "New-media practitioners" in (text.text or "")
    assert "Groups: 花木街道新联会 (member)" in (text.text or "")  # the membership's status in words
    doc = await user.wait_for(lambda m: m.document is not None)
    raw = (await user.download(doc)).decode("utf-8")
    data = json.loads(raw)
    profile = data["members"]["profile"]
    assert profile["category"] == "New-media practitioners"
    assert profile["status"] == "active" and profile["name"] == "文字"
    assert data["members"]["expertise"] == ["IT", "Law"]
    groups = data["members"]["groups"]
    assert groups == [{"group": "花木街道新联会", "kind": "local group", "status": "member"}]
    assert "new_media" not in raw and "花木街道新联会" in raw  # ensure_ascii=False: words as they are


async def test_directory_filters_and_group_screen_use_words(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    root = await seed_group(bot.db, "浦东新联总会", "head")
    await seed_member(bot.db, 6401, "甲", "intermediary", group_ids=[root])
    coord = tg.create_user("Head", language_code="en")
    await seed_coordinator(bot.db, coord.id, root)
    await coord.send("/members")
    await coord.press(await see(coord, "1 found"), "甲")
    card = await see(coord, "Participation")
    assert "Staff of intermediary and social organisations" in (card.text or "")
    assert "Status: active" in (card.text or "")
    assert "intermediary:" not in (card.text or "") and "label." not in (card.text or "")
    await coord.send("/groups")
    await coord.press(await see(coord, "Choose one to manage it"), "浦东新联总会")
    detail = await see(coord, "Approval required")
    assert "head association" in (detail.text or "")


async def test_a_command_closes_the_profile_edit_and_keeps_its_draft(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    user = tg.create_user("Draft", language_code="en")
    await seed_member(bot.db, user.id, "草稿")
    await user.send("/profile")
    await user.press(await see(user, "Your profile"), "Edit a field")
    await user.press(await see(user, "Which field"), "Organisation")
    await see(user, "Your organisation")
    await user.send("Acme Ltd")
    await user.wait_for(lambda m: "Your profile" in (m.text or "") and "Acme Ltd" in (m.text or ""))
    await user.send("/mydata")  # another command: the edit is closed, its draft kept
    await see(user, "its draft is kept")
    await see(user, "Everything stored about you")
    assert await bot.db.fetchval("SELECT organisation FROM members WHERE user_id = ?", (user.id,)) is None
    await user.send("/profile")
    again = await user.wait_for(lambda m: m is user.messages[-1] and "Your profile" in (m.text or ""))
    assert "Acme Ltd" in (again.text or "")
    await user.press(again, "Save")
    await see(user, "profile is saved")
    assert await bot.db.fetchval("SELECT organisation FROM members WHERE user_id = ?", (user.id,)) == "Acme Ltd"
