"""In-memory world of the sandbox: users, chats, messages, files, updates and counters."""

from __future__ import annotations

import asyncio
import html
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class SandboxMessage:
    """A message as the sandbox keeps it; ``raw`` is the current Bot API ``Message`` dict."""

    raw: JSON
    from_bot: bool
    html: str | None = None
    keyboard: JSON | None = None
    edited: bool = False
    deleted: bool = False

    @property
    def message_id(self) -> int:
        return int(self.raw["message_id"])

    @property
    def chat_id(self) -> int:
        return int(self.raw["chat"]["id"])

    @property
    def text(self) -> str | None:
        value = self.raw.get("text", self.raw.get("caption"))
        return None if value is None else str(value)

    @property
    def caption(self) -> str | None:
        value = self.raw.get("caption")
        return None if value is None else str(value)

    @property
    def entities(self) -> list[JSON]:
        found = self.raw.get("entities") or self.raw.get("caption_entities") or []
        return list(found)

    @property
    def reply_markup(self) -> JSON | None:
        markup = self.raw.get("reply_markup")
        return dict(markup) if markup else None

    @property
    def document(self) -> JSON | None:
        return self.raw.get("document")

    @property
    def photo(self) -> list[JSON] | None:
        return self.raw.get("photo")

    @property
    def inline_buttons(self) -> list[JSON]:
        """All inline keyboard buttons, row by row."""
        markup = self.reply_markup or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    @property
    def buttons(self) -> list[str]:
        """Flat list of inline button texts."""
        return [str(button["text"]) for button in self.inline_buttons]

    def to_json(self) -> JSON:
        """Serialisable view used by the control API."""
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "from_bot": self.from_bot,
            "text": self.text,
            "html": self.html,
            "entities": self.entities,
            "reply_markup": self.reply_markup,
            "keyboard": self.keyboard,
            "document": self.document,
            "photo": self.photo,
            "edited": self.edited,
            "deleted": self.deleted,
            "from": self.raw.get("from"),
            "date": self.raw.get("date"),
            "contact": self.raw.get("contact"),
        }


@dataclass
class UserState:
    """A fake Telegram user."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "zh-hans"
    started: bool = False
    blocked: bool = False

    def to_user(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                user[key] = getattr(self, key)
        return user


@dataclass
class ChatState:
    """A private chat or group with its message history."""

    id: int
    type: str
    title: str | None = None
    user: UserState | None = None
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    owner: int | None = None
    bot_is_member: bool = True
    bot_is_admin: bool = False
    messages: dict[int, SandboxMessage] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: JSON | None = None
    migrated_to: int | None = None
    new_bot_messages: deque[SandboxMessage] = field(default_factory=deque)
    # Woken when this chat's messages change, so a waiter on one chat is not woken by all others.
    changed: Notifier = field(default_factory=lambda: Notifier())

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    def to_chat(self) -> JSON:
        if self.user is not None:
            chat = self.user.to_user()
            chat.pop("is_bot", None)
            chat.pop("language_code", None)
            return {**chat, "type": "private"}
        return {"id": self.id, "type": self.type, "title": self.title}

    def current(self, message_id: int) -> SandboxMessage | None:
        message = self.messages.get(message_id)
        return None if message is None or message.deleted else message


@dataclass
class FileRecord:
    """Stored upload."""

    file_id: str
    file_unique_id: str
    data: bytes
    kind: str
    file_name: str | None = None
    mime_type: str | None = None
    file_path: str = ""

    def info(self) -> JSON:
        info: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                      "file_size": len(self.data)}
        if self.kind == "photo":
            info.update(width=320, height=320)
        elif self.kind == "sticker":
            info.update(width=512, height=512, type="regular", is_animated=False, is_video=False, emoji="🙂")
        else:
            if self.file_name:
                info["file_name"] = self.file_name
            if self.mime_type:
                info["mime_type"] = self.mime_type
        return info


@dataclass
class CallbackQueryState:
    """A pressed button awaiting ``answerCallbackQuery``."""

    id: str
    created: float
    answered: bool = False
    answer: JSON | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Counters:
    """What tests read: rejections, 429s, injected faults and calls per method."""

    http_429: int = 0
    validation_errors: list[tuple[str, str]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    faults_injected: int = 0
    requests: int = 0


@dataclass
class FaultConfig:
    """Fault injection settings; probabilities are per Bot API call."""

    error_rate: float = 0.0
    delay_rate: float = 0.0
    delay_s: float = 0.0
    latency_s: float = 0.0
    drop_rate: float = 0.0
    drop_after_processing: bool = False
    rate_429: float = 0.0


class Notifier:
    """Wake-up-all primitive: waiters take :meth:`event` then await it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def event(self) -> asyncio.Event:
        return self._event

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


