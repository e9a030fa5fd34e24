"""Shared pieces of the reliability tests and benches: seeding, error capture, snapshots,
raw update injection and the hostile-update generator.

Used by tests/test_reliability_*.py and by bench/{crash,faults,fuzz}.py (which put the
repository root on sys.path first).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.driver import SandboxError
from sandbox.state import CallbackQueryState
from storage.db import Database
from storage.timefmt import to_db
from tests import dbsync, factories

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
ANONYMOUS_ADMIN_ID = 1087968824
SERVICE_NOTIFICATIONS_ID = 777000

# Tables whose rows only coordinators, owners or the bot itself may create or change. A
# non-privileged sender must never change them (fuzzing and authorisation tests snapshot them).
# (Tables a member's own action may touch, such as outbox, audit_log or member_groups, are
# checked through the bystanders' rows instead.)
PRIVILEGED_TABLES = (
    "groups",
    "coordinators",
    "invites",
    "group_chats",
    "notices",
    "activities",
    "activity_series",
    "activity_groups",
    "surveys",
    "survey_questions",
    "survey_scopes",
    "feedback_notes",
    "ledger_jobs",
)


# --- seeding ----------------------------------------------------------------------------------
async def seed_group(db: Database, name: str, parent_id: int | None = None, kind: str | None = None) -> int:
    return await factories.add_group(db, name, parent_id, kind, at=to_db(NOW))


async def seed_member(
    db: Database,
    user_id: int,
    *,
    status: str = "active",
    name: str = "张伟",
    group_id: int | None = None,
    **fields: str | None,
) -> int:
    groups = () if group_id is None else (group_id,)
    return await factories.add_member(db, user_id, name, groups, None, status, at=to_db(NOW), **fields)


async def seed_coordinator(db: Database, user_id: int, group_id: int, appointed_by: int = 1) -> None:
    await factories.add_coordinator(db, user_id, group_id, appointed_by, at=to_db(NOW))


# --- observing ----------------------------------------------------------------------------------
class ErrorLog(logging.Handler):
    """Collects every record at ERROR or above from every logger (what reached the error handler)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> ErrorLog:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)

    def summary(self, limit: int = 5) -> str:
        return "\n".join(
            f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}"[:2000] for r in self.records[:limit]
        )


def table_names(path: Path | Any) -> set[str]:
    return dbsync.table_names(path)


# Columns naming who acted or which group a row belongs to (rows of another branch's own work).
_ACTOR_COLUMNS = ("created_by", "author_user_id", "user_id", "appointed_by", "sent_by")


def snapshot(
    path: Path | Any,
    tables: tuple[str, ...] = PRIVILEGED_TABLES,
    *,
    own_users: frozenset[int] = frozenset(),
    own_groups: frozenset[int] = frozenset(),
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the privileged tables that exist in the database (committed state); `path`: an
    SQLite file or the bot's settings (either backend). Left out: rows a coordinator of another
    branch may change in their own branch (`own_users` in an actor column, `own_groups`)."""
    present = table_names(path)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with dbsync.connect(path) as conn:
        for table in tables:
            if table in present:
                cursor = conn.execute(f"SELECT * FROM {table}")
                names = [d[0] for d in cursor.description]
                rows = [tuple(r) for r in cursor.fetchall()]
                kept = [r for r in rows if not _own(table, dict(zip(names, r, strict=True)), own_users, own_groups)]
                out[table] = sorted(kept, key=repr)
    return out


def _own(table: str, row: dict[str, Any], users: frozenset[int], groups: frozenset[int]) -> bool:
    keys = row.keys()
    if any(c in keys and row[c] in users for c in _ACTOR_COLUMNS):
        return True
    if "group_id" in keys and row["group_id"] in groups:
        return True
    return table == "groups" and (row["id"] in groups or row["parent_id"] in groups)


async def wait_idle(tg: Any, app: Any, timeout: float = 60.0) -> None:
    """Wait until the bot fetched every queued update and finished handling them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    quiet_since: float | None = None
    while True:
        busy = bool(tg.world.updates) or not app.update_queue.empty()
        busy = busy or app.update_processor.current_concurrent_updates > 0
        now = loop.time()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since > 0.15:
            return
        if now > deadline:
            raise TimeoutError(f"bot not idle: {len(tg.world.updates)} updates queued")
        await asyncio.sleep(0.02)


# --- raw updates ----------------------------------------------------------------------------------
def inject_message(
    tg: Any, chat_id: int, sender: dict[str, Any], fields: dict[str, Any], kind: str = "message"
) -> None:
    """Put a message from anyone (a forged or service sender too) into a chat's update stream."""
    chat = tg.world.chats[chat_id]
    message = tg.world.new_message(chat, sender, fields, from_bot=False)
    tg.world.add_update(kind, message.raw)


_query_ids = itertools.count(1)


def inject_callback(tg: Any, chat_id: int, sender: dict[str, Any], data: str) -> CallbackQueryState | None:
    """A callback query with any data, from anyone, on the chat's latest bot message.

    Telegram only lets a client press buttons of messages that exist (the data can be forged,
    the message cannot), so without a bot message in the chat nothing is sent.
    """
    chat = tg.world.chats[chat_id]
    latest = None
    for message in reversed(chat.messages.values()):
        if message.from_bot and not message.deleted:
            latest = message
            break
    if latest is None:
        return None
    query = CallbackQueryState(id=f"fz{next(_query_ids):010d}", created=time.monotonic())
    tg.world.callbacks[query.id] = query
    tg.world.add_update("callback_query", {"id": query.id, "from": sender, "message": latest.raw,
                                           "chat_instance": "1", "data": data})
    return query


# --- hostile input -------------------------------------------------------------------------------
HOSTILE_TEXTS = (
    "",
    " ",
    "<b>bold</b> <i>unclosed",
    "<script>alert(1)</script>",
    "&amp; &lt; & < > \" '",
    "*bold* _it_ `code` [link](http://x.y) ~~s~~ ||spoiler||",
    "'; DROP TABLE members; --",
    "1 OR 1=1; SELECT * FROM coordinators",
    "\x00\x01\x02\x1b[31mred\x7f",
    "\u202eevil\u202c \u200f\u0627\u0644\u0633\u0644\u0627\u0645 \u05e9\u05dc\u05d5\u05dd",
    "👨‍👩‍👧‍👦🏳️‍🌈🇨🇳" * 20,
    "浦东新联总会 企业管理技术人员联谊会 " * 10,
    "A" * 4096,
    "长" * 5000,
    "<a href='javascript:alert(1)'>x</a>",
    "\ud7ff\ue000\uffff",
    "%s %d {name} {0} {{}} $(rm -rf /)",
    "http://spam.example/" + "seo-link " * 300,
)

# Numbers that are not ASCII digits, typed where a number is asked for (capacity, ids, codes,
# weekdays, days of the month): str.isdigit() accepts some of them and int() refuses or rereads them.
NUMBER_FORMS = ("１２", "١٢", "۱۲", "¹²", "²", "⑫", "Ⅻ", "𝟙𝟚", "߁߂", "½", "十二", "1٢", "12\u200b", "-1", "0")
TYPED_NUMBERS = (
    *NUMBER_FORMS,
    *(f"weekly {n} 19:00 until 2027-01-31" for n in ("²", "⑫", "٣", "３")),
    *(f"monthly {n} 09:00 until 2027-01-31" for n in ("¹²", "⑫", "١٢", "１２")),
    "２０２７-０１-１０ １９：００", "١٢/١٢ ١٩:٠٠", "Ⅻ月⑫日",
)
HOSTILE_TEXTS = (*HOSTILE_TEXTS, *TYPED_NUMBERS)

KNOWN_COMMANDS = ("start", "help", "language", "cancel")


@dataclass
class FuzzConfig:
    """Who sends the hostile updates, and which commands and callback prefixes exist."""

    users: list[dict[str, Any]]
    group_chat_ids: list[int]
    commands: list[str] = field(default_factory=lambda: list(KNOWN_COMMANDS))
    callback_prefixes: list[str] = field(default_factory=lambda: ["lang", "home", "noop"])


def random_text(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.45:
        return rng.choice(HOSTILE_TEXTS)
    if choice < 0.75:
        alphabet = "abcXYZ 012<>&;'\"/\\%_*`[]()\n\t" + "中文联会👍\u202e\u0000\u200b"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))
    if choice < 0.9:
        return "".join(chr(rng.randint(1, 0xD7FF)) for _ in range(rng.randint(1, 60)))
    return rng.choice(HOSTILE_TEXTS) * rng.randint(2, 50)


