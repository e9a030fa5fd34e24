"""Issue #17 items of registration, end to end through the sandbox."""

from __future__ import annotations

from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID, StartBot
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


async def test_profile_offers_save_only_after_an_edit_and_has_back(tg: FakeTelegram, bot: BotRuntime) -> None:
    from tests.members_helpers import seed_member

    assert bot.db is not None
    user = tg.create_user("Xu", language_code="zh-hans")
    await seed_member(bot.db, user.id, "徐")
    await user.send("/profile")
    profile = await see(user, "资料")
    assert "保存" not in profile.buttons and "↩️ 返回" in profile.buttons
    await user.press(profile, "修改某项")
    await user.press(await see(user, "修改哪"), "单位")
    await user.send("上海律所")
    edited = await user.wait_for(lambda m: "上海律所" in (m.text or "") and "保存" in m.buttons)
    assert "↩️ 返回" in edited.buttons
    await user.send("/profile")  # groups: the leave button is worded for the whole association
    await user.press(await user.wait_for(lambda m: m is user.messages[-1] and "↩️ 返回" in m.buttons), "我的组织")
    groups = await user.wait_for(lambda m: "退出新联会（注销会员）" in m.buttons)
    assert groups is not None


async def test_approvals_show_category_and_organisation_page_beyond_ten_and_tell_namesakes_apart(
    tg: FakeTelegram, bot: BotRuntime
) -> None:
    from tests.members_helpers import seed_coordinator, seed_member

    assert bot.db is not None
    group = await seed_group(bot.db, "花木街道新联会", requires_approval=True)
    first = await seed_member(bot.db, 6401, "王芳", group_ids=[group], status="pending")
    second = await seed_member(bot.db, 6402, "王芳", group_ids=[group], status="pending")
    await bot.db.write(lambda c: c.execute("UPDATE members SET organisation = '华东医院' WHERE id = ?", (first,)))
    await bot.db.write(lambda c: c.execute("UPDATE members SET phone = '+8613800134567' WHERE id = ?", (second,)))
    for n in range(10):
        await seed_member(bot.db, 6500 + n, f"Applicant {n:02d}", group_ids=[group], status="pending")
    coord = tg.create_user("Coord", language_code="en")
    await seed_coordinator(bot.db, coord.id, group)
    await coord.send("/approvals")
    listing = await see(coord, "Pending requests")
    text = listing.text or ""
    assert "(12)" in text and "Page 1/2" in text
    assert "• 王芳 (Managers and technical staff of private/foreign firms · 华东医院) → 花木街道新联会" in text
    assert "Approve 王芳 (华东医院)" in listing.buttons and "Approve 王芳 (phone …4567)" in listing.buttons
    await coord.press(listing, "▶")
    page_two = await coord.wait_for(lambda m: m.message_id == listing.message_id and "Page 2/2" in (m.text or ""))
    assert "Applicant 09" in (page_two.text or "")


async def test_members_directory_tells_namesakes_apart(tg: FakeTelegram, bot: BotRuntime) -> None:
    from tests.members_helpers import seed_member

    assert bot.db is not None
    group = await seed_group(bot.db, "花木街道新联会")
    first = await seed_member(bot.db, 6601, "王芳", group_ids=[group])
    await seed_member(bot.db, 6602, "王芳", group_ids=[group])
    await bot.db.write(lambda c: c.execute("UPDATE members SET organisation = '华东医院' WHERE id = ?", (first,)))
    await bot.db.write(lambda c: c.execute("UPDATE members SET phone = '+8613800134567' WHERE id <> ?", (first,)))
    owner = tg.create_user("Owner", language_code="zh-hans", user_id=OWNER_ID)
    await owner.send("/members")
    listing = await owner.wait_for(lambda m: any("王芳" in b for b in m.buttons))
    assert "王芳（华东医院）" in listing.buttons and "王芳（尾号4567）" in listing.buttons


async def test_leaving_names_the_configured_association(tg: FakeTelegram, start_bot: StartBot) -> None:
    from tests.members_helpers import seed_member

    runtime = await start_bot(association_name="浦东新区新联会")
    assert runtime.db is not None
    user = tg.create_user("Xu", language_code="zh-hans")
    await seed_member(runtime.db, user.id, "徐")
    await user.send("/profile")
    await user.press(await see(user, "资料"), "我的组织")
    groups = await user.wait_for(lambda m: "退出浦东新区新联会（注销会员）" in m.buttons)
    await user.press(groups, "退出浦东新区新联会（注销会员）")
    ask = await user.wait_for(lambda m: m.message_id == groups.message_id and "确定退出" in (m.text or ""))
    assert "确定退出浦东新区新联会、注销会员吗" in (ask.text or "")


def test_namesakes_are_told_apart_by_organisation_else_the_phones_last_digits() -> None:
    from bot.members.rules import namesake_hint

    assert namesake_hint("华东医院", "+86 138 0013 4567") == ("org", "华东医院")
    assert namesake_hint("", "+86 138 0013 4567") == ("phone", "4567")
    assert namesake_hint(None, "１３８") is None  # full-width digits are not a phone's digits
    assert namesake_hint("A very long organisation name", None, 6) == ("org", "A very")
