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