def scope_probe_data(ids: list[int]) -> list[str]:
    """Data of every declared button, its number fields set to each of `ids` in turn."""
    from bot.callbacks import REGISTRY

    out: list[str] = []
    for button in REGISTRY.values():
        for ident in ids:
            values: dict[str, int | str] = {}
            for name, kind in button.fields:
                values[name] = ident if kind is int else (kind[0] if isinstance(kind, tuple) else str(ident))
            try:
                out.append(button.data(**values))
            except ValueError:
                continue
    return out


def random_callback_data(rng: random.Random, prefixes: list[str]) -> str:
    prefix = rng.choice([*prefixes, "admin", "x", ""])
    args = [
        rng.choice(["", "0", "-1", "1", "2", "999999999999999999999", "abc", "%00", "1.5", "NaN", "٣", "😀",
                    "' OR 1=1", "\x00", str(rng.randint(0, 10**6)),
                    # digits and numbers that are not ASCII: str.isdigit() accepts some, int() not all
                    "²", "¹²", "١٢", "１２", "①", "⑫", "Ⅻ", "߁", "𝟙", "۱۲", "½"])
        for _ in range(rng.randint(0, 5))
    ]
    data = ":".join([prefix, *args])
    if rng.random() < 0.1:
        data = data + ":" * rng.randint(1, 70)
    encoded = data.encode("utf-8", "surrogatepass")[:64].decode("utf-8", "ignore")
    return encoded or "x"


def _entities_for(text: str) -> list[dict[str, Any]]:
    if text.startswith("/") and len(text) > 1:
        command = text.split(maxsplit=1)[0]
        return [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]
    return []


@dataclass
class FuzzAction:
    """One generated update, applied to a running sandbox by `apply`."""

    kind: str
    chat_id: int
    sender: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)
    data: str = ""

    def apply(self, tg: Any) -> CallbackQueryState | None:
        if self.kind == "callback":
            query = inject_callback(tg, self.chat_id, self.sender, self.data)
            if query is None:
                inject_message(tg, self.chat_id, self.sender, {"text": "/start", "entities": _entities_for("/start")})
            return query
        if self.kind == "edited":
            chat = tg.world.chats[self.chat_id]
            own = [m for m in chat.messages.values() if not m.from_bot]
            if own:
                target = own[-1]
                target.raw = {**target.raw, **self.fields, "edit_date": int(time.time())}
                tg.world.add_update("edited_message", target.raw)
            else:
                inject_message(tg, self.chat_id, self.sender, self.fields)
        else:
            inject_message(tg, self.chat_id, self.sender, self.fields)
        return None


def generate(rng: random.Random, cfg: FuzzConfig, count: int) -> Iterator[FuzzAction]:
    """`count` hostile updates of every shape, reproducible from the seed."""
    anon = {"id": ANONYMOUS_ADMIN_ID, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    service = {"id": SERVICE_NOTIFICATIONS_ID, "is_bot": False, "first_name": "Telegram"}
    for _ in range(count):
        user = rng.choice(cfg.users)
        private = int(user["id"])
        chat_id = private
        sender = user
        roll = rng.random()
        if cfg.group_chat_ids and roll < 0.15:
            chat_id = rng.choice(cfg.group_chat_ids)
            if rng.random() < 0.3:
                sender = rng.choice([anon, service])
        text = random_text(rng)
        shape = rng.random()
        fields: dict[str, Any]
        if shape < 0.3:
            command = rng.choice([*cfg.commands, "nonsense", "start@other_bot", "START"])
            if rng.random() < 0.2:  # an object id or a count in a Unicode number form
                text = " ".join(rng.choice(NUMBER_FORMS) for _ in range(rng.randint(1, 3)))
            text = f"/{command}" + (f" {text}" if rng.random() < 0.5 else "")
            fields = {"text": text[:4096] or "/x", "entities": _entities_for(text[:4096])}
        elif shape < 0.55:
            fields = {"text": text or "."}
        elif shape < 0.75:
            # A pressed button always carries the real presser (never a service identity).
            yield FuzzAction("callback", chat_id, user, data=random_callback_data(rng, cfg.callback_prefixes))
            continue
        elif shape < 0.8:
            command = rng.choice(cfg.commands)
            edit = {"text": f"/{command}", "entities": _entities_for(f"/{command}")}
            yield FuzzAction("edited", chat_id, sender, edit)
            continue
        elif shape < 0.85:
            origin = {"type": "hidden_user", "sender_user_name": "Hidden", "date": int(time.time())}
            command = rng.choice(cfg.commands)
            fields = {"text": f"/{command}", "entities": _entities_for(f"/{command}"), "forward_origin": origin}
        elif shape < 0.88:
            fields = {"sticker": {"file_id": "SBXSTI1", "file_unique_id": "u1", "type": "regular",
                                  "width": 512, "height": 512, "is_animated": False, "is_video": False}}
        elif shape < 0.91:
            fields = {"location": {"latitude": rng.uniform(-90, 90), "longitude": rng.uniform(-180, 180)}}
        elif shape < 0.94:
            fields = {"contact": {"phone_number": rng.choice(["+8613800000000", "' OR 1=1", "<b>"]),
                                  "first_name": "x", "user_id": rng.choice([private, 1, ANONYMOUS_ADMIN_ID])}}
        elif shape < 0.97 and chat_id < 0:
            fields = {"new_chat_members": [user]} if rng.random() < 0.5 else {"left_chat_member": user}
        else:
            fields = {"text": text or ".", "sender_chat": {"id": -1001234567890, "type": "channel", "title": "c"}}
        yield FuzzAction("message", chat_id, sender, fields)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# --- the fuzz run (shared by tests/test_reliability_fuzz.py and bench/fuzz.py) -----------------
ROOT = Path(__file__).resolve().parents[1]
_CB_PATTERNS = (
    re.compile(r"""kb\.cb\(\s*["']([\w-]+)["']"""),
    re.compile(r"""pattern=r?["']\^([\w-]+)"""),
)
_COMMAND_PATTERN = re.compile(r"""CommandHandler\(\s*["'](\w+)["']""")


def discover_callback_prefixes(root: Path = ROOT) -> list[str]:
    """Every declared button's head (``prefix`` or ``prefix:action``), plus any prefix the handlers
    still build or match by hand (new features are covered too)."""
    import bot.app  # noqa: F401 - imports every feature, so every button is declared
    from bot.callbacks import REGISTRY

    found: set[str] = {f"{prefix}:{action}" if action else prefix for prefix, action in REGISTRY}
    for path in (root / "handlers").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in _CB_PATTERNS:
            found.update(pattern.findall(text))
    return sorted(found)


def discover_commands(app: Any, root: Path = ROOT) -> list[str]:
    """Commands in the app's command menu plus every CommandHandler in handlers/."""
    found = {c.command for c in app.bot_data.ui.menu.commands}
    for path in (root / "handlers").rglob("*.py"):
        found.update(_COMMAND_PATTERN.findall(path.read_text(encoding="utf-8")))
    return sorted(found)


BYSTANDER_COORDINATOR = 5_000_001
BYSTANDER_MEMBER = 5_000_002


@dataclass
class FuzzResult:
    updates: int
    seconds: float
    errors: list[str]
    validation_errors: list[tuple[str, str]]
    not_modified_edits: int
    unanswered_callbacks: int
    unanswered_data: list[str]
    privileged_changes: list[str]
    bystander_changed: bool
    prefixes: list[str]
    commands: list[str]

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "updates": self.updates,
            "seconds": round(self.seconds, 1),
            "updates_per_s": round(self.per_second, 1),
            "unhandled_errors": len(self.errors),
            "rejected_replies": len(self.validation_errors),
            "not_modified_edits": self.not_modified_edits,
            "unanswered_callbacks": self.unanswered_callbacks,
            "privileged_changes": len(self.privileged_changes),
            "bystander_changed": self.bystander_changed,
            "callback_prefixes": len(self.prefixes),
            "commands": len(self.commands),
        }


