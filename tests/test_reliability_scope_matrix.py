"""Scope matrix: every button and command that acts on an object, pressed (or typed) by a coordinator
of branch A against the objects of branch B, through the real Application (one bot for all rows).
Each must be refused: nothing of B's shown (no B text, no button naming a B object, no document
holding B's data), no answer other than a refusal, and not one stored row changed (every table,
compared before and after; the presser's own conversation state aside).

Complete by construction: every declared button (bot.callbacks.REGISTRY) with an object field
(id, member, user, group, survey, parent) is either a row of this matrix or a member's own action
listed in MEMBER_ACTIONS with the reason; a new object button without a row fails
`test_every_object_button_has_a_scope_row`. Pickers inside a conversation are driven through the
conversation and completed (publish / send), so a pick that is kept but refused only at the end
is caught too. Commands naming an object (/editactivity, /capacity, /members group=) and the
listings of one's scope (/manage, /approvals, /queue, /notices, /surveys, /members, /export with
the workbook's content) are rows too.

Each row is also run, on a second set of B's objects, as someone whose scope covers B (the head
association's coordinator, or the owner for owner-only actions): there it must be served (B's text
or a B object's button shown, rows changed, or an answer that is not a refusal). So every row
really reaches the scope decision: a row the control does not see served would prove nothing.

Broken on purpose (issue #16): `Scope.covers_path` forced True, `storage.scope.path_in` forced
TRUE, `storage.scope.feedback_in` forced TRUE, the survey target pick unchecked: each fails here.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from bot.callbacks import REGISTRY
from bot.runtime import BotRuntime
from sandbox.driver import SandboxUser
from sandbox.server import FakeTelegram
from sandbox.state import CallbackQueryState
from storage.db import Database
from storage.timefmt import to_db
from tests.activities_helpers import draft, owner_actor
from tests.conftest import OWNER_ID, StartBot
from tests.reliability_helpers import ErrorLog, inject_callback, seed_coordinator, seed_group, seed_member, wait_idle

OBJECT_FIELDS = frozenset({"id", "member", "user", "group", "survey", "parent"})

# A member's own participation (their sign-up, answer, acknowledgement, group choice at
# registration): the rule there is eligibility, not a coordinator's scope; tested by the features.
MEMBER_ACTIONS: dict[tuple[str, str], str] = {
    ("act", "su"): "sign up (eligibility)",
    ("act", "ng"): "not going (own sign-up)",
    ("act", "cx"): "cancel own sign-up",
    ("act", "ac"): "accept own waitlist offer",
    ("act", "ss"): "sign up to a series (eligibility)",
    ("act", "ics"): "calendar file of a visible activity",
    ("act", "op"): "open a visible activity",
    ("act", "ci"): "own check-in",
    ("act", "rt"): "rate an attended activity",
    ("fb", "h"): "author marks an answer helpful",
    ("fb", "re"): "author reopens own item",
    ("prof", "lv"): "leave own group",
    ("reg", "grp"): "choose a group at registration",
    ("sv", "go"): "start answering a survey one is invited to",
    ("sv", "a"): "answer a survey one is invited to",
    ("ack", ""): "acknowledge a notice one received",
}

A_COORD = 7_100_001
B_COORD = 7_100_002
HEAD_COORD = 7_100_003
_uids = iter(range(7_200_000, 7_299_999))


@dataclass
class BObjects:
    """One set of branch B's objects; every text carries `tag` (never shown to A)."""

    tag: str
    group: int
    sub: int
    activity: int
    feedback: int
    notice: int
    survey: int
    member: int  # members.id of an active member of B (signed up to the activity)
    member_uid: int
    pending: int  # members.id of a pending member of B
    coordinator_uid: int  # a second coordinator of B (user id)
    invite: int
    own_activity: int = 0  # an activity of the presser's own branch (set per presser)


@dataclass
class World:
    head: int
    branch_a: int
    activity_a: int
    probe: BObjects  # pressed by A: must be refused
    control: BObjects  # pressed by someone covering B: must be served
    users: dict[int, SandboxUser] = field(default_factory=dict)


