"""Coordinator tools end to end: invites, approvals, scope, coordinators, directory, freshness."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from tests.conftest import OWNER_ID
from tests.members_helpers import see, seed_coordinator, seed_group, seed_member


@pytest.fixture(autouse=True)
def _bursty_chats(tg: FakeTelegram) -> None:
    # A scripted user answers instantly; real people pause between steps. Allow short bursts.
    tg.set_rate_limits(True, private_burst=100)




async def make_invite(coordinator: SandboxUser, group: str, option: str = "7 days, unlimited") -> str:
    await coordinator.send("/invite")
    await coordinator.press(await see(coordinator, "Create an invite link"), lambda b: group in b["text"])
    await coordinator.press(await see(coordinator, "How long"), option)
    created = await see(coordinator, "Invite link for")
    link = (created.text or "").split("\n")[-1]
    assert link.startswith("https://t.me/") and "?start=inv_" in link
    payload = link.split("?start=")[1]
    assert len(payload) <= 64 and all(c.isalnum() or c in "-_" for c in payload)
    return payload


async def register_via_invite(user: SandboxUser, payload: str, name: str) -> None:
    await user.send(f"/start {payload}")
    await user.press(await see(user, "Privacy notice"), "I agree")
    await see(user, "What is your name")
    await user.send(name)
    await user.press(await see(user, "Which category"), "Other")
    await user.press(await see(user, "Your organisation"), "Skip")
    await user.press(await see(user, "Your position"), "Skip")
    await user.press(await see(user, "areas of expertise"), "Done")
    await user.press(await see(user, "Your interests"), "Skip")
    await see(user, "Share your phone number")
    await user.send("Skip")
    await user.press(await see(user, "Please check your details"), "Confirm")


async def test_invite_link_registers_into_the_group_and_counts_the_use(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "陆家嘴金融城新联会")
    coord = tg.create_user("Coord", language_code="en")
    await seed_coordinator(bot.db, coord.id, gid)
    payload = await make_invite(coord, "陆家嘴")
    newcomer = tg.create_user("New", language_code="en")
    await register_via_invite(newcomer, payload, "王芳")
    await see(newcomer, "You are registered")
    member_id = await bot.db.fetchval("SELECT id FROM members WHERE user_id = ?", (newcomer.id,))
    assert await bot.db.fetchval("SELECT group_id FROM member_groups WHERE member_id = ?", (member_id,)) == gid
    assert await bot.db.fetchval("SELECT uses FROM invites") == 1


async def test_single_use_invite_is_refused_the_second_time(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    coord = tg.create_user("Coord", language_code="en")
    await seed_coordinator(bot.db, coord.id, gid)
    payload = await make_invite(coord, "花木", "7 days, one person")
    first = tg.create_user("First", language_code="en")
    await register_via_invite(first, payload, "一")
    await see(first, "You are registered")
    second = tg.create_user("Second", language_code="en")
    await second.send(f"/start {payload}")
    await see(second, "invalid, expired, revoked or used up")


@pytest.mark.parametrize("payload", ["inv_nope", "inv_" + "x" * 60, "inv_a%b"])
async def test_malformed_or_unknown_invite_gets_a_clear_message(
    tg: FakeTelegram, bot: BotRuntime, payload: str
) -> None:
    user = tg.create_user("Odd", language_code="en")
    await user.send(f"/start {payload}")
    await see(user, "invalid, expired, revoked or used up")


async def test_expired_and_revoked_invites_are_refused(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    coord = tg.create_user("Coord", language_code="en")
    await seed_coordinator(bot.db, coord.id, gid)
    expiring = await make_invite(coord, "花木", "7 days, unlimited")
    revoked = await make_invite(coord, "花木", "No expiry, unlimited")
    await coord.send("/invite")
    await coord.press(await see(coord, "Create an invite link"), "Active links")
    listing = await see(coord, "Active invite links")
    await coord.press(listing, listing.buttons[-1])
    await see(coord, "The link is revoked")
    clock.advance(timedelta(days=8))
    user = tg.create_user("Late", language_code="en")
    await user.send(f"/start {expiring}")
    await see(user, "invalid, expired")
    user2 = tg.create_user("Late2", language_code="en")
    await user2.send(f"/start {revoked}")
    await user2.wait_for(lambda m: "invalid, expired" in (m.text or ""))
    assert await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'invite.revoke'") == 1


async def test_approval_group_waits_and_rejection_reason_reaches_member(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "张江科技企业新联会", "sub", requires_approval=True)
    coord = tg.create_user("Coord", language_code="en")
    await seed_coordinator(bot.db, coord.id, gid)
    payload = await make_invite(coord, "张江")
    applicant = tg.create_user("App", language_code="en")
    await register_via_invite(applicant, payload, "申请人")
    await see(applicant, "waits for a coordinator's approval")
    assert await bot.db.fetchval("SELECT status FROM members WHERE user_id = ?", (applicant.id,)) == "pending"
    await see(coord, "New request: 申请人")
    await coord.send("/approvals")
    await coord.press(await see(coord, "Pending requests"), "Reject 申请人")
    await see(coord, "Why is it rejected")
    await coord.send("名额已满 <full>")
    await see(coord, "Rejected 申请人")
    await see(applicant, "Reason: 名额已满 <full>")  # in their Telegram language
    assert await bot.db.fetchval("SELECT status FROM member_groups") == "rejected"
    assert await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'member.reject'") == 1


async def test_approval_activates_member_and_notifies(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "张江科技企业新联会", "sub", requires_approval=True)
    await seed_member(bot.db, 5001, "待审", group_ids=[gid], status="pending")
    coord = tg.create_user("Coord", language_code="en")
    await seed_coordinator(bot.db, coord.id, gid)
    applicant = tg.create_user("App", language_code="en", user_id=5001)
    await applicant.send("/help")
    await coord.send("/approvals")
    await coord.press(await see(coord, "Pending requests"), "Approve 待审")
    await see(coord, "Approved 待审")
    await see(applicant, "was approved")
    assert await bot.db.fetchval("SELECT status FROM members WHERE user_id = 5001") == "active"


async def test_registered_member_opening_an_invite_joins_the_group(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    a = await seed_group(bot.db, "花木街道新联会")
    b = await seed_group(bot.db, "陆家嘴金融城新联会")
    member = tg.create_user("Mem", language_code="en")
    mid = await seed_member(bot.db, member.id, "成员", group_ids=[a])
    coord = tg.create_user("Coord", language_code="en")
    await seed_coordinator(bot.db, coord.id, b)
    payload = await make_invite(coord, "陆家嘴")
    await member.send(f"/start {payload}")
    await see(member, "You joined 陆家嘴金融城新联会")
    assert await bot.db.fetchval("SELECT COUNT(*) FROM member_groups WHERE member_id = ?", (mid,)) == 2


async def test_non_coordinator_commands_and_forged_buttons_are_refused(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    user = tg.create_user("Plain", language_code="en")
    await seed_member(bot.db, user.id, "普通", group_ids=[gid])
    for command in ("/groups", "/invite", "/approvals", "/members", "/coordinators"):
        await user.send(command)
        await user.next_message()
    assert sum("not allowed" in (m.text or "") or "only" in (m.text or "") for m in user.inbox) >= 5
    await user.send("/help")
    msg = await see(user, "commands")
    for forged in (f"grp:arch:{gid}", f"invmk:{gid}:0:0", f"coordset:{user.id}:{gid}", "grp:new:0"):
        result = await user.press_data(msg, forged)
        await result.answer()
    assert await bot.db.fetchval("SELECT COUNT(*) FROM coordinators") == 0
    assert await bot.db.fetchval("SELECT COUNT(*) FROM invites") == 0
    assert await bot.db.fetchval("SELECT archived_at FROM groups") is None


async def test_coordinator_of_a_cannot_see_or_act_on_members_only_in_b(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    root = await seed_group(bot.db, "浦东新联总会", "head")
    a = await seed_group(bot.db, "花木街道新联会", parent_id=root)
    b = await seed_group(bot.db, "陆家嘴金融城新联会", parent_id=root)
    await seed_member(bot.db, 6001, "甲成员", group_ids=[a])
    only_b = await seed_member(bot.db, 6002, "乙成员", group_ids=[b])
    coord = tg.create_user("CoordA", language_code="en")
    await seed_coordinator(bot.db, coord.id, a)
    await coord.send("/members")
    listing = await see(coord, "found")
    assert "1 found" in (listing.text or "") and "甲成员" in listing.buttons and "乙成员" not in listing.buttons
    forged = await coord.press_data(listing, f"dir:card:{only_b}")
    assert (await forged.answer()).show_alert
    forged = await coord.press_data(listing, f"grp:arch:{b}")
    await forged.answer()
    forged = await coord.press_data(listing, f"invmk:{b}:0:0")
    await forged.answer()
    assert await bot.db.fetchval("SELECT COUNT(*) FROM invites") == 0
    assert await bot.db.fetchval("SELECT archived_at FROM groups WHERE id = ?", (b,)) is None
    head = tg.create_user("Head", language_code="en")
    await seed_coordinator(bot.db, head.id, root)
    await head.send("/members")
    assert "2 found" in ((await see(head, "found")).text or "")


async def test_directory_search_card_and_message_member(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    target = tg.create_user("Target", language_code="en")
    await target.send("/help")
    await seed_member(bot.db, target.id, "李娜", group_ids=[gid], expertise=("law",))
    for i in range(12):
        await seed_member(bot.db, 7000 + i, f"王{i:02d}", group_ids=[gid])
    coord = tg.create_user("Coord", language_code="en")
    await seed_coordinator(bot.db, coord.id, gid)
    await coord.send("/members")
    listing = await see(coord, "13 found")
    assert "Next ›" in listing.buttons
    await coord.send("/members expertise=law")
    listing = await see(coord, "1 found")
    await coord.press(listing, "李娜")
    card = await see(coord, "Participation")
    assert "Law" in (card.text or "")
    await coord.press(card, "Message this member")
    await see(coord, "Type the message")
    await coord.send("明天下午 3 点开会 <b>")
    await see(coord, "Message sent")
    await see(target, "明天下午 3 点开会 <b>")
    assert await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'member.message'") == 1


async def test_owner_appoints_coordinator_by_user_id(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    future = tg.create_user("Future", language_code="en")
    await future.send("/help")
    owner = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    await owner.send("/coordinators")
    await owner.press(await see(owner, "Coordinators"), "Appoint a coordinator")
    await see(owner, "Forward a message")
    await owner.send(str(future.id))
    await owner.press(await see(owner, "as coordinator of which group"), lambda b: "花木" in b["text"])
    await see(owner, "is now coordinator of")
    await see(future, "You are now a coordinator of 花木街道新联会")
    assert await bot.db.fetchval("SELECT group_id FROM coordinators WHERE user_id = ?", (future.id,)) == gid
    assert await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'coordinator.appoint'") == 1
    commands = {c["command"] for c in tg.commands("chat", chat_id=future.id)}
    assert "groups" in commands


async def test_head_coordinator_creates_and_renames_groups(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    root = await seed_group(bot.db, "浦东新联总会", "head")
    coord = tg.create_user("Head", language_code="en")
    await seed_coordinator(bot.db, coord.id, root)
    await coord.send("/groups")
    await coord.press(await see(coord, "Groups"), "浦东新联总会")
    await coord.press(await see(coord, "Approval required"), "Add a sub-group")
    await see(coord, "Type the group's name")
    await coord.send("金桥开发区新联会")
    await coord.press(await see(coord, "What kind of group"), "local group")
    await see(coord, "created")
    row = await bot.db.fetchone("SELECT id, path, parent_id, kind FROM groups WHERE name = '金桥开发区新联会'")
    assert row is not None and row["parent_id"] == root and row["path"] == f"/{root}/{row['id']}/"
    assert row["kind"] == "local"
    await coord.send("/groups")
    await coord.press(await see(coord, "(2)"), lambda b: "金桥" in b["text"])
    detail = await coord.wait_for(lambda m: "Approval required" in (m.text or "") and "金桥" in (m.text or ""))
    await coord.press(detail, "Rename")
    await see(coord, "Type the group's name")
    await coord.send("x" * 80)
    await see(coord, "too long")
    await coord.send("金桥新联会")
    await see(coord, "Renamed")
    assert await bot.db.fetchval("SELECT name FROM groups WHERE id = ?", (row["id"],)) == "金桥新联会"


async def test_profile_check_prompt_is_sent_once_when_due(tg: FakeTelegram, bot: BotRuntime, clock: FakeClock) -> None:
    assert bot.db is not None and bot.app is not None and bot.services is not None
    member = tg.create_user("Mem", language_code="en")
    await member.send("/help")
    await member.next_message()  # the bot has seen them (and their Telegram language) before the check runs
    await seed_member(bot.db, member.id, "成员")
    assert await bot.services.members.run_due_refresh() == 0
    clock.advance(timedelta(days=181))
    assert await bot.services.members.run_due_refresh() == 1
    assert await bot.services.members.run_due_refresh() == 0
    prompt = await see(member, "Is your profile still correct")  # queued in the member's language
    await member.press(prompt, "Still correct")
    await see(member, "Thank you")
    confirmed = await bot.db.fetchval("SELECT profile_confirmed_at FROM members WHERE user_id = ?", (member.id,))
    assert confirmed.startswith("2027-05")


async def test_member_who_left_comes_back_through_an_invite(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    user = tg.create_user("Back", language_code="en")
    await seed_member(bot.db, user.id, "回来", group_ids=[gid], status="left")
    coord = tg.create_user("Coord", language_code="en")
    await seed_coordinator(bot.db, coord.id, gid)
    payload = await make_invite(coord, "花木")
    await user.send(f"/start {payload}")
    await see(user, "You joined 花木街道新联会")
    assert await bot.db.fetchval("SELECT status FROM members WHERE user_id = ?", (user.id,)) == "active"


async def test_archiving_a_group_hides_its_subtree_and_is_audited(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    root = await seed_group(bot.db, "浦东新联总会", "head")
    sub = await seed_group(bot.db, "新媒体从业人员联谊会", "sub", parent_id=root)
    await seed_group(bot.db, "新媒体读书会", "club", parent_id=sub)
    coord = tg.create_user("Head", language_code="en")
    await seed_coordinator(bot.db, coord.id, root)
    await coord.send("/groups")
    await coord.press(await see(coord, "(3)"), lambda b: "新媒体从业" in b["text"])
    detail = await coord.wait_for(lambda m: "Approval required" in (m.text or ""))
    await coord.press(detail, "Archive")
    await see(coord, "Archived 2 group(s)")
    assert await bot.db.fetchval("SELECT COUNT(*) FROM groups WHERE archived_at IS NULL") == 1
    assert await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'group.archive'") == 1


async def test_max_uses_holds_under_concurrent_joins(tg: FakeTelegram, bot: BotRuntime) -> None:
    import asyncio

    from bot.errors import Refusal
    from storage.invites import insert_invite

    assert bot.db is not None and bot.services is not None
    services = bot.services
    gid = await seed_group(bot.db, "花木街道新联会")
    ids = [await seed_member(bot.db, 8000 + i, f"m{i}") for i in range(5)]
    async with bot.db.transaction() as tx:
        await insert_invite(tx, 1, "tok_once", gid, None, 1, services.clock.now())

    async def attempt(mid: int) -> bool:
        member = await services.members.get(mid)
        assert member is not None
        try:
            await services.members.join_by_invite(member, "tok_once")
        except Refusal:
            return False
        return True

    results = await asyncio.gather(*(attempt(m) for m in ids))
    assert sum(results) == 1
    assert await bot.db.fetchval("SELECT uses FROM invites") == 1


async def test_directory_filters_by_category_with_buttons(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    gid = await seed_group(bot.db, "花木街道新联会")
    await seed_member(bot.db, 9101, "自由甲", "freelancer", group_ids=[gid])
    await seed_member(bot.db, 9102, "企业乙", "enterprise", group_ids=[gid])
    coord = tg.create_user("Coord", language_code="en")
    await seed_coordinator(bot.db, coord.id, gid)
    await coord.send("/members")
    await coord.press(await see(coord, "2 found"), "Filters")
    await coord.press(await see(coord, "Filter members"), "Freelancers")
    listing = await see(coord, "1 found")
    assert "自由甲" in listing.buttons and "企业乙" not in listing.buttons