def _bystander_rows(path: Path | Any, branch: int | None = None) -> list[tuple[Any, ...]]:
    """The bystanders' rows, and with `branch` everything of their branch: the group (and its
    subtree), its coordinators, invites, memberships and the activities published to it."""
    with dbsync.connect(path) as conn:
        if branch is not None:
            like = str(conn.execute("SELECT path FROM groups WHERE id = ?", (branch,)).fetchone()[0]) + "%"
            scoped = [
                ("SELECT * FROM groups WHERE path LIKE ? ORDER BY id", (like,)),
                ("SELECT c.* FROM coordinators c JOIN groups g ON g.id = c.group_id WHERE g.path LIKE ?"
                 " ORDER BY c.user_id, c.group_id", (like,)),
                ("SELECT i.* FROM invites i JOIN groups g ON g.id = i.group_id WHERE g.path LIKE ? ORDER BY i.id",
                 (like,)),
                ("SELECT a.* FROM activities a JOIN activity_groups ag ON ag.activity_id = a.id"
                 " JOIN groups g ON g.id = ag.group_id WHERE g.path LIKE ? ORDER BY a.id", (like,)),
            ]
            branch_rows = [tuple(r) for sql, args in scoped for r in conn.execute(sql, args).fetchall()]
        else:
            branch_rows = []
        rows = conn.execute(
            "SELECT * FROM members WHERE user_id IN (?, ?) ORDER BY id", (BYSTANDER_COORDINATOR, BYSTANDER_MEMBER)
        ).fetchall()
        rows += conn.execute(
            "SELECT mg.* FROM member_groups mg JOIN members m ON m.id = mg.member_id"
            " WHERE m.user_id IN (?, ?) ORDER BY mg.member_id, mg.group_id",
            (BYSTANDER_COORDINATOR, BYSTANDER_MEMBER),
        ).fetchall()
    return [tuple(r) for r in rows] + branch_rows


async def run_fuzz(tg: Any, runtime: Any, count: int, seed: int, users: int = 60, batch: int = 150) -> FuzzResult:
    """Seed a small association, feed `count` hostile updates through the running bot, compare."""
    db = runtime.db
    app = runtime.app
    head = await seed_group(db, "浦东新联总会")
    local = await seed_group(db, "花木街道新联会", head)
    for bystander in (BYSTANDER_COORDINATOR, BYSTANDER_MEMBER):  # they talk to the bot too
        tg.create_user(f"Bystander {bystander}", language_code="en", user_id=bystander).state.started = True
    bystander_ids = [
        await seed_member(db, BYSTANDER_COORDINATOR, name="Coordinator Chen", group_id=local),
        await seed_member(db, BYSTANDER_MEMBER, name="Bystander Bai", group_id=local, phone="+8613800000001"),
    ]
    await seed_coordinator(db, BYSTANDER_COORDINATOR, local)
    # coordinators of ANOTHER branch send too (scope regressions): nothing of the bystanders'
    # branch may change; what they do in their own branch is theirs
    other = await seed_group(db, "张江科学城新联会", head)
    fuzzers = [tg.create_user(f"Fuzz {i} <b>&", language_code=("en" if i % 2 else "zh-hans")) for i in range(users)]
    other_coordinators: set[int] = set()
    for i, user in enumerate(fuzzers):
        user.state.started = True
        if i % 6 == 0:
            await seed_member(db, user.id, name=f"Other coordinator {i}", group_id=other)
            await seed_coordinator(db, user.id, other)
            other_coordinators.add(user.id)
        elif i % 3 == 1:
            await seed_member(db, user.id, name=f"Member {i}", group_id=local)
        elif i % 3 == 2:
            await seed_member(db, user.id, status="pending", name=f"Pending {i}", group_id=local)
    group = tg.create_group("陆家嘴金融城新联会", members=fuzzers[:10])
    cfg = FuzzConfig(
        users=[u.to_user() for u in fuzzers],
        group_chat_ids=[group.id],
        commands=discover_commands(app),
        callback_prefixes=discover_callback_prefixes(),
    )
    path = runtime.settings  # the database of either backend
    await wait_idle(tg, app)  # the bot has recorded the group it was added to (my_chat_member)
    await db.checkpoint()
    own = {"own_users": frozenset(other_coordinators), "own_groups": frozenset({other})}
    before = snapshot(path, **own)
    bystanders = _bystander_rows(path, local)
    rng = random.Random(seed)
    queries: list[tuple[CallbackQueryState, str]] = []
    started = time.monotonic()
    with ErrorLog() as errors:
        for sent, action in enumerate(generate(rng, cfg, count), start=1):
            query = action.apply(tg)
            if query is not None:
                queries.append((query, f"{action.chat_id}/{action.sender['id']}/{action.data}"))
            if sent % batch == 0:
                await wait_idle(tg, app)
        await wait_idle(tg, app)
        # scope probe: a coordinator of the other branch presses every declared button with the
        # ids of the bystanders' branch (its group, its members): random data rarely hits them
        prober = next(u for u in cfg.users if u["id"] in other_coordinators)
        inject_message(tg, prober["id"], prober, {"text": "/help", "entities": _entities_for("/help")})
        await wait_idle(tg, app)  # a bot message to press buttons on
        for sent, data in enumerate(scope_probe_data([local, *bystander_ids]), start=1):
            # (its presses come in a burst that the flood guard may drop: only the scope is checked)
            FuzzAction("callback", prober["id"], prober, data=data).apply(tg)
            if sent % batch == 0:
                await wait_idle(tg, app)
        await wait_idle(tg, app)
    seconds = time.monotonic() - started
    after = snapshot(path, **own)
    changes = [table for table in sorted(set(before) | set(after)) if before.get(table) != after.get(table)]
    return FuzzResult(
        updates=count,
        seconds=seconds,
        errors=[f"{r.name}: {r.getMessage()} {r.exc_text or ''}"[:6000] for r in errors.records],
        # An edit to what a message already shows ("message is not modified") happens when a user
        # presses twice before the first press is handled (the second update carries a stale copy
        # of the message); the bot ignores that answer and nothing is lost, so it is counted apart.
        validation_errors=[e for e in tg.counters.validation_errors if "message is not modified" not in e[1]],
        not_modified_edits=sum("message is not modified" in e[1] for e in tg.counters.validation_errors),
        unanswered_callbacks=sum(1 for q, _ in queries if not q.answered),
        unanswered_data=[label for q, label in queries if not q.answered][:20],
        privileged_changes=changes,
        bystander_changed=_bystander_rows(path, local) != bystanders,
        prefixes=cfg.callback_prefixes,
        commands=cfg.commands,
    )