async def _seed_b(runtime: BotRuntime, tg: FakeTelegram, head: int, tag: str) -> BObjects:
    db = runtime.db
    services = runtime.services
    assert db is not None and services is not None
    group = await seed_group(db, f"Branch B {tag}", head)
    sub = await seed_group(db, f"{tag} sub club", group)
    member_uid, pending_uid, coord_uid = next(_uids), next(_uids), next(_uids)
    for uid in (member_uid, pending_uid, coord_uid):
        tg.create_user(f"User {uid}", language_code="en", user_id=uid).state.started = True
    member = await seed_member(db, member_uid, name=f"{tag} member", group_id=group, phone="+8613911112222")
    pending = await seed_member(db, pending_uid, status="pending", name=f"{tag} pending", group_id=group)
    await seed_member(db, coord_uid, name=f"{tag} coordinator", group_id=group)
    await seed_coordinator(db, coord_uid, group)
    now = services.clock.now()
    created = await services.activities.create(
        owner_actor(OWNER_ID),
        draft(now, title=f"{tag} activity", group_ids=(group,), capacity=5, survey=True),
    )
    assert created.activity is not None
    activity = created.activity.id
    assert (await services.activities.sign_up(member_uid, activity)).code == "confirmed"
    at = to_db(now)
    async with db.transaction() as tx:
        seq = int(await tx.fetchval("SELECT COALESCE(MAX(seq), 0) + 1 FROM feedback_items") or 1)
        feedback = await tx.insert(
            "INSERT INTO feedback_items (year, seq, ref, kind, body, author_member_id, due_at, created_at,"
            " updated_at) VALUES (2026, ?, ?, 'suggestion', ?, ?, ?, ?, ?)",
            (seq, f"FB-2026-{seq:04d}", f"{tag} feedback body", member, at, at, at),
        )
        path = str(await tx.fetchval("SELECT path FROM groups WHERE id = ?", (group,)))
        await tx.execute(
            "INSERT INTO feedback_groups (feedback_id, group_id, path) VALUES (?, ?, ?)", (feedback, group, path)
        )
        record = tg.world.add_file(f"{tag} attachment".encode(), "document", f"{tag}.txt", "text/plain")
        await tx.execute("INSERT INTO feedback_attachments (feedback_id, type, file_id) VALUES (?, 'document', ?)",
                         (feedback, record.file_id))
        notice = await tx.insert(
            "INSERT INTO notices (author_user_id, author_lang, text, segment, status, next_due_at, created_at)"
            " VALUES (?, 'en', ?, ?, 'scheduled', ?, ?)",
            (coord_uid, f"{tag} notice text", f'{{"everyone": false, "group_ids": [{group}], "categories": []}}',
             to_db(now + timedelta(days=30)), at),
        )
        invite = await tx.insert(
            "INSERT INTO invites (token, group_id, created_by, created_at) VALUES (?, ?, ?, ?)",
            (f"tok{tag}", group, coord_uid, at),
        )
    b_coord = await services.roles.actor(coord_uid)
    survey, _ = await services.surveys.publish(
        b_coord, f"{tag} survey", [("text", f"{tag} question", [])], None, 7
    )
    return BObjects(tag, group, sub, activity, feedback, notice, survey, member, member_uid, pending, coord_uid,
                    invite)


# --- the rows -----------------------------------------------------------------------------------
# A step is a message to send ("/cmd args" or plain text) or "press:<data>"; "{o.<field>}" is an
# object of B, "{own}" the presser's own group (A's branch for the probe, B's group for the control).


@dataclass(frozen=True)
class Row:
    key: tuple[str, str]  # the button (prefix, action), or ("/command", "")
    steps: tuple[str, ...]  # measured: the object press (or command) and what completes it
    setup: tuple[str, ...] = ()  # not measured: the conversation the button belongs to
    control_owner: bool = False  # only an owner may do it (the control is the owner)
    listing: bool = False  # the presser is served a view of their own scope: B's absent from it
    harmless: bool = False  # answers everyone alike, reading and writing nothing (a stale "keep" button)


def _p(data: str) -> str:
    return f"press:{data}"


def _row(prefix: str, action: str, data: str, **kw: Any) -> Row:
    return Row((prefix, action), (_p(data),), **kw)


SURVEY_TO_TARGET = ("/survey", "ZQ survey title", _p("sv:qk:text"), "ZQ question", _p("sv:qk:end"))
SURVEY_PUBLISH = (_p("sv:ct:-"), _p("sv:dl:7"), _p("sv:pub:yes"))
NOTICE_TO_AUDIENCE = ("/notice", "ZQ notice draft")

