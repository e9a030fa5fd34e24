"""Test driver: fake users and groups that talk to the bot through a :class:`FakeTelegram`."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.htmlparse import utf16_len
from sandbox.state import JSON, CallbackQueryState, ChatState, SandboxMessage, UserState, wait_until

if TYPE_CHECKING:
    from sandbox.server import FakeTelegram

MessageRef = SandboxMessage | int
ButtonSelector = str | Callable[[JSON], bool]
_query_ids = itertools.count(1)
ANONYMOUS_ADMIN: JSON = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                         "username": "GroupAnonymousBot"}


class SandboxError(Exception):
    """A driver action that a real Telegram client could not perform."""


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot passed to ``answerCallbackQuery``."""

    text: str | None
    show_alert: bool
    url: str | None


class CallbackResult:
    """Handle for a pressed inline button."""

    def __init__(self, query: CallbackQueryState, update: JSON) -> None:
        self.query = query
        self.update = update

    @property
    def answered(self) -> bool:
        return self.query.answered

    async def answer(self, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109
        """Wait until the bot answered the query; raise ``TimeoutError`` otherwise."""
        try:
            await asyncio.wait_for(self.query.done.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"callback query {self.query.id} was not answered in {timeout} s") from None
        answer = self.query.answer or {}
        return CallbackAnswer(answer.get("text"), bool(answer.get("show_alert")), answer.get("url"))


def command_entities(text: str) -> list[JSON]:
    """A ``bot_command`` entity at offset 0 when ``text`` starts with ``/``."""
    if not text.startswith("/") or len(text) < 2:
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]