# --- the bot as a child process, killed and restarted (crash safety) ------------------------------
class BotProcess:
    """`python -m bot run` against the sandbox, with its own database file; SIGKILL at will."""

    def __init__(self, tg: Any, workdir: Path, owners: str = "9000001", **env: str) -> None:
        self.tg = tg
        self.workdir = workdir
        self.db_path = workdir / "liaison.db"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(workdir),
            "PYTHONPATH": str(ROOT),
            "PTB_TIMEDELTA": "1",
            "BOT_TOKEN": tg.token,
            "TELEGRAM_API_URL": tg.api_url,
            "LIAISON_DB": str(self.db_path),
            "LIAISON_OWNERS": owners,
            "LIAISON_FLOOD_PER_MINUTE": "10000",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []
        self.kills = 0
        self._log = None

    def migrate(self) -> None:
        subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=self.workdir, env=self.env, check=True,
                       capture_output=True, timeout=60)

    async def start(self, timeout: float = 60.0) -> float:
        """Spawn the bot and wait until it polls for updates; return the seconds that took."""
        started = time.monotonic()
        polls = self.tg.counters.calls.get("getUpdates", 0)
        self._log = (self.workdir / "bot.log").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=self.workdir, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        while self.tg.counters.calls.get("getUpdates", 0) <= polls:
            if self.proc.poll() is not None:
                raise RuntimeError("bot exited at start:\n" + self.log_tail())
            if time.monotonic() - started > timeout:
                raise TimeoutError("bot did not start polling:\n" + self.log_tail())
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
        self.starts.append(elapsed)
        return elapsed

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.kills += 1
        self._close_log()

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._close_log()
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.proc.wait, 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 3000) -> str:
        path = self.workdir / "bot.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def error_lines(self) -> list[str]:
        path = self.workdir / "bot.log"
        if not path.exists():
            return []
        return [line for line in path.read_text(errors="replace").splitlines() if " ERROR " in line]


LANG_ACK = {"en": "Language set to English.", "zh": "已切换为中文。"}
DB_LANG = {"en": "en", "zh": "zh-Hans"}


@dataclass
class LanguageUser:
    """Toggles their language; remembers which choices the bot acknowledged."""

    user: Any
    attempts: list[tuple[str, bool]] = field(default_factory=list)  # (choice, acknowledged)
    sends: int = 0  # /language commands sent: each is answered by at most one picker

    async def step(self, rng: random.Random) -> None:
        user = self.user
        before = len(user.inbox)
        self.sends += 1
        await user.send("/language")
        try:
            picker = await user.wait_for(lambda m: user.inbox.index(m) >= before and bool(m.inline_buttons), 3)
        except (TimeoutError, ValueError):
            return
        choice = rng.choice(["en", "zh"])
        pressed = await user.press(picker, "English" if choice == "en" else "中文")
        try:
            answer = await pressed.answer(timeout=3)
        except TimeoutError:
            self.attempts.append((choice, False))
            return
        self.attempts.append((choice, answer.text == LANG_ACK[choice]))

    def answered_twice(self) -> int:
        """Messages beyond the /language commands sent (each gets one picker, and a press edits it):
        updates handled more than once."""
        return max(0, len(self.user.inbox) - self.sends)

    def check(self, stored: str | None) -> str | None:
        """None if the database agrees with what the user was told; otherwise the problem."""
        acked = [i for i, (_, ok) in enumerate(self.attempts) if ok]
        if not acked:
            return None
        last = acked[-1]
        allowed = {DB_LANG[self.attempts[last][0]]} | {DB_LANG[c] for c, _ in self.attempts[last + 1:]}
        if stored not in allowed:
            return f"user {self.user.id}: told {self.attempts[last][0]!r}, database holds {stored!r}"
        return None


SIGNUP_ACKS = ("You're signed up", "already signed up", "waitlist", "seat is held")


@dataclass
class SignupUser:
    """A member who signs up for an activity (by its button) until the bot confirms."""

    user: Any
    activity_id: int
    acked: bool = False
    attempts: int = 0

    async def step(self, rng: random.Random) -> None:
        if self.acked:
            return
        user = self.user
        if not user.messages:
            before = len(user.inbox)
            await user.send("/help")
            try:
                await user.wait_for(lambda m: user.inbox.index(m) >= before, 3)
            except (TimeoutError, ValueError):
                return
        self.attempts += 1
        pressed = await user.press_data(user.messages[-1], f"act:su:{self.activity_id}")
        try:
            answer = await pressed.answer(timeout=3)
        except TimeoutError:
            return
        self.acked = any(ack in (answer.text or "") for ack in SIGNUP_ACKS)


Rule = tuple[str, str, Any]  # (text seen in the bot's last message, action, argument)