ROWS: tuple[Row, ...] = (
    # --- views, exports and prompts (nothing changes when served) -------------------------------
    _row("actm", "ro", "actm:ro:{o.activity}"),
    _row("actm", "rp", "actm:rp:{o.activity}:0"),
    _row("actm", "att", "actm:att:{o.activity}"),
    _row("actm", "ap", "actm:ap:{o.activity}:0"),
    _row("actm", "sv", "actm:sv:{o.activity}"),
    _row("actm", "sp", "actm:sp:{o.activity}:0"),
    _row("actm", "csv", "actm:csv:{o.activity}"),
    _row("actm", "xlsx", "actm:xlsx:{o.activity}"),
    _row("actm", "cancel", "actm:cancel:{o.activity}"),
    _row("actm", "keep", "actm:keep:{o.activity}", harmless=True),  # forgets the presser's own pending cancel
    _row("actm", "mk", "actm:mk:{o.activity}:{o.member}"),
    _row("acte", "", "acte:{o.activity}"),
    _row("acte", "f", "acte:f:{o.activity}:ti"),
    Row(("acte", "ok"), (_p("acte:ok:{o.activity}:ti"),), setup=(_p("acte:f:{o.activity}:ti"), "ZQ new title")),
    _row("acte", "no", "acte:no:{o.activity}"),
    _row("ntc", "pre", "ntc:pre:{o.activity}"),
    _row("appr", "rej", "appr:rej:{o.pending}:{o.group}"),
    _row("dir", "card", "dir:card:{o.member}"),
    _row("dir", "msg", "dir:msg:{o.member}"),
    _row("dirf", "grp", "dirf:grp:{o.group}"),
    _row("coordpick", "", "coordpick:{o.member}", control_owner=True),
    _row("grp", "open", "grp:open:{o.group}"),
    _row("grp", "ren", "grp:ren:{o.sub}"),
    _row("grp", "mv", "grp:mv:{o.sub}"),
    _row("grp", "new", "grp:new:{o.group}"),
    Row(("grpkind", ""), (_p("grpkind:{o.group}:club"),), setup=(_p("grp:new:{own}"), "ZQ new club")),
    _row("inv", "new", "inv:new:{o.group}"),
    _row("fb", "v", "fb:v:{o.feedback}"),
    _row("fb", "files", "fb:files:{o.feedback}"),
    _row("fb", "asg", "fb:asg:{o.feedback}"),
    _row("fb", "note", "fb:note:{o.feedback}"),
    _row("fb", "ans", "fb:ans:{o.feedback}"),
    _row("fbq", "", "fbq:-:-:{o.group}:0"),
    _row("fbd", "p", "fbd:p:{o.group}"),
    _row("fbd", "s", "fbd:s:{o.group}"),
    _row("ntl", "v", "ntl:v:{o.notice}", control_owner=True),  # a notice is its author's (and owners')
    _row("ntl", "w", "ntl:w:{o.notice}:0", control_owner=True),
    _row("ntl", "u", "ntl:u:{o.notice}:0", control_owner=True),
    _row("ntl", "up", "ntl:up:{o.notice}:0", control_owner=True),
    _row("nte", "", "nte:{o.notice}", control_owner=True),
    _row("ntt", "", "ntt:{o.notice}", control_owner=True),
    _row("nta", "", "nta:{o.notice}", control_owner=True),
    _row("sv", "r", "sv:r:{o.survey}"),
    _row("sv", "x", "sv:x:{o.survey}"),
    _row("sv", "c", "sv:c:{o.survey}"),
    # --- pickers inside a conversation: the pick, then what completes it ----------------------
    Row(("actg", ""), (_p("actg:{o.group}"),), setup=("/newactivity", "ZQ new activity", "Chapter 1",
                                                      "2027-01-10 10:00", "2027-01-10 12:00", "Room 3", "10",
                                                      "2027-01-09 10:00")),
    Row(("sv", "tg"), (_p("sv:tg:{o.group}"), *SURVEY_PUBLISH), setup=SURVEY_TO_TARGET),
    Row(("ntc", "g"), (_p("ntc:g:{o.group}"), _p("ntc:done"), _p("ntc:send")),
        setup=(*NOTICE_TO_AUDIENCE, _p("ntc:a:groups"))),
    Row(("ntc", "ai"), (_p("ntc:ai:{o.activity}"), _p("ntc:as:{o.activity}:c"), _p("ntc:send")),
        setup=(*NOTICE_TO_AUDIENCE, _p("ntc:a:act"))),
    Row(("ntc", "as"), (_p("ntc:as:{o.activity}:c"), _p("ntc:send")),
        setup=(*NOTICE_TO_AUDIENCE, _p("ntc:a:act"), _p("ntc:ai:{own_activity}"))),
    Row(("ntc", "qi"), (_p("ntc:qi:{o.survey}"), _p("ntc:send")), setup=(*NOTICE_TO_AUDIENCE, _p("ntc:a:svy"))),
    # --- actions that change B's objects (last: they end what the rows above look at) -----------
    _row("actm", "code", "actm:code:{o.activity}"),
    _row("actm", "mkc", "actm:mkc:{o.activity}:{o.member}"),
    _row("fb", "take", "fb:take:{o.feedback}"),
    _row("fb", "to", "fb:to:{o.feedback}:{o.coordinator_uid}"),
    _row("fb", "prog", "fb:prog:{o.feedback}"),
    _row("fb", "close", "fb:close:{o.feedback}"),
    _row("appr", "ok", "appr:ok:{o.pending}:{o.group}"),
    _row("coordset", "", "coordset:{o.member_uid}:{o.group}", control_owner=True),
    _row("coordrm", "", "coordrm:{o.coordinator_uid}:{o.group}", control_owner=True),
    _row("grp", "appr", "grp:appr:{o.sub}"),
    _row("grpmv", "", "grpmv:{o.sub}:{o.group}"),
    _row("invmk", "", "invmk:{o.group}:7:0"),
    _row("invrv", "", "invrv:{o.invite}"),
    _row("ntl", "n", "ntl:n:{o.notice}", control_owner=True),
    _row("ntl", "x", "ntl:x:{o.notice}", control_owner=True),
    _row("ntl", "xy", "ntl:xy:{o.notice}", control_owner=True),
    _row("grp", "arch", "grp:arch:{o.sub}"),
    _row("actm", "close", "actm:close:{o.activity}"),
    _row("actm", "cx", "actm:cx:{o.activity}"),
)