class _Party:
    """Shared plumbing for posting as a user into a chat."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg

    def _post(self, chat: ChatState, sender: UserState, fields: JSON, kind: str = "message") -> JSON:
        message = self.tg.world.new_message(chat, sender.to_user(), fields, from_bot=False)
        self.tg.world.emit_event("new", message)
        self.tg.world.add_update(kind, message.raw)
        return message.raw

    def _bot_messages(self, chat: ChatState, *, include_deleted: bool = False) -> list[SandboxMessage]:
        return [m for m in chat.messages.values() if m.from_bot and (include_deleted or not m.deleted)]

    async def _next(self, chat: ChatState, timeout: float) -> SandboxMessage:  # noqa: ASYNC109
        queue = chat.new_bot_messages
        await wait_until(chat.changed, lambda: bool(queue), timeout)
        return queue.popleft()

    async def _wait_for(
        self, chat: ChatState, predicate: Callable[[SandboxMessage], bool], timeout: float  # noqa: ASYNC109
    ) -> SandboxMessage:
        def check() -> SandboxMessage | None:
            return next((m for m in self._bot_messages(chat) if predicate(m)), None)

        found: SandboxMessage = await wait_until(chat.changed, check, timeout)
        return found


class SandboxUser(_Party):
    """A fake Telegram user with a private chat to the bot."""

    def __init__(self, tg: FakeTelegram, state: UserState) -> None:
        super().__init__(tg)
        self.state = state

    def __repr__(self) -> str:
        return f"SandboxUser(id={self.id}, first_name={self.state.first_name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SandboxUser) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def id(self) -> int:
        return self.state.id

    @property
    def chat(self) -> ChatState:
        return self.tg.world.chats[self.id]

    def to_user(self) -> JSON:
        return self.state.to_user()

    # ----- sending -----------------------------------------------------------------------------------
    def _ensure_started(self) -> None:
        if self.state.blocked:
            self.unblock_bot()
        self.state.started = True

    async def _send_fields(self, fields: JSON) -> JSON:
        self._ensure_started()
        await asyncio.sleep(0)
        return self._post(self.chat, self.state, fields)

    async def send(self, text: str) -> JSON:
        """Send a private text message (commands get a ``bot_command`` entity)."""
        fields: JSON = {"text": text}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        return await self._send_fields(fields)

    async def send_edited(self, message: MessageRef, new_text: str) -> JSON:
        """Edit one of the user's own messages; the bot receives ``edited_message``."""
        target = self._find(message, from_bot=False)
        target.raw = {**target.raw, "text": new_text, "edit_date": int(time.time())}
        target.raw.pop("entities", None)
        if command_entities(new_text):
            target.raw["entities"] = command_entities(new_text)
        target.edited = True
        self.tg.world.emit_event("edit", target)
        self.tg.world.add_update("edited_message", target.raw)
        return target.raw

    async def forward(self, text: str, from_user: SandboxUser | None = None) -> JSON:
        """Forward a text message originally written by ``from_user`` (hidden user if ``None``)."""
        origin: JSON = {"type": "hidden_user", "sender_user_name": "Hidden", "date": int(time.time())}
        if from_user is not None:
            origin = {"type": "user", "sender_user": from_user.to_user(), "date": int(time.time())}
        return await self._send_fields({"text": text, "forward_origin": origin})

    async def share_contact(self, phone_number: str, *, own: bool = True, other_user_id: int | None = None,
                            first_name: str | None = None) -> JSON:
        """Share a contact; ``own=True`` sets ``contact.user_id`` to this user's id."""
        contact: JSON = {"phone_number": phone_number, "first_name": first_name or self.state.first_name}
        if own:
            contact["user_id"] = self.id
            if self.state.last_name:
                contact["last_name"] = self.state.last_name
        elif other_user_id is not None:
            contact["user_id"] = other_user_id
        return await self._send_fields({"contact": contact})

    async def send_document(self, filename: str, data: bytes, mime_type: str = "application/octet-stream",
                            caption: str | None = None) -> JSON:
        record = self.tg.world.add_file(data, "document", filename, mime_type)
        fields: JSON = {"document": record.info()}
        if caption:
            fields["caption"] = caption
        return await self._send_fields(fields)

    async def send_photo(self, data: bytes, caption: str | None = None) -> JSON:
        record = self.tg.world.add_file(data, "photo")
        fields: JSON = {"photo": [record.info()]}
        if caption:
            fields["caption"] = caption
        return await self._send_fields(fields)

    async def send_location(self, latitude: float, longitude: float) -> JSON:
        return await self._send_fields({"location": {"latitude": latitude, "longitude": longitude}})

    async def send_sticker(self) -> JSON:
        record = self.tg.world.add_file(b"RIFF\x00\x00\x00\x00WEBP", "sticker")
        return await self._send_fields({"sticker": record.info()})

    # ----- buttons -----------------------------------------------------------------------------------
    def _find(self, message: MessageRef, *, from_bot: bool = True) -> SandboxMessage:
        if isinstance(message, SandboxMessage):
            chat = self.tg.world.chats[message.chat_id]
            message_id = message.message_id
        else:
            chat, message_id = self.chat, int(message)
        found = chat.current(message_id)
        if found is None or found.from_bot != from_bot:
            who = "bot" if from_bot else "user"
            raise SandboxError(f"message {message_id} is not a current {who} message")
        return found

    async def press(self, message: MessageRef, button: ButtonSelector) -> CallbackResult:
        """Press an inline button the bot shows on ``message`` (by text or predicate on the button)."""
        target = self._find(message)
        for candidate in target.inline_buttons:
            matches = button(candidate) if callable(button) else candidate.get("text") == button
            if matches:
                if "callback_data" not in candidate:
                    raise SandboxError(f"button {candidate.get('text')!r} is not a callback button")
                return await self._callback(target, str(candidate["callback_data"]))
        raise SandboxError(f"no button {button!r} on message {target.message_id}; shown: {target.buttons}")

    async def press_data(self, message: MessageRef, data: str) -> CallbackResult:
        """Forge a callback query with arbitrary ``data`` (what a malicious client could do)."""
        return await self._callback(self._find(message), data)

    async def _callback(self, message: SandboxMessage, data: str) -> CallbackResult:
        await asyncio.sleep(0)
        query = CallbackQueryState(id=f"{self.id}{next(_query_ids):08d}", created=time.monotonic())
        self.tg.world.callbacks[query.id] = query
        payload = {"id": query.id, "from": self.to_user(), "message": message.raw,
                   "chat_instance": str(abs(message.chat_id) * 7919 % 10**12), "data": data}
        update = self.tg.world.add_update("callback_query", payload) or {}
        return CallbackResult(query, update)

    async def press_reply_button(self, text: str) -> JSON:
        """Press a button of the current reply keyboard (sends its text, or the contact)."""
        keyboard = self.chat.reply_keyboard
        if keyboard is None:
            raise SandboxError("no reply keyboard is shown")
        for row in keyboard.get("keyboard", []):
            for button in row:
                label = button if isinstance(button, str) else button.get("text")
                if label != text:
                    continue
                if keyboard.get("one_time_keyboard"):
                    self.chat.reply_keyboard = None
                if isinstance(button, dict) and button.get("request_contact"):
                    return await self.share_contact(f"+8613800{self.id % 1000000:06d}")
                return await self.send(text)
        raise SandboxError(f"no reply button {text!r}")

    # ----- blocking ----------------------------------------------------------------------------------
    def _status_update(self, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            body: JSON = {"status": status, "user": self.tg.world.bot_user}
            if status == "kicked":
                body["until_date"] = 0
            return body

        self.tg.world.add_update("my_chat_member", {
            "chat": self.chat.to_chat(), "from": self.to_user(), "date": int(time.time()),
            "old_chat_member": member(old), "new_chat_member": member(new)})

    def block_bot(self) -> None:
        if not self.state.blocked:
            self.state.blocked = True
            self._status_update("member", "kicked")

    def unblock_bot(self) -> None:
        if self.state.blocked:
            self.state.blocked = False
            self._status_update("kicked", "member")

    # ----- reading -----------------------------------------------------------------------------------
    @property
    def messages(self) -> list[SandboxMessage]:
        """Current bot messages in the private chat (edits applied, deleted ones removed)."""
        return self._bot_messages(self.chat)

    @property
    def inbox(self) -> list[SandboxMessage]:
        """Every bot message ever sent here, deleted ones included (``deleted`` flag)."""
        return self._bot_messages(self.chat, include_deleted=True)

    @property
    def last_message(self) -> SandboxMessage | None:
        current = self.messages
        return current[-1] if current else None

    @property
    def reply_keyboard(self) -> JSON | None:
        return self.chat.reply_keyboard

    async def next_message(self, timeout: float = 5.0) -> SandboxMessage:  # noqa: ASYNC109
        """The next not-yet-consumed new bot message in this chat (edits do not count)."""
        return await self._next(self.chat, timeout)

    async def wait_for(
        self, predicate: Callable[[SandboxMessage], bool], timeout: float = 5.0  # noqa: ASYNC109
    ) -> SandboxMessage:
        """Wait until a current bot message satisfies ``predicate`` (edits included)."""
        return await self._wait_for(self.chat, predicate, timeout)

    async def download(self, message: MessageRef) -> bytes:
        """Bytes of the document or (largest) photo of a bot message."""
        target = self._find(message) if isinstance(message, int) else message
        photos: list[Any] = target.photo or [None]
        info: Any = target.document or photos[-1]
        if not info:
            raise SandboxError(f"message {target.message_id} has no file")
        await asyncio.sleep(0)
        return self.tg.world.files[str(info["file_id"])].data


class SandboxGroup(_Party):
    """A group or supergroup containing sandbox users and (usually) the bot."""

    def __init__(self, tg: FakeTelegram, chat: ChatState) -> None:
        super().__init__(tg)
        self.chat = chat

    @property
    def id(self) -> int:
        return self.chat.id

    def add_bot(self) -> None:
        """Add the bot to the group (``my_chat_member`` left -> member)."""
        if self.chat.bot_is_member:
            return
        self.chat.bot_is_member = True
        owner = self.tg.world.users.get(self.chat.owner or 0)
        sender = owner.to_user() if owner else self.tg.world.bot_user
        bot = self.tg.world.bot_user
        self.tg.world.add_update("my_chat_member", {
            "chat": self.chat.to_chat(), "from": sender, "date": int(time.time()),
            "old_chat_member": {"status": "left", "user": bot},
            "new_chat_member": {"status": "member", "user": bot}})

    def add_member(self, user: SandboxUser) -> JSON:
        """A user joins: ``new_chat_members`` service message."""
        self.chat.members.add(user.id)
        return self._post(self.chat, user.state, {"new_chat_members": [user.to_user()]})

    async def send(self, user: SandboxUser, text: str) -> JSON:
        """``user`` writes ``text`` in the group."""
        if user.id not in self.chat.members:
            raise SandboxError(f"{user!r} is not a member of group {self.id}")
        fields: JSON = {"text": text}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        await asyncio.sleep(0)
        return self._post(self.chat, user.state, fields)

    async def send_anonymous_admin(self, text: str) -> JSON:
        """An anonymous admin writes: sender is @GroupAnonymousBot with ``sender_chat`` = the group."""
        fields: JSON = {"text": text, "sender_chat": self.chat.to_chat()}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        await asyncio.sleep(0)
        message = self.tg.world.new_message(self.chat, dict(ANONYMOUS_ADMIN), fields, from_bot=False)
        self.tg.world.emit_event("new", message)
        self.tg.world.add_update("message", message.raw)
        return message.raw

    def migrate_to_supergroup(self) -> SandboxGroup:
        """Upgrade to a supergroup: the old id then answers 400 with ``migrate_to_chat_id``."""
        old = self.chat
        new_id = -(1002000000000 + abs(old.id) % 10**9)
        new = ChatState(id=new_id, type="supergroup", title=old.title, members=set(old.members),
                        admins=set(old.admins), owner=old.owner, bot_is_member=old.bot_is_member)
        self.tg.world.chats[new_id] = new
        owner = self.tg.world.users.get(old.owner or 0)
        sender = owner.to_user() if owner else dict(ANONYMOUS_ADMIN)
        self.tg.world.add_update("message", self.tg.world.new_message(
            old, sender, {"migrate_to_chat_id": new_id}, from_bot=False).raw)
        old.migrated_to = new_id
        self.tg.world.add_update("message", self.tg.world.new_message(
            new, sender, {"migrate_from_chat_id": old.id}, from_bot=False).raw)
        return SandboxGroup(self.tg, new)

    @property
    def messages(self) -> list[SandboxMessage]:
        """Current bot messages in the group."""
        return self._bot_messages(self.chat)

    @property
    def all_messages(self) -> list[SandboxMessage]:
        """Current messages of everyone in the group."""
        return [m for m in self.chat.messages.values() if not m.deleted]

    async def next_message(self, timeout: float = 5.0) -> SandboxMessage:  # noqa: ASYNC109
        return await self._next(self.chat, timeout)

    async def wait_for(
        self, predicate: Callable[[SandboxMessage], bool], timeout: float = 5.0  # noqa: ASYNC109
    ) -> SandboxMessage:
        return await self._wait_for(self.chat, predicate, timeout)