@dataclass
class FlowUser:
    """Walks a guided conversation by answering whatever the bot last asked (`rules`), so a kill at
    any point only means answering again; `acked` once the bot says `done` (what it promised)."""

    user: Any
    start: str
    rules: list[Rule]
    done: str
    acked: bool = False
    steps: int = 0
    answer: str = ""
    repeats: int = 0
    last_rule: Rule | None = None

    async def step(self, rng: random.Random) -> None:
        if self.acked:
            return
        user = self.user
        last, text, rule = None, "", None
        for message in reversed(user.messages[-3:]):  # skip unrelated messages (a notice) that came after
            body = message.text or message.caption or ""
            if self.done in body:
                self.acked = True
                self.answer = body
                return
            rule = next((r for r in self.rules if r[0] in body), None)
            if rule is not None:
                last, text = message, body
                break
        before = len(user.inbox)
        self.steps += 1
        # the same question answered three times without progress: as a person would, start over
        # (a press can land on the copy of a question from a flow a repeated command had closed)
        self.repeats = self.repeats + 1 if rule is not None and rule == self.last_rule else 0
        self.last_rule = rule
        if self.repeats >= 3:
            self.repeats = 0
            last, rule = None, None
        try:
            await self._act(last, rule)
        except SandboxError:  # the button is gone: as a person would, get the bot's attention again
            await user.send(self.start)
        await self._settle(before, last, text)

    async def _act(self, last: Any, rule: Rule | None) -> None:
        user = self.user
        if last is None or rule is None:
            await user.send(self.start)
            return
        _, action, argument = rule
        if action == "send":
            await user.send(argument)
        elif action == "contact":
            await user.press_reply_button(argument)
        else:  # "press" a button by its text, or "choose": tick `argument`, then press Done
            button = argument
            if action == "choose":
                ticked = any("✅" in b and argument in b for b in last.buttons)
                button = "Done" if ticked else (lambda b: argument in b["text"])
            pressed = await user.press(last, button)
            with contextlib.suppress(TimeoutError):
                await pressed.answer(timeout=3)

    async def _settle(self, before: int, last: Any, text: str) -> None:
        """Wait for the bot's next word (a new message or an edit); a kill may swallow it."""
        user = self.user
        with contextlib.suppress(TimeoutError, ValueError):
            await user.wait_for(lambda m: user.inbox.index(m) >= before or (m is last and m.text != text), 3)


def _flow_lost(conn: Any, flow: FlowUser) -> list[str]:
    """What the bot confirmed to a FlowUser but the database does not hold."""
    uid = flow.user.id
    if flow.start == "/start":
        row = conn.execute("SELECT name, status FROM members WHERE user_id = ?", (uid,)).fetchone()
        if row is None or not str(row[0]).startswith("Newcomer"):
            return [f"user {uid}: told registered, database holds {row!r}"]
        return []
    ref = re.sub(r"<[^>]+>", "", flow.answer).split("reference number is ")[1].split(".")[0]
    row = conn.execute("SELECT body FROM feedback_items WHERE ref = ?", (ref,)).fetchone()
    if row is None or "Crash-test suggestion" not in str(row[0]):
        return [f"user {uid}: told feedback {ref} received, database holds {row!r}"]
    return []


def registration_user(user: Any, name: str, group: str) -> FlowUser:
    return FlowUser(user, "/start", [
        ("Privacy notice", "press", "I agree"),
        ("What is your name", "send", name),
        ("Which category", "press", "Freelancers"),
        ("Your organisation", "send", "Studio 7"),
        ("Your position", "press", "Skip"),
        ("areas of expertise", "press", "Done"),
        ("Your interests", "press", "Skip"),
        ("Share your phone number", "contact", "Share my phone number"),
        ("Which groups", "choose", group),
        ("Please check your details", "press", "Confirm"),
    ], done="You are registered")


def feedback_user(user: Any, text: str) -> FlowUser:
    return FlowUser(user, "/feedback", [
        ("What kind of feedback", "press", "Suggestion"),
        ("Please write your text", "send", text),
        ("You may send photos", "press", "Skip"),
        ("Stay anonymous?", "press", "Show my name"),
        ("Please confirm", "press", "Send"),
    ], done="Your reference number is")


async def seed_activity(db: Database, title: str, capacity: int, created_by: int) -> int:
    starts = to_db(NOW.replace(year=2027))
    ends = to_db(NOW.replace(year=2027, hour=5))
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO activities (title, starts_at, ends_at, signup_deadline, capacity, status,"
            " created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'published', ?, ?, ?)",
            (title, starts, ends, starts, capacity, created_by, to_db(NOW), to_db(NOW)),
        )


@dataclass
class CrashReport:
    kills: int
    restart_seconds: list[float]
    integrity: str
    language_acks: int
    signup_acks: int
    registrations_acked: int
    feedback_acked: int
    flows: int
    unfinished: list[str]
    lost: list[str]
    seat_problems: list[str]
    duplicate_signups: int
    bot_errors: list[str]
    notice_recipients: int = 0
    notice_received: int = 0
    notice_unattempted: int = 0
    notice_missing: list[str] = field(default_factory=list)
    notice_duplicates: int = 0
    in_flight_at_kills: int = 0
    notice_statuses: dict[str, int] = field(default_factory=dict)
    notice_unknown_never_sent: int = 0
    scheduled_items: int = 0
    scheduled_fired: int = 0
    scheduled_fired_twice: list[str] = field(default_factory=list)
    scheduled_missing: list[str] = field(default_factory=list)
    scheduled_duplicates: int = 0
    notice_resent: int = 0
    backend: str = "sqlite"
    processes: int = 1
    takeover_seconds: list[float] = field(default_factory=list)
    updates_recorded: int = 0
    updates_abandoned: int = 0
    updates_out_of_order: int = 0
    handled_twice: int = 0

    def figures(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "processes": self.processes,
            "kills": self.kills,
            "pacer_takeover_s_max": round(max(self.takeover_seconds, default=0.0), 2),
            "pacer_takeovers": len(self.takeover_seconds),
            "updates_recorded": self.updates_recorded,
            "updates_abandoned_at_kills": self.updates_abandoned,
            "updates_handled_twice": self.handled_twice,
            "chats_out_of_order": self.updates_out_of_order,
            "restart_s_median": round(percentile(self.restart_seconds, 50), 2),
            "restart_s_max": round(max(self.restart_seconds, default=0.0), 2),
            "integrity_check": self.integrity,
            "acknowledged_language_choices": self.language_acks,
            "acknowledged_signups": self.signup_acks,
            "acknowledged_registrations": self.registrations_acked,
            "acknowledged_feedback": self.feedback_acked,
            "conversations_finished": f"{self.registrations_acked + self.feedback_acked}/{self.flows}",
            "acknowledged_but_lost": len(self.lost),
            "seat_count_problems": len(self.seat_problems),
            "duplicate_signups": self.duplicate_signups,
            "bot_error_lines": len(self.bot_errors),
            "notice_recipients": self.notice_recipients,
            "notice_received": self.notice_received,
            "notice_unattempted": self.notice_unattempted,
            "notice_missing": len(self.notice_missing),
            "notice_duplicates": self.notice_duplicates,
            "notice_sends_in_flight_at_kills": self.in_flight_at_kills,
            "notice_statuses": self.notice_statuses,
            "notice_unknown_never_sent": self.notice_unknown_never_sent,
            "notice_resent_after_kills": self.notice_resent,
            "scheduled_items": self.scheduled_items,
            "scheduled_fired": self.scheduled_fired,
            "scheduled_fired_twice": len(self.scheduled_fired_twice),
            "scheduled_missing": len(self.scheduled_missing),
            "scheduled_duplicates": self.scheduled_duplicates,
        }