# Commands that name an object of B, or list what the caller's scope holds.
COMMANDS: tuple[Row, ...] = (
    Row(("/editactivity", ""), ("/editactivity {o.activity} title ZQ renamed",)),
    Row(("/capacity", ""), ("/capacity {o.activity} 9",)),
    Row(("/members", ""), ("/members group={o.group}",)),
    Row(("/manage", ""), ("/manage",), listing=True),
    Row(("/approvals", ""), ("/approvals",), listing=True),
    Row(("/queue", ""), ("/queue",), listing=True),
    Row(("/notices", ""), ("/notices",), listing=True, control_owner=True),
    Row(("/surveys", ""), ("/surveys",), listing=True),
    Row(("/members", "list"), ("/members",), listing=True),
    Row(("/export", ""), ("/export",), listing=True),
)


def object_buttons() -> set[tuple[str, str]]:
    import bot.app  # noqa: F401 - imports every feature, so every button is declared

    return {key for key, button in REGISTRY.items() if OBJECT_FIELDS & {name for name, _ in button.fields}}


def test_every_object_button_has_a_scope_row() -> None:
    covered = {row.key for row in ROWS}
    assert len(covered) == len(ROWS), "a button has two rows"
    missing = object_buttons() - covered - set(MEMBER_ACTIONS)
    assert missing == set(), f"object buttons without a scope row: {sorted(missing)}"
    assert covered <= object_buttons(), sorted(covered - object_buttons())
    assert set(MEMBER_ACTIONS) <= object_buttons() and not covered & set(MEMBER_ACTIONS)


# --- driving ------------------------------------------------------------------------------------
# Tables a press may change for the presser alone (conversation state, language, leases, progress).
PRESSER_TABLES = frozenset({"ptb_conversations", "ptb_user_data", "ptb_chat_data", "leases", "outbox_progress",
                            "bot_users"})


async def _rows(db: Database) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table in sorted(set(await db.tables()) - PRESSER_TABLES):
        columns = OUTBOX_MESSAGE if table == "outbox" else "*"
        out[table] = sorted(repr(tuple(r)) for r in await db.fetchall(f"SELECT {columns} FROM {table}"))
    return out