async def wait_until(notifier: Notifier, check: Callable[[], Any], timeout: float) -> Any:  # noqa: ASYNC109
    """Re-evaluate ``check`` on every notification until it returns a truthy value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        event = notifier.event()
        result = check()
        if result:
            return result
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError("sandbox: condition not met in time")
        try:
            await asyncio.wait_for(event.wait(), remaining)
        except TimeoutError:
            continue


class World:
    """All mutable sandbox state plus update and event queues."""

    def __init__(self, bot_id: int, bot_username: str) -> None:
        self.bot_user: JSON = {"id": bot_id, "is_bot": True, "first_name": "Sandbox Bot",
                               "username": bot_username}
        self.users: dict[int, UserState] = {}
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, FileRecord] = {}
        self.callbacks: dict[str, CallbackQueryState] = {}
        self.updates: list[JSON] = []
        self.next_update_id = 1
        self.allowed_updates: list[str] = []
        self.events: list[JSON] = []
        self.changed = Notifier()
        self._seq = 0

    def next_id(self) -> int:
        self._seq += 1
        return self._seq

    def add_update(self, kind: str, payload: JSON) -> JSON | None:
        """Queue an update unless ``allowed_updates`` filters it out."""
        allowed = self.allowed_updates
        if (allowed and kind not in allowed) or (not allowed and kind in DEFAULT_EXCLUDED_UPDATES):
            return None
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.updates.append(update)
        self.changed.notify()
        return update

    def emit_event(self, kind: str, message: SandboxMessage) -> None:
        self.events.append({"seq": len(self.events) + 1, "kind": kind, "message": message.to_json()})
        chat = self.chats[message.chat_id]
        if message.from_bot and kind == "new":
            chat.new_bot_messages.append(message)
        chat.changed.notify()
        self.changed.notify()

    def new_message(self, chat: ChatState, sender: JSON, fields: JSON, from_bot: bool) -> SandboxMessage:
        """Store a new message in ``chat`` (not yet announced)."""
        raw: JSON = {"message_id": chat.next_message_id, "date": int(time.time()), "chat": chat.to_chat(),
                     "from": sender, **fields}
        chat.next_message_id += 1
        text = raw.get("text", raw.get("caption"))
        message = SandboxMessage(raw=raw, from_bot=from_bot,
                                 html=html.escape(text, quote=False) if isinstance(text, str) else None)
        chat.messages[message.message_id] = message
        return message

    def add_file(self, data: bytes, kind: str, file_name: str | None = None,
                 mime_type: str | None = None) -> FileRecord:
        number = self.next_id()
        folder = {"photo": "photos", "sticker": "stickers"}.get(kind, "documents")
        suffix = (file_name or "").rpartition(".")[2] if file_name and "." in file_name else "bin"
        if kind == "photo":
            suffix = "jpg"
        record = FileRecord(
            file_id=f"SBX{kind[:3].upper()}{number:08d}AAQ", file_unique_id=f"SBXU{number:08d}",
            data=data, kind=kind, file_name=file_name, mime_type=mime_type,
            file_path=f"{folder}/file_{number}.{suffix}",
        )
        self.files[record.file_id] = record
        return record