NOTICE_TEXT = "Crash-test notice: study day on Friday"


def _in_flight(path: Path) -> int:
    """Notice deliveries the killed process had sent (request out) but whose answer it had not recorded."""
    with sqlite3.connect(path) as conn:
        if "outbox" not in {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}:
            return 0
        return int(conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'notice' AND status = 'sending'"
                                " AND attempted_at IS NOT NULL").fetchone()[0])


SCHEDULED_TEXT = "Crash-test scheduled notice"


async def _seed_scheduled(db: Database, group_id: int, count: int, first_s: float, spacing_s: float) -> list[int]:
    """One-off scheduled notices (and one daily recurring one) to `group_id`, due during the kills."""
    from bot.notices import Recurrence, Segment
    from bot.notices.models import NewNotice
    from storage import notices as store

    now = datetime.now(UTC)
    segment = Segment(group_ids=(group_id,)).to_json()
    ids = []
    async with db.transaction() as tx:
        for i in range(count):
            due = now + timedelta(seconds=first_s + i * spacing_s)
            recurring = i == count - 1
            recurrence = None
            if recurring:
                local = due.astimezone(ZoneInfo("Asia/Shanghai"))
                recurrence = Recurrence("daily", dtime(local.hour, local.minute)).to_json()
            ids.append(await store.insert(tx, NewNotice(
                author_user_id=9000001, author_lang="en", text=f"{SCHEDULED_TEXT} #{i}", attachment=None,
                segment=segment, post_to_groups=False, paid=False, urgent=True,
                status="recurring" if recurring else "scheduled", recurrence=recurrence, next_due_at=due,
                until_at=due + timedelta(days=30) if recurring else None), now))
    return ids


class CrashTarget:
    """What the crash run kills: one bot process on an SQLite file (this class), or several on one
    PostgreSQL database (tests/multiproc_helpers.GroupTarget). `reader()` gives a synchronous
    connection with `execute(sql, params)` (SQLite's `?` placeholders) for the final checks."""

    backend = "sqlite"
    processes = 1

    def __init__(self, tg: Any, workdir: Path) -> None:
        self.bot = BotProcess(tg, workdir)
        self.takeover_seconds: list[float] = []

    async def prepare(self) -> Database:
        """Migrate; return an open database for seeding (the caller closes it)."""
        await asyncio.to_thread(self.bot.migrate)
        return await Database.open(self.bot.db_path)

    async def start(self) -> None:
        await self.bot.start()

    async def kill_and_restart(self, rng: random.Random) -> int:
        """SIGKILL a process, restart it; return the notice sends it had in flight."""
        self.bot.kill()
        in_flight = _in_flight(self.bot.db_path)
        await asyncio.sleep(rng.uniform(0, 0.3))
        await self.bot.start()
        return in_flight

    async def stop(self) -> None:
        await self.bot.stop()

    @contextlib.contextmanager
    def reader(self) -> Iterator[Any]:
        with sqlite3.connect(self.bot.db_path) as conn:
            yield conn

    def integrity(self, conn: Any) -> str:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])

    @property
    def kills(self) -> int:
        return self.bot.kills

    @property
    def restart_seconds(self) -> list[float]:
        return self.bot.starts[1:]

    def error_lines(self) -> list[str]:
        return self.bot.error_lines()