# An outbox row is compared by the message it queues (its delivery state moves on in the background).
OUTBOX_MESSAGE = "id, kind, ref_id, chat_id, member_id, text, reply_markup, attachment"


async def _delivered(db: Database) -> None:
    """Until the delivery worker has sent everything queued (what a press queued lands in its own row)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"):
            return
        await asyncio.sleep(0.02)


def _diff(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    for table in sorted(set(before) | set(after)):
        old, new = set(before.get(table, ())), set(after.get(table, ()))
        out += [f"{table} -{r}" for r in sorted(old - new)] + [f"{table} +{r}" for r in sorted(new - old)]
    return out


@dataclass
class Outcome:
    answered: bool
    shown: list[str]  # what the presser saw: answers, new or edited messages (raw JSON), documents
    served: list[str]  # new or edited messages that are not a refusal
    changes: list[str]

    def leaks(self, tag: str, buttons: frozenset[str] = frozenset()) -> bool:
        """B's text (`tag`) shown, or a button acting on one of B's objects (a listing's ids)."""
        return any(tag in s or any(b in s for b in buttons) for s in self.shown)


def object_buttons_of(o: BObjects) -> frozenset[str]:
    """The data of every object button of the matrix on `o`, as it appears in a shown keyboard."""
    steps = (step for row in ROWS for step in (*row.setup, *row.steps))
    return frozenset(f"'callback_data': '{step.removeprefix('press:').format(o=o, own=-1, own_activity=-1)}'"
                     for step in steps if step.startswith("press:") and "{o." in step)


def _chat_state(user: SandboxUser) -> dict[int, str]:
    return {m.message_id: repr(m.raw) for m in user.chat.messages.values() if m.from_bot}


def _refusal_texts() -> set[str]:
    """Every catalogue text that says no: not allowed, not found, not yours, expired, unavailable."""
    import re
    from pathlib import Path

    keys = re.compile(r"(not_allowed|not_found|stale_button|unavailable|out_of_scope|not_member|only"
                      r"|no_activity|not_visible|stale|not_invited"
                      # what completing a picker says when the refused pick was not kept
                      r"|notice\.no_selection)$")
    texts: set[str] = set()
    for po in (Path(__file__).resolve().parents[1] / "bot" / "locales" / "en" / "LC_MESSAGES").glob("*.po"):
        for key, text in re.findall(r'msgid "([^"]+)"\nmsgstr "((?:[^"\\]|\\.)*)"', po.read_text("utf-8")):
            if keys.search(key):
                texts.add(text.replace('\\"', '"').replace("\\n", "\n").strip())
    return texts


REFUSALS = _refusal_texts()


def _document_text(data: bytes) -> str:
    if data[:2] == b"PK":  # a workbook: its XML parts
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return data.decode("utf-8", "replace")


async def _step(tg: FakeTelegram, runtime: BotRuntime, user: SandboxUser, step: str) -> CallbackQueryState | None:
    assert runtime.app is not None
    query = None
    if step.startswith("press:"):
        query = inject_callback(tg, user.id, user.to_user(), step.removeprefix("press:"))
        assert query is not None
    else:
        await user.send(step)
    await _idle(tg, runtime.app)
    return query


async def _idle(tg: FakeTelegram, app: Any) -> None:
    """Until the bot fetched every update and handled it (a shorter quiet time than wait_idle's)."""
    quiet = 0
    while quiet < 3:
        busy = bool(tg.world.updates) or not app.update_queue.empty()
        busy = busy or app.update_processor.current_concurrent_updates > 0
        quiet = 0 if busy else quiet + 1
        await asyncio.sleep(0.01)


async def _run(
    tg: FakeTelegram, runtime: BotRuntime, user: SandboxUser, row: Row, o: BObjects, own: int, own_activity: int
) -> Outcome:
    db = runtime.db
    assert db is not None
    fill = lambda step: step.format(o=o, own=own, own_activity=own_activity)  # noqa: E731
    if not any(m.from_bot for m in user.chat.messages.values()):
        await _step(tg, runtime, user, "/help")  # a bot message to press on
    for step in row.setup:
        await _step(tg, runtime, user, fill(step))
    before_rows = await _rows(db)
    before_chat = _chat_state(user)
    queries = [q for step in row.steps if (q := await _step(tg, runtime, user, fill(step))) is not None]
    deadline = time.monotonic() + 5
    while not all(q.done.is_set() for q in queries) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await _delivered(db)
    changes = _diff(before_rows, await _rows(db))
    if row.listing:  # serving a view of one's own scope is audited (an export): the presser's own row
        changes = [c for c in changes if not (c.startswith("audit_log +") and f", {user.id}, " in c)]
    shown = [repr(q.answer or {}) for q in queries]
    served = [repr(q.answer) for q in queries if ((q.answer or {}).get("text") or "").strip() not in REFUSALS | {""}]
    for message in list(user.chat.messages.values()):
        if not message.from_bot or before_chat.get(message.message_id) == repr(message.raw):
            continue
        shown.append(repr(message.raw))
        if message.raw.get("document"):
            shown.append(_document_text(await user.download(message)))
        text = (message.text or "").strip()
        if message.raw.get("document") or message.raw.get("photo") or text not in REFUSALS:
            served.append(repr(message.raw))
    await _step(tg, runtime, user, "/cancel")  # leave any conversation the row opened
    return Outcome(all(q.done.is_set() for q in queries), shown, served, changes)


@pytest.fixture
async def scope_world(tg: FakeTelegram, start_bot: StartBot) -> tuple[BotRuntime, World]:
    tg.set_rate_limits(False)
    runtime = await start_bot(flood_per_minute=10_000)
    db = runtime.db
    assert db is not None
    head = await seed_group(db, "Head association")
    branch_a = await seed_group(db, "Branch A", head)
    services = runtime.services
    assert services is not None
    own = await services.activities.create(
        owner_actor(OWNER_ID), draft(services.clock.now(), title="Branch A activity", group_ids=(branch_a,))
    )
    assert own.activity is not None
    world = World(head, branch_a, own.activity.id, await _seed_b(runtime, tg, head, "ZQPROBE"),
                  await _seed_b(runtime, tg, head, "ZQCTRL"))
    for uid, group in ((A_COORD, branch_a), (HEAD_COORD, head)):
        world.users[uid] = tg.create_user(f"Coordinator {uid}", language_code="en", user_id=uid)
        world.users[uid].state.started = True
        await seed_member(db, uid, name=f"Coordinator {uid}", group_id=group)
        await seed_coordinator(db, uid, group)
    world.users[OWNER_ID] = tg.create_user("Owner", language_code="en", user_id=OWNER_ID)
    world.users[OWNER_ID].state.started = True
    await seed_member(db, OWNER_ID, name="Owner", group_id=head)
    assert runtime.app is not None
    await wait_idle(tg, runtime.app)
    await _delivered(db)
    return runtime, world


async def test_a_coordinator_of_another_branch_is_refused_every_object_action_and_changes_nothing(
    tg: FakeTelegram, scope_world: tuple[BotRuntime, World]
) -> None:
    runtime, world = scope_world
    problems: list[str] = []
    probe_buttons = object_buttons_of(world.probe)
    with ErrorLog() as errors:
        for row in (*ROWS, *COMMANDS):
            name = f"{row.key[0]}:{row.key[1]}"
            probe = await _run(tg, runtime, world.users[A_COORD], row, world.probe, world.branch_a, world.activity_a)
            controller = world.users[OWNER_ID if row.control_owner else HEAD_COORD]
            control = await _run(tg, runtime, controller, row, world.control, world.control.group,
                                 world.control.activity)
            if not probe.answered:
                problems.append(f"{name}: a press was never answered")
            if probe.leaks("ZQPROBE", probe_buttons):
                problems.append(f"{name}: B's object shown to A: {probe.shown}")
            if probe.changes:
                problems.append(f"{name}: stored rows changed: {probe.changes[:4]}")
            if probe.served and not (row.listing or row.harmless):
                problems.append(f"{name}: served to A: {probe.served}")
            served = control.leaks("ZQCTRL") or control.changes or (control.served and not row.listing)
            if row.listing:  # the control covers both sets of B's objects (the control set may be gone by now)
                served = served or control.leaks("ZQPROBE")
            if not served:
                problems.append(f"{name}: not served to someone covering B (so the row proves nothing): "
                                f"{control.shown}")
    assert errors.records == [], errors.summary()
    assert problems == [], "\n".join(problems)
    assert tg.counters.validation_errors == []
