"""Secrets and privacy: no token or webhook secret in any log line, forged webhook calls are
refused and leave no trace, erased personal data leaves no bytes in the database file."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import SandboxMessage
from storage.db import Database
from storage.migrations import migrate
from tests.feedback_helpers import submit_feedback
from tests.reliability_helpers import seed_group, seed_member


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _realistic_token() -> str:
    # Shaped like a real token, built at run time so nothing token-like is committed.
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:AA{secrets.token_urlsafe(33)[:33]}"


async def _workload(server: FakeTelegram) -> None:
    user = server.create_user("Hal <b>", language_code="en")
    await user.send("/nonsense")  # before /start: a command would end the open registration
    await user.next_message()
    await user.send("/start")
    await user.next_message()
    await user.send("/help")
    await user.next_message()
    await user.send("/language")
    picker = await user.next_message()
    await (await user.press(picker, "中文")).answer()
    await (await user.press_data(picker, "lang:zz:forged")).answer()
    await user.send("<i>unclosed & hostile</i>\x00")
    # /start began registration: text at its consent step is answered and the step asked again
    await user.wait_for(lambda m: "请先回答下面这个问题" in (m.text or ""))


async def test_debug_logs_of_a_webhook_run_hold_neither_token_nor_secret(
    settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    token = _realistic_token()
    secret = secrets.token_urlsafe(24)
    port = _free_port()
    async with FakeTelegram(token=token, seed=3) as server:
        effective = settings.model_copy(
            update={"api_url": server.api_url, "webhook_url": f"http://127.0.0.1:{port}/telegram",
                    "listen": f"127.0.0.1:{port}"}
        )
        effective = Settings.model_validate(effective.model_dump() | {"webhook_secret": secret})
        with caplog.at_level(logging.DEBUG):
            runtime = BotRuntime(effective, clock=clock, token=token)
            await runtime.start()
            try:
                await _workload(server)
                # A forged call with a wrong secret (PTB logs the wrong value at DEBUG).
                headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
                async with aiohttp.ClientSession() as session, session.post(
                    f"http://127.0.0.1:{port}/telegram", json={"update_id": 1}, headers=headers
                ) as resp:
                    assert resp.status == 403
            finally:
                await runtime.stop()
    assert len(caplog.records) > 30, "the run logged at DEBUG"
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert token not in text
    assert token.split(":", 1)[1] not in text
    assert secret not in text
    # aiosqlite would log every statement with its parameters (stored personal data) at DEBUG.
    assert not [r for r in caplog.records if r.name.startswith("aiosqlite") and r.levelno < logging.INFO]


async def test_forged_webhook_calls_leave_no_trace_in_the_database(
    tg: FakeTelegram, settings: Settings, clock: FakeClock
) -> None:
    port = _free_port()
    runtime = BotRuntime(
        Settings.model_validate(settings.model_dump() | {
            "webhook_url": f"http://127.0.0.1:{port}/telegram", "webhook_secret": "right-Secret_9-of-twenty",
            "listen": f"127.0.0.1:{port}"}),
        clock=clock, token=tg.token,
    )
    await runtime.start()
    try:
        forged = {
            "update_id": 424242,
            "message": {"message_id": 1, "date": 1_700_000_000,
                        "chat": {"id": 5550001, "type": "private", "first_name": "Mallory"},
                        "from": {"id": 5550001, "is_bot": False, "first_name": "Mallory"},
                        "text": "/language", "entities": [{"type": "bot_command", "offset": 0, "length": 9}]},
        }
        url = f"http://127.0.0.1:{port}/telegram"
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "right-Secret_9-of-twent"},
                            {"X-Telegram-Bot-Api-Secret-Token": "Right-Secret_9-of-twenty"}):
                async with session.post(url, json=forged, headers=headers) as resp:
                    assert resp.status == 403
        await asyncio.sleep(0.3)
        assert runtime.db is not None
        assert await runtime.db.fetchval("SELECT COUNT(*) FROM bot_users WHERE user_id = 5550001") == 0
        assert tg.counters.calls["sendMessage"] == 0
    finally:
        await runtime.stop()


PERSONAL = {
    "name": "RelyTestName Zhang Qiu",
    "organisation": "Qiu-Distinct Consulting Ltd",
    "position": "Chief Q-Officer 7731",
    "phone": "+86-139-7731-4242",
    "expertise_note": "tax-law-Qiu-expertise",
    "interests": "orienteering-Qiu-5599",
}


async def _erase(db: Database, member_id: int) -> None:
    """The erasure the members feature performs: personal fields cleared, status 'erased'."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE members SET status = 'erased', name = NULL, organisation = NULL, position = NULL,"
            " phone = NULL, expertise_note = NULL, interests = NULL, erased_at = registered_at WHERE id = ?",
            (member_id,),
        )
        await tx.execute("DELETE FROM member_expertise WHERE member_id = ?", (member_id,))


def _raw_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


async def _fill_and_erase(path: Path) -> None:
    db = await Database.open(path)
    try:
        await migrate(db)
        group = await seed_group(db, "浦东新联总会")
        for i in range(40):  # neighbours on the same pages
            await seed_member(db, 7100 + i, name=f"neighbour {i} " * 4, group_id=group)
        member_id = await seed_member(db, 7731, group_id=group, **PERSONAL)
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO member_expertise (member_id, tag) VALUES (?, 'tag-Qiu-9911')", (member_id,))
        await db.checkpoint()  # the values reach the main file, as after any real day of use
        assert PERSONAL["phone"].encode() in _raw_bytes(path)
        await _erase(db, member_id)
        await db.checkpoint()
    finally:
        await db.close()