async def run_crash(tg: Any, workdir: Path, kills: int, seed: int, users: int = 24,
                    min_gap: float = 0.6, max_gap: float = 2.0, notice_recipients: int = 0,
                    scheduled: int = 0, target: CrashTarget | None = None) -> CrashReport:
    """Run a mixed workload against a bot process killed `kills` times with SIGKILL; check the data.

    `target`: the process(es) killed; by default one process on an SQLite file in `workdir`."""
    rng = random.Random(seed)
    tg.set_rate_limits(False)
    target = target or CrashTarget(tg, workdir)
    db = await target.prepare()
    try:
        head = await seed_group(db, "浦东新联总会")
        has_activities = "activities" in await db.tables()
        activity_id = await seed_activity(db, "Orienteering race", users // 4, 9000001) if has_activities else 0
        language_users: list[LanguageUser] = []
        signup_users: list[SignupUser] = []
        for i in range(users):
            user = tg.create_user(f"Crash {i}", language_code="en" if i % 2 else "zh-hans")
            if has_activities and i % 2:
                await seed_member(db, user.id, name=f"Member {i}", group_id=head)
                signup_users.append(SignupUser(user, activity_id))
            else:
                language_users.append(LanguageUser(user))
        flows: list[FlowUser] = []
        for i in range(users // 4):  # strangers who register, members who send feedback
            stranger = tg.create_user(f"Newcomer {i}", language_code="en")
            flows.append(registration_user(stranger, f"Newcomer {i}", "浦东新联总会"))
            author = tg.create_user(f"Author {i}", language_code="en")
            await seed_member(db, author.id, name=f"Author {i}", group_id=head)
            flows.append(feedback_user(author, f"Crash-test suggestion from author {i}"))
        recipients = []
        for i in range(notice_recipients):  # members who only receive the broadcast
            person = tg.create_user(f"Reader {i}", language_code="en")
            person.state.started = True
            await seed_member(db, person.id, name=f"Reader {i}", group_id=head)
            recipients.append(person)
        owner = tg.create_user("Owner", language_code="en", user_id=9000001)
        owner.state.started = True
        scheduled_readers = []
        scheduled_ids: list[int] = []
        if scheduled:  # scheduled notices fall due while the bot is being killed and restarted
            sub = await seed_group(db, "Scheduled readers", head)
            for i in range(10):
                person = tg.create_user(f"Planner {i}", language_code="en")
                person.state.started = True
                await seed_member(db, person.id, name=f"Planner {i}", group_id=sub)
                scheduled_readers.append(person)
            gap = (min_gap + max_gap) / 2
            spacing = gap * max(1, kills) / scheduled
            scheduled_ids = await _seed_scheduled(db, sub, scheduled, first_s=1.0, spacing_s=spacing)
    finally:
        await db.close()
    await target.start()
    if recipients:  # the owner broadcasts a notice; the kills below land during its delivery
        control = await compose_notice(owner, NOTICE_TEXT)
        # the owner is told the notice is going out before the kills start (they land in its delivery)
        await (await owner.press(control, "Send now")).answer(timeout=10)
    in_flight = 0
    stop = asyncio.Event()

    async def drive(actor: LanguageUser | SignupUser | FlowUser) -> None:
        local = random.Random(rng.random())
        while not stop.is_set():
            await actor.step(local)
            await asyncio.sleep(local.uniform(0, 0.05))

    drivers = [asyncio.create_task(drive(a)) for a in [*language_users, *signup_users, *flows]]
    try:
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(min_gap, max_gap))
            in_flight += await target.kill_and_restart(rng)
        await asyncio.sleep(rng.uniform(min_gap, max_gap))
        # conversations interrupted by the kills carry on with the last bot until they finish
        settle = time.monotonic() + 40
        while not all(f.acked for f in flows) and time.monotonic() < settle:
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*drivers, return_exceptions=True)
    # Let the last bot drain what is queued (updates, then deliveries), stop it cleanly, read the file.
    deadline = time.monotonic() + 60
    while tg.world.updates and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    while (recipients or scheduled_ids) and time.monotonic() < deadline:
        with target.reader() as conn:
            open_rows = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE kind = 'notice' AND status IN ('pending', 'sending')").fetchone()[0]
            open_rows += conn.execute("SELECT COUNT(*) FROM notices WHERE status = 'scheduled'").fetchone()[0]
        if not open_rows:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    await target.stop()
    with target.reader() as conn:
        integrity = target.integrity(conn)
        inbound = _inbound_figures(conn) if target.backend != "sqlite" else {}
        languages = dict(conn.execute("SELECT user_id, language FROM bot_users").fetchall())
        lost = [p for u in language_users if (p := u.check(languages.get(u.user.id))) is not None]
        seat_problems: list[str] = []
        duplicate_signups = 0
        if has_activities:
            rows = conn.execute(
                "SELECT m.user_id, s.status FROM activity_signups s JOIN members m ON m.id = s.member_id"
                " WHERE s.activity_id = ?", (activity_id,)).fetchall()
            signups = {int(uid): str(status) for uid, status in rows}
            duplicate_signups = len(rows) - len(signups)
            for u in signup_users:
                if u.acked and signups.get(u.user.id) not in ("confirmed", "waiting", "offered"):
                    lost.append(f"user {u.user.id}: told signed up, database holds {signups.get(u.user.id)!r}")
            taken, capacity = conn.execute(
                "SELECT seats_taken, capacity FROM activities WHERE id = ?", (activity_id,)).fetchone()
            holding = sum(1 for s in signups.values() if s in ("confirmed", "offered"))
            if taken != holding:
                seat_problems.append(f"seats_taken {taken} but {holding} confirmed/offered sign-ups")
            if capacity is not None and taken > capacity:
                seat_problems.append(f"seats_taken {taken} over capacity {capacity}")
        for flow in flows:
            if flow.acked:
                lost.extend(_flow_lost(conn, flow))
        notice_status: dict[int, str] = {}
        resent = 0
        if recipients:
            notice_status = {int(c): str(st) for c, st in conn.execute(
                "SELECT chat_id, status FROM outbox WHERE kind = 'notice' AND text LIKE ?", (f"%{NOTICE_TEXT}%",)
            ).fetchall()}
            resent = int(conn.execute("SELECT COALESCE(SUM(resent), 0) FROM outbox WHERE kind = 'notice'")
                         .fetchone()[0])
        fired_twice: list[str] = []
        scheduled_missing: list[str] = []
        fired = 0
        for i, notice_id in enumerate(scheduled_ids):
            status, = conn.execute("SELECT status FROM notices WHERE id = ?", (notice_id,)).fetchone()
            children = [int(r[0]) for r in conn.execute("SELECT id FROM notices WHERE parent_id = ?", (notice_id,))]
            if len(children) > 1:
                fired_twice.append(f"recurring notice {notice_id} fired {len(children)} times")
            fired += status == "sent" or len(children) > 0
            if status in ("scheduled", "recurring") and not children:
                scheduled_missing.append(f"scheduled notice {notice_id} never fired (status {status})")
            for person in scheduled_readers:
                got = sum(f"{SCHEDULED_TEXT} #{i}" in (m.text or "") for m in person.inbox)
                if got == 0:
                    scheduled_missing.append(f"member {person.id} never got scheduled notice #{i}")
    scheduled_duplicates = sum(max(0, sum(f"{SCHEDULED_TEXT} #{i}" in (m.text or "") for m in person.inbox) - 1)
                               for i in range(len(scheduled_ids)) for person in scheduled_readers)
    missing, duplicates, received, never_sent = [], 0, 0, 0
    for person in recipients:
        count = sum(NOTICE_TEXT in (m.text or "") for m in person.inbox)
        received += count > 0
        never_sent += count == 0 and notice_status.get(person.id) == "unknown"
        duplicates += max(0, count - 1)
        status = notice_status.get(person.id)
        if count == 0 and status not in ("unknown", "failed", "blocked"):
            missing.append(f"member {person.id}: nothing received, outbox says {status!r}")
    statuses: dict[str, int] = {}
    for status in notice_status.values():
        statuses[status] = statuses.get(status, 0) + 1
    return CrashReport(
        kills=target.kills,
        restart_seconds=target.restart_seconds,
        integrity=integrity,
        language_acks=sum(ok for u in language_users for _, ok in u.attempts),
        signup_acks=sum(u.acked for u in signup_users),
        flows=len(flows),
        unfinished=[f"{f.start} user {f.user.id} after {f.steps} steps, last: "
                    + " | ".join(repr((m.text or "")[:60]) + str(m.buttons) for m in f.user.messages[-2:])
                    for f in flows if not f.acked],
        registrations_acked=sum(f.acked for f in flows if f.start == "/start"),
        feedback_acked=sum(f.acked for f in flows if f.start == "/feedback"),
        lost=lost,
        seat_problems=seat_problems,
        duplicate_signups=duplicate_signups,
        bot_errors=target.error_lines(),
        notice_recipients=len(recipients),
        notice_received=received,
        notice_unattempted=len(recipients) - sum(1 for p in recipients if notice_status.get(p.id) not in
                                                  (None, "pending", "sending")),
        notice_missing=missing,
        notice_duplicates=duplicates,
        in_flight_at_kills=in_flight,
        notice_statuses=statuses,
        notice_unknown_never_sent=never_sent,
        scheduled_items=len(scheduled_ids),
        scheduled_fired=fired,
        scheduled_fired_twice=fired_twice,
        scheduled_missing=scheduled_missing,
        scheduled_duplicates=scheduled_duplicates,
        notice_resent=resent,
        backend=target.backend,
        processes=target.processes,
        takeover_seconds=target.takeover_seconds,
        updates_recorded=inbound.get("recorded", 0),
        updates_abandoned=inbound.get("abandoned", 0),
        updates_out_of_order=inbound.get("out_of_order", 0),
        handled_twice=sum(u.answered_twice() for u in language_users),
    )


def _inbound_figures(conn: Any) -> dict[str, int]:
    """Webhook updates recorded by the processes: how many, how many a kill interrupted mid-handling
    (never handled again), and chats whose updates were not handled in update_id order."""
    rows = conn.execute("SELECT chat_key, update_id, state, taken_at FROM inbound_updates"
                        " ORDER BY chat_key, update_id").fetchall()
    out_of_order = 0
    last: dict[int, str] = {}
    for chat_key, _update_id, state, taken_at in rows:
        if state not in ("done", "abandoned") or taken_at is None:
            continue
        if chat_key in last and str(taken_at) < last[chat_key]:
            out_of_order += 1
        last[chat_key] = str(taken_at)
    return {"recorded": len(rows), "abandoned": sum(r[2] == "abandoned" for r in rows),
            "out_of_order": out_of_order}


# --- faults from Telegram ---------------------------------------------------------------------
TELEGRAM_FAULTS = {"error_rate": 0.04, "rate_429": 0.03, "drop_rate": 0.03, "delay_rate": 0.1, "delay_s": 0.3}


@dataclass
class FaultReport:
    users: int
    seconds: float
    faults_injected: int
    lost_updates: int
    unexpected_errors: list[str]
    telegram_errors: int
    owner_alerts: int
    answered_after: int

    def figures(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "seconds_to_drain": round(self.seconds, 1),
            "faults_injected": self.faults_injected,
            "lost_updates": self.lost_updates,
            "unexpected_errors": len(self.unexpected_errors),
            "telegram_errors_handled": self.telegram_errors,
            "owner_alerts": self.owner_alerts,
            "answered_after_faults": self.answered_after,
        }


async def run_faults(tg: Any, runtime: Any, users: int, seed: int, owner_id: int,
                     timeout: float = 60.0) -> FaultReport:
    """Every user presses a button while Telegram misbehaves; no press may be lost."""
    from telegram.error import TelegramError

    tg.set_rate_limits(False)
    owner = tg.create_user("Owner", language_code="en", user_id=owner_id)
    owner.state.started = True
    people = [tg.create_user(f"Fault {i}", language_code="zh-hans") for i in range(users)]
    pickers = []
    for person in people:  # faults off: everyone has a language picker on screen
        await person.send("/language")
    for person in people:
        pickers.append(await person.next_message())
    db = runtime.db
    tg.set_faults(seed=seed, **TELEGRAM_FAULTS)
    started = time.monotonic()
    with ErrorLog() as errors:
        for person, picker in zip(people, pickers, strict=True):
            await person.press(picker, "English")
        ids = [p.id for p in people]
        marks = ",".join("?" for _ in ids)
        done = 0
        while time.monotonic() - started < timeout:
            done = int(await db.fetchval(
                f"SELECT COUNT(*) FROM bot_users WHERE language = 'en' AND user_id IN ({marks})", ids))
            if done == len(ids) and not tg.world.updates:
                break
            await asyncio.sleep(0.05)
        seconds = time.monotonic() - started
        tg.set_faults()
        await wait_idle(tg, runtime.app)
    answered = 0
    for person in people:  # the bot is alive and well once Telegram behaves again
        before = len(person.inbox)
        await person.send("/help")
        try:
            await person.wait_for(lambda m, p=person, b=before: p.inbox.index(m) >= b, 5)
            answered += 1
        except TimeoutError:
            pass
    unexpected = [
        f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}"[:1500]
        for r in errors.records
        if not (r.exc_info and isinstance(r.exc_info[1], TelegramError))
    ]
    return FaultReport(
        users=users,
        seconds=seconds,
        faults_injected=tg.counters.faults_injected,
        lost_updates=len(people) - done,
        unexpected_errors=unexpected,
        telegram_errors=len(errors.records) - len(unexpected),
        owner_alerts=sum((m.text or "").startswith("⚠️") for m in owner.inbox),
        answered_after=answered,
    )


# --- a notice broadcast while Telegram misbehaves ---------------------------------------------------
@dataclass
class NoticeFaultReport:
    recipients: int
    seconds: float
    faults_injected: int
    received: int
    lost: list[str]
    duplicates: int
    statuses: dict[str, int]
    report_text: str
    report_consistent: bool
    unexpected_errors: list[str]

    def figures(self) -> dict[str, Any]:
        return {
            "recipients": self.recipients,
            "seconds_to_deliver": round(self.seconds, 1),
            "faults_injected": self.faults_injected,
            "received": self.received,
            "lost": len(self.lost),
            "duplicates": self.duplicates,
            "statuses": self.statuses,
            "sender_report_consistent": self.report_consistent,
            "unexpected_errors": len(self.unexpected_errors),
        }


async def compose_notice(owner: Any, text: str) -> Any:
    """Run /notice as `owner` up to the preview; return the control message."""
    await owner.send("/notice")
    await owner.wait_for(lambda m: "text of the notice" in (m.text or ""))
    await owner.send(text)
    ask = await owner.wait_for(lambda m: "Everyone" in m.buttons)
    await owner.press(ask, "Everyone")
    return await owner.wait_for(lambda m: m.message_id == ask.message_id and "Recipients" in (m.text or ""), 10)


async def run_notice_faults(tg: Any, runtime: Any, recipients: int, seed: int, owner_id: int,
                            faults: dict[str, Any], timeout: float = 120.0) -> NoticeFaultReport:
    """Broadcast one notice to `recipients` members while Telegram fails some calls."""
    from telegram.error import TelegramError

    from tests.notices_helpers import add_member

    db = runtime.db
    head = await seed_group(db, "浦东新联总会")
    people = []
    for n in range(recipients):
        person = tg.create_user(f"收件人{n}", language_code="en")
        await add_member(db, person, [head])
        people.append(person)
    owner = tg.create_user("Owner", language_code="en", user_id=owner_id)
    owner.state.started = True
    text = f"Study day on Friday, notice {seed}"
    control = await compose_notice(owner, text)
    tg.set_faults(seed=seed, **faults)
    started = time.monotonic()
    with ErrorLog() as errors:
        await owner.press(control, "Send now")
        while time.monotonic() - started < timeout:
            rows = await db.fetchall("SELECT status, COUNT(*) AS n FROM outbox WHERE kind = 'notice' GROUP BY status")
            statuses = {str(r["status"]): int(r["n"]) for r in rows}
            if sum(statuses.values()) == recipients and not statuses.keys() & {"pending", "sending"}:
                break
            await asyncio.sleep(0.05)
        seconds = time.monotonic() - started
        injected = tg.counters.faults_injected
        tg.set_faults()
        await wait_idle(tg, runtime.app)
        report = ""
        with contextlib.suppress(TimeoutError):
            report = (await owner.wait_for(
                lambda m: m.message_id == control.message_id and "Delivery report" in (m.text or "")
                and f"{statuses.get('sent', 0)} sent" in (m.text or ""), 10)).text or ""
    rows = await db.fetchall("SELECT chat_id, status FROM outbox WHERE kind = 'notice'")
    status_of = {int(r["chat_id"]): str(r["status"]) for r in rows}
    lost, duplicates, received = [], 0, 0
    for person in people:
        count = sum(text in (m.text or "") for m in person.inbox)
        received += count > 0
        duplicates += max(0, count - 1)
        status = status_of.get(person.id)
        if count == 0 and status not in ("failed", "unknown", "blocked"):
            lost.append(f"member {person.id}: nothing received, outbox says {status!r}")
        if count > 0 and status not in ("sent", "unknown"):
            lost.append(f"member {person.id}: received, outbox says {status!r}")
    numbers = [int(n) for n in re.findall(r"(\d+) (?:sent|blocked|failed|unknown|skipped|have not started)", report)]
    consistent = bool(report) and sum(numbers) == recipients and f"{statuses.get('sent', 0)} sent" in report
    unexpected = [
        f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}"[:1500]
        for r in errors.records
        if not (r.exc_info and isinstance(r.exc_info[1], TelegramError))
    ]
    return NoticeFaultReport(
        recipients=recipients, seconds=seconds, faults_injected=injected, received=received, lost=lost,
        duplicates=duplicates, statuses=statuses, report_text=report, report_consistent=consistent,
        unexpected_errors=unexpected,
    )