async def test_erased_member_leaves_no_personal_bytes_in_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "erase.db"
    await _fill_and_erase(path)
    raw = _raw_bytes(path)
    for value in [*PERSONAL.values(), "tag-Qiu-9911"]:
        assert value.encode() not in raw, f"{value!r} survives in the file"


async def test_database_connections_overwrite_deleted_content() -> None:
    db = await Database.open(":memory:")
    try:
        assert await db.fetchval("PRAGMA secure_delete") == 1
        async with db.transaction() as tx:
            assert await tx.fetchval("PRAGMA secure_delete") == 1
    finally:
        await db.close()


def test_without_secure_delete_erased_values_would_survive(tmp_path: Path) -> None:
    """The control experiment: the byte search does find leftovers when secure_delete is off."""
    path = tmp_path / "control.db"
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA secure_delete=OFF")
        conn.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, name TEXT, phone TEXT)")
        for i in range(50):
            conn.execute("INSERT INTO m (name, phone) VALUES (?, '1')", (f"filler {i} " * 5,))
        conn.execute("INSERT INTO m (name, phone) VALUES (?, ?)", (PERSONAL["name"], PERSONAL["phone"]))
        for i in range(5):
            conn.execute("INSERT INTO m (name, phone) VALUES (?, '1')", (f"after {i} " * 5,))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("UPDATE m SET name = NULL, phone = NULL WHERE phone = ?", (PERSONAL["phone"],))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert PERSONAL["name"].encode() in _raw_bytes(path)


PROFILE = {
    "name": "Qiu Reliabilityname",
    "organisation": "Qiu-Erasable Studio 7731",
    "position": "Lead Q-Designer 5599",
    "interests": "orienteering-and-qiu-tea",
    "phone": "+8613977314242",
}


async def _register(user: SandboxUser) -> None:
    async def see(text: str) -> SandboxMessage:
        try:
            return await user.wait_for(lambda m: text in (m.text or ""))
        except TimeoutError:
            raise AssertionError(f"waiting for {text!r}; bot said {[m.text for m in user.inbox][-3:]}") from None

    await user.send("/start")
    await user.press(await see("Privacy notice"), "I agree")
    await see("What is your name")
    await user.send(PROFILE["name"])
    await user.press(await see("Which category"), "Freelancers")
    await see("Your organisation")
    await user.send(PROFILE["organisation"])
    await see("Your position")
    await user.send(PROFILE["position"])
    expertise = await see("areas of expertise")
    await user.press(expertise, "Law")
    expertise = await user.wait_for(lambda m: "✅ Law" in m.buttons)
    await user.press(expertise, "Done")
    await see("Your interests")
    await user.send(PROFILE["interests"])
    await see("Share your phone number")
    await user.share_contact(PROFILE["phone"])
    groups = await see("Which groups")
    await user.press(groups, lambda b: "花木" in b["text"])
    groups = await user.wait_for(lambda m: any("✅" in b and "花木" in b for b in m.buttons))
    await user.press(groups, "Done")
    await user.press(await see("Please check your details"), "Confirm")
    await see("You are registered")


@pytest.mark.sqlite_only  # reads the bytes of the SQLite file
async def test_forget_leaves_no_personal_field_in_the_database_file(tg: FakeTelegram, bot: BotRuntime) -> None:
    assert bot.db is not None
    tables = set(await bot.db.tables())
    if "invites" not in tables:
        pytest.skip("members feature not merged yet")
    tg.set_rate_limits(True, private_burst=100)
    await seed_group(bot.db, "花木街道新联会")
    user = tg.create_user("Qiu", language_code="en")
    await _register(user)
    await bot.db.checkpoint()
    raw = _raw_bytes(bot.db.path)
    assert all(value.encode() in raw for value in PROFILE.values()), "the profile reached the file"
    await user.send("/forget")
    confirm = await user.wait_for(lambda m: "Yes, erase" in m.buttons)
    await (await user.press(confirm, "Yes, erase")).answer()
    await user.wait_for(lambda m: "personal data is erased" in (m.text or ""))
    await bot.db.checkpoint()
    raw = _raw_bytes(bot.db.path)
    left = [value for value in PROFILE.values() if value.encode() in raw]
    assert left == [], f"still in the database file after /forget: {left}"


async def _rows_holding(db: Database, value: int) -> list[str]:
    """Every table.column that still holds `value` (a Telegram user id)."""
    found = []
    for table in await db.tables():
        for name, _ in await db.columns(table):
            count = await db.fetchval(f"SELECT COUNT(*) FROM {table} WHERE CAST({name} AS TEXT) = ?", (str(value),))
            if count:
                found.append(f"{table}.{name}")
    return found


async def test_forget_leaves_no_row_linked_to_the_telegram_account(tg: FakeTelegram, bot: BotRuntime) -> None:
    """After /forget nothing in the database points at the person's Telegram account, including
    what other features stored for them (feedback authorship, sign-ups, conversation state)."""
    assert bot.db is not None
    tables = set(await bot.db.tables())
    if not {"invites", "feedback_authors"} <= tables:
        pytest.skip("members and feedback features not merged yet")
    tg.set_rate_limits(True, private_burst=100)
    await seed_group(bot.db, "花木街道新联会")
    user = tg.create_user("Qiu", language_code="en")
    await _register(user)
    user.chat.new_bot_messages.clear()  # the helper reads the bot's next messages from here on
    await submit_feedback(user, "Suggestion", "More evening salons, please", anonymous=True)
    assert await _rows_holding(bot.db, user.id), "the account was linked before /forget"
    await user.send("/forget")
    await (await user.press(await user.wait_for(lambda m: "Yes, erase" in m.buttons), "Yes, erase")).answer()
    await user.wait_for(lambda m: "personal data is erased" in (m.text or ""))
    assert await _rows_holding(bot.db, user.id) == []

