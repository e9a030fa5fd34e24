"""Bot API method implementations operating on the sandbox :class:`~sandbox.state.World`."""

from __future__ import annotations

import asyncio
import functools
import html
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox.htmlparse import EntityParseError, parse_html, utf16_len
from sandbox.ratelimit import RateLimiter
from sandbox.spec import ApiError, bad_request
from sandbox.state import JSON, ChatState, FileRecord, SandboxMessage, UserState, World

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_TEXT = 200
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"RIFF")
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")
TEXT_BUTTONS = "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


Handler = Callable[[JSON, dict[str, Upload]], Awaitable[Any]]


def forbidden(detail: str) -> ApiError:
    """A 403 ``Forbidden: detail`` error."""
    return ApiError(403, f"Forbidden: {detail}")


def render_text(
    text: str, parse_mode: str | None, entities: list[JSON] | None
) -> tuple[str, list[JSON], str]:
    """Apply ``parse_mode``; return ``(plain text, entities, html for rendering)``."""
    if not parse_mode:
        return text, list(entities or []), html.escape(text, quote=False)
    if parse_mode.lower() != "html":
        if parse_mode.lower() in ("markdown", "markdownv2"):
            raise bad_request(f"parse_mode {parse_mode} is not supported by the sandbox; use HTML")
        raise bad_request(f"unsupported parse_mode {parse_mode}")
    try:
        plain, found = _parsed_html(text)
    except EntityParseError as err:
        raise bad_request(f"can't parse entities: {err}") from None
    # each message gets entities of its own (a nested "user" too)
    return plain, [{k: dict(v) if isinstance(v, dict) else v for k, v in e.items()} for e in found], text


@functools.lru_cache(maxsize=256)
def _parsed_html(text: str) -> tuple[str, tuple[JSON, ...]]:
    """`parse_html`, once per text: a broadcast sends the same text to every recipient (read-only)."""
    plain, found = parse_html(text)
    return plain, tuple(found)


def check_markup(markup: JSON | None) -> None:
    """Validate an inline keyboard (callback_data 1-64 UTF-8 bytes) or a reply keyboard."""
    if markup is None:
        return
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "inline_keyboard" must be an Array of Arrays')
        for row in rows:
            for button in row:
                _check_inline_button(button)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" must be an Array of Arrays')
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise bad_request("can't parse reply keyboard markup JSON object")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
        raise bad_request(TEXT_BUTTONS)
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode("utf-8"))
        if not 1 <= size <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    elif not any(key in button for key in ("url", "login_url", "switch_inline_query", "web_app",
                                            "switch_inline_query_current_chat", "callback_game", "pay",
                                            "copy_text", "switch_inline_query_chosen_chat")):
        raise bad_request(TEXT_BUTTONS)
    elif "url" in button and not str(button["url"]).startswith(("http://", "https://", "tg://")):
        raise bad_request("BUTTON_URL_INVALID")


class BotApi:
    """The implemented Bot API methods; every handler takes decoded params and uploads."""

    def __init__(self, world: World, limiter: RateLimiter) -> None:
        self.world = world
        self.limiter = limiter
        self.webhook: JSON = {"url": "", "secret_token": None, "last_error_date": None,
                              "last_error_message": None, "max_connections": 40}
        self.commands: dict[tuple[str, int | None, int | None, str], list[JSON]] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.callback_ttl_s = 15.0
        self.poll_generation = 0
        self.stopping = False
        self.on_webhook_change: Callable[[], None] = lambda: None
        self.handlers: dict[str, Handler] = {
            name.lower(): getattr(self, f"m_{name}") for name in (
                "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage",
                "editMessageText", "editMessageReplyMarkup", "editMessageCaption", "deleteMessage",
                "deleteMessages", "answerCallbackQuery", "sendPhoto", "sendDocument", "sendMediaGroup",
                "copyMessage", "forwardMessage", "getFile", "setMyCommands", "getMyCommands",
                "deleteMyCommands", "setChatMenuButton", "getChat", "getChatMember", "getChatAdministrators",
                "sendChatAction", "leaveChat", "close", "logOut", "setMyDescription", "setMyShortDescription",
                "setMyName",
            )
        }

    # ----- helpers -------------------------------------------------------------------------------
    def chat(self, chat_id: Any) -> ChatState:
        """Resolve ``chat_id`` (integer or ``@username``) or raise "chat not found"."""
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self.world.chats.values():
                if chat.user is not None and chat.user.username == chat_id[1:]:
                    return chat
            raise bad_request("chat not found")
        try:
            found = self.world.chats.get(int(chat_id))
        except (TypeError, ValueError):
            found = None
        if found is None:
            raise bad_request("chat not found")
        if found.migrated_to is not None:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": found.migrated_to})
        return found

    def writable_chat(self, chat_id: Any) -> ChatState:
        """Resolve a chat the bot may post into (403 for blocked/never-started users and non-members)."""
        chat = self.chat(chat_id)
        if chat.user is not None:
            if chat.user.blocked:
                raise forbidden("bot was blocked by the user")
            if not chat.user.started:
                raise forbidden("bot can't initiate conversation with a user")
        elif not chat.bot_is_member:
            kind = "supergroup" if chat.type == "supergroup" else "group"
            raise forbidden(f"bot is not a member of the {kind} chat")
        return chat

    def gate(self, method: str, chat: ChatState, params: JSON) -> None:
        """Apply flood limits to a message-sending call."""
        retry = self.limiter.check(method, chat.id, chat.is_private, bool(params.get("allow_paid_broadcast")))
        if retry is not None:
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})

    def reply_fields(self, chat: ChatState, params: JSON) -> JSON:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict):
            return {}
        target = chat.current(int(reply.get("message_id", 0)))
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return {}
            raise bad_request("message to be replied not found")
        return {"reply_to_message": dict(target.raw)}

    def text_fields(self, params: JSON, key: str, limit: int, *, required: bool) -> tuple[JSON, str | None]:
        """Parse text or caption; returns Message fields and the HTML source for rendering."""
        raw = params.get(key)
        if raw is None:
            if required:
                raise bad_request("message text is empty")
            return {}, None
        entities_key = "entities" if key == "text" else "caption_entities"
        plain, entities, source = render_text(str(raw), params.get("parse_mode"), params.get(entities_key))
        if required and not plain.strip():
            raise bad_request("message text is empty")
        if utf16_len(plain) > limit:
            raise bad_request("message is too long" if key == "text" else "message caption is too long")
        fields: JSON = {key: plain} if plain or key == "text" else {}
        if entities:
            fields[entities_key] = entities
        return fields, source

    def post(self, chat: ChatState, fields: JSON, source: str | None, params: JSON) -> SandboxMessage:
        """Create and announce a bot message, applying the keyboard semantics of ``reply_markup``."""
        markup = params.get("reply_markup")
        check_markup(markup)
        fields = {**fields, **self.reply_fields(chat, params)}
        keyboard: JSON | None = None
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            fields["reply_markup"] = markup
        elif isinstance(markup, dict):
            keyboard = markup
        message = self.world.new_message(chat, self.world.bot_user, fields, from_bot=True)
        if source is not None:
            message.html = source
        message.keyboard = keyboard
        if keyboard is not None and "keyboard" in keyboard:
            chat.reply_keyboard = keyboard
        elif keyboard is not None and keyboard.get("remove_keyboard"):
            chat.reply_keyboard = None
        self.world.emit_event("new", message)
        return message

    def bot_message(self, params: JSON, *, action: str) -> tuple[ChatState, SandboxMessage]:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the sandbox")
        if "chat_id" not in params or "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = self.chat(params["chat_id"])
        message = chat.current(int(params["message_id"]))
        if message is None:
            raise bad_request(f"message to {action} not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    def file_for(self, params: JSON, uploads: dict[str, Upload], key: str, kind: str) -> FileRecord:
        """Resolve an uploaded part, an ``attach://`` reference or an existing ``file_id``."""
        value = params.get(key)
        upload = uploads.get(key)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value[len("attach://"):])
            if upload is None:
                raise bad_request(f"wrong file identifier/HTTP URL specified: missing part {value}")
        if upload is not None:
            return self.store_upload(upload, kind)
        record = self.world.files.get(str(value))
        if record is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if (record.kind == "photo") != (kind == "photo"):
            raise bad_request(f"can't use file of type {record.kind.title()} as {kind.title()}")
        return record

    def store_upload(self, upload: Upload, kind: str) -> FileRecord:
        if not upload.data:
            raise bad_request("file must be non-empty")
        if kind == "photo" and not upload.data.startswith(_IMAGE_MAGIC):
            raise bad_request("IMAGE_PROCESS_FAILED")
        return self.world.add_file(upload.data, kind, upload.filename, upload.content_type)

    @staticmethod
    def media_fields(record: FileRecord) -> JSON:
        if record.kind == "photo":
            return {"photo": [record.info()]}
        return {record.kind: record.info()}

    def user(self, user_id: Any) -> UserState:
        found = self.world.users.get(int(user_id))
        if found is None:
            raise bad_request("user not found")
        return found

    # ----- updates and webhook -------------------------------------------------------------------
    async def m_getMe(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return {**self.world.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    def confirm(self, offset: int) -> None:
        updates = self.world.updates
        if offset < 0:
            del updates[: max(0, len(updates) + offset)]
        else:
            self.world.updates[:] = [u for u in updates if u["update_id"] >= offset]

    async def m_getUpdates(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        if self.webhook["url"]:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        if "allowed_updates" in params:
            self.world.allowed_updates = list(params["allowed_updates"])
        if "offset" in params:
            self.confirm(int(params["offset"]))
        limit = min(100, max(1, int(params.get("limit", 100))))
        self.poll_generation += 1
        generation = self.poll_generation
        self.world.changed.notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(params.get("timeout", 0))
        while not self.world.updates:
            if generation != self.poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")
            remaining = deadline - loop.time()
            if remaining <= 0 or self.webhook["url"] or self.stopping:
                break
            event = self.world.changed.event()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                break
        return self.world.updates[:limit]

    async def m_setWebhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        url = str(params.get("url", ""))
        secret = params.get("secret_token")
        if url and not (url.startswith("https://") or re.match(r"^http://(127\.0\.0\.1|localhost)[:/]", url)):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.world.updates.clear()
        if "allowed_updates" in params:
            self.world.allowed_updates = list(params["allowed_updates"])
        connections = int(params.get("max_connections", 40))
        self.webhook.update(url=url, secret_token=secret, max_connections=connections)
        self.on_webhook_change()
        self.world.changed.notify()
        return True

    async def m_deleteWebhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        if params.get("drop_pending_updates"):
            self.world.updates.clear()
        self.webhook.update(url="", secret_token=None)
        self.on_webhook_change()
        return True

    async def m_getWebhookInfo(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        info: JSON = {"url": self.webhook["url"], "has_custom_certificate": False,
                      "pending_update_count": len(self.world.updates)}
        if self.webhook["url"]:
            info["max_connections"] = self.webhook["max_connections"]
            if self.world.allowed_updates:
                info["allowed_updates"] = self.world.allowed_updates
        for key in ("last_error_date", "last_error_message"):
            if self.webhook[key] is not None:
                info[key] = self.webhook[key]
        return info

    # ----- sending ---------------------------------------------------------------------------------
    async def m_sendMessage(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat = self.writable_chat(params["chat_id"])
        fields, source = self.text_fields(params, "text", MAX_TEXT, required=True)
        check_markup(params.get("reply_markup"))
        self.reply_fields(chat, params)
        self.gate("sendMessage", chat, params)
        return self.post(chat, fields, source, params).raw

    async def _send_media(self, method: str, key: str, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat = self.writable_chat(params["chat_id"])
        fields, source = self.text_fields(params, "caption", MAX_CAPTION, required=False)
        check_markup(params.get("reply_markup"))
        record = self.file_for(params, uploads, key, key)
        self.reply_fields(chat, params)
        self.gate(method, chat, params)
        return self.post(chat, {**self.media_fields(record), **fields}, source, params).raw

    async def m_sendPhoto(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return await self._send_media("sendPhoto", "photo", params, uploads)

    async def m_sendDocument(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return await self._send_media("sendDocument", "document", params, uploads)

    async def m_sendMediaGroup(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        chat = self.writable_chat(params["chat_id"])
        media = params["media"]
        if not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the media group: must include 2-10 items")
        kinds = {str(item.get("type")) for item in media}
        if not kinds <= {"photo", "document"}:
            raise bad_request("the sandbox supports only photo and document media groups")
        if "document" in kinds and len(kinds) > 1:
            raise bad_request("document can't be mixed with other media types")
        prepared: list[tuple[JSON, str | None]] = []
        for item in media:
            item_params = {"caption": item.get("caption"), "parse_mode": item.get("parse_mode"),
                           "caption_entities": item.get("caption_entities")}
            fields, source = self.text_fields(item_params, "caption", MAX_CAPTION, required=False)
            record = self.file_for({"media": item.get("media")}, uploads, "media", str(item["type"]))
            prepared.append(({**self.media_fields(record), **fields}, source))
        self.gate("sendMediaGroup", chat, params)
        group_id = str(self.world.next_id())
        return [self.post(chat, {**fields, "media_group_id": group_id}, source,
                          {"reply_parameters": params.get("reply_parameters")}).raw
                for fields, source in prepared]

    def _source(self, params: JSON, action: str) -> SandboxMessage:
        from_chat = self.chat(params["from_chat_id"])
        message = from_chat.current(int(params["message_id"]))
        if message is None:
            raise bad_request(f"message to {action} not found")
        return message

    @staticmethod
    def _content(message: SandboxMessage) -> JSON:
        keys = ("text", "entities", "caption", "caption_entities", "photo", "document", "contact",
                "location", "sticker")
        return {key: message.raw[key] for key in keys if key in message.raw}

    async def m_copyMessage(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat = self.writable_chat(params["chat_id"])
        source = self._source(params, "copy")
        content = self._content(source)
        rendered = source.html
        if "caption" in params:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            caption_fields, rendered = self.text_fields(params, "caption", MAX_CAPTION, required=False)
            content.update(caption_fields)
        check_markup(params.get("reply_markup"))
        self.gate("copyMessage", chat, params)
        return {"message_id": self.post(chat, content, rendered, params).message_id}

    async def m_forwardMessage(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat = self.writable_chat(params["chat_id"])
        source = self._source(params, "forward")
        self.gate("forwardMessage", chat, params)
        origin = {"type": "user", "sender_user": source.raw["from"], "date": source.raw["date"]}
        return self.post(chat, {**self._content(source), "forward_origin": origin}, source.html, {}).raw

    # ----- editing and deleting --------------------------------------------------------------------
    def _apply_edit(self, message: SandboxMessage, fields: JSON, source: str | None, params: JSON) -> JSON:
        markup = params.get("reply_markup")
        check_markup(markup)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("reply markup must be an InlineKeyboardMarkup")
        new_raw = {k: v for k, v in message.raw.items() if k not in ("reply_markup", "edit_date")}
        for key in ("text", "entities", "caption", "caption_entities"):
            if key in fields or (key.startswith("caption") and "caption" in params) or (
                    key == "entities" and "text" in fields):
                new_raw.pop(key, None)
        new_raw.update(fields)
        if markup and markup.get("inline_keyboard"):
            new_raw["reply_markup"] = markup
        old = {k: v for k, v in message.raw.items() if k != "edit_date"}
        if new_raw == old:
            raise bad_request(NOT_MODIFIED)
        message.raw = {**new_raw, "edit_date": int(time.time())}
        if source is not None:
            message.html = source
        message.edited = True
        self.world.emit_event("edit", message)
        return message.raw

    async def m_editMessageText(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        _, message = self.bot_message(params, action="edit")
        if "text" not in message.raw:
            raise bad_request("there is no text in the message to edit")
        fields, source = self.text_fields(params, "text", MAX_TEXT, required=True)
        return self._apply_edit(message, fields, source, params)

    async def m_editMessageCaption(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        _, message = self.bot_message(params, action="edit")
        if "text" in message.raw:
            raise bad_request("there is no caption in the message to edit")
        fields, source = self.text_fields(params, "caption", MAX_CAPTION, required=False)
        return self._apply_edit(message, fields, source, {**params, "caption": params.get("caption")})

    async def m_editMessageReplyMarkup(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        _, message = self.bot_message(params, action="edit")
        return self._apply_edit(message, {}, None, params)

    def _delete(self, chat: ChatState, message_id: int) -> bool:
        message = chat.current(message_id)
        if message is None:
            return False
        message.deleted = True
        self.world.emit_event("delete", message)
        return True

    async def m_deleteMessage(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        if not self._delete(self.chat(params["chat_id"]), int(params["message_id"])):
            raise bad_request("message to delete not found")
        return True

    async def m_deleteMessages(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        chat = self.chat(params["chat_id"])
        ids = params["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise bad_request("too many message identifiers specified" if ids else "message_ids is empty")
        for message_id in ids:
            self._delete(chat, int(message_id))
        return True

    async def m_answerCallbackQuery(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        query = self.world.callbacks.get(str(params["callback_query_id"]))
        expired = query is None or query.answered or time.monotonic() - query.created > self.callback_ttl_s
        if expired or query is None:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        query.answer = {"text": text, "show_alert": bool(params.get("show_alert", False)),
                        "url": params.get("url")}
        query.done.set()
        self.world.changed.notify()
        return True

    # ----- files, commands, chats ------------------------------------------------------------------
    async def m_getFile(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        record = self.world.files.get(str(params["file_id"]))
        if record is None:
            raise bad_request("invalid file_id")
        return {"file_id": record.file_id, "file_unique_id": record.file_unique_id,
                "file_size": len(record.data), "file_path": record.file_path}

    @staticmethod
    def scope_key(params: JSON) -> tuple[str, int | None, int | None, str]:
        scope = params.get("scope") or {"type": "default"}
        chat_id = scope.get("chat_id")
        user_id = scope.get("user_id")
        return (str(scope.get("type", "default")), None if chat_id is None else int(chat_id),
                None if user_id is None else int(user_id), str(params.get("language_code", "")))

    async def m_setMyCommands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        for command in commands:
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be 1-256 characters")
        self.commands[self.scope_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def m_getMyCommands(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        return self.commands.get(self.scope_key(params), [])

    async def m_deleteMyCommands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self.commands.pop(self.scope_key(params), None)
        return True

    async def m_setChatMenuButton(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        chat_id = params.get("chat_id")
        self.menu_buttons[None if chat_id is None else int(chat_id)] = params.get("menu_button") or {
            "type": "default"}
        return True

    async def m_getChat(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat = self.chat(params["chat_id"])
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                               "gifts_from_channels"), False)
        return {**chat.to_chat(), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}

    def member(self, chat: ChatState, user_id: int) -> JSON:
        if user_id == self.world.bot_user["id"]:
            status = "administrator" if chat.bot_is_admin else ("member" if chat.bot_is_member else "left")
            return self._member_json(self.world.bot_user, status)
        user = self.user(user_id)
        if chat.is_private:
            status = "member" if chat.id == user_id else "left"
        elif user_id == chat.owner:
            status = "creator"
        elif user_id in chat.admins:
            status = "administrator"
        else:
            status = "member" if user_id in chat.members else "left"
        return self._member_json(user.to_user(), status)

    @staticmethod
    def _member_json(user: JSON, status: str) -> JSON:
        member: JSON = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(dict.fromkeys((
                "can_be_edited", "is_anonymous", "can_restrict_members", "can_promote_members",
                "can_post_stories", "can_edit_stories", "can_delete_stories"), False))
            member.update(dict.fromkeys((
                "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_change_info",
                "can_invite_users"), True))
        return member

    async def m_getChatMember(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return self.member(self.chat(params["chat_id"]), int(params["user_id"]))

    async def m_getChatAdministrators(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        chat = self.chat(params["chat_id"])
        if chat.is_private:
            raise bad_request("there are no administrators in the private chat")
        ids = ([chat.owner] if chat.owner is not None else []) + sorted(chat.admins - {chat.owner})
        admins = [self.member(chat, user_id) for user_id in ids]
        if chat.bot_is_admin:
            admins.append(self.member(chat, int(self.world.bot_user["id"])))
        return admins

    async def m_sendChatAction(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self.writable_chat(params["chat_id"])
        if params["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def m_leaveChat(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        chat = self.chat(params["chat_id"])
        if chat.is_private:
            raise bad_request("chat member status can't be changed in private chats")
        if chat.bot_is_member:
            chat.bot_is_member = False
            chat.bot_is_admin = False
            self.world.add_update("my_chat_member", {
                "chat": chat.to_chat(), "from": self.world.bot_user, "date": int(time.time()),
                "old_chat_member": self._member_json(self.world.bot_user, "member"),
                "new_chat_member": self._member_json(self.world.bot_user, "left")})
        return True

    async def m_close(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        return True

    async def m_logOut(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        return True

    def _store_text(self, kind: str, params: JSON, limit: int) -> bool:
        value = str(params.get(kind, ""))
        if len(value) > limit:
            raise bad_request(f"{kind} is too long")
        self.bot_texts[(kind, str(params.get("language_code", "")))] = value
        return True

    async def m_setMyDescription(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        return self._store_text("description", params, 512)

    async def m_setMyShortDescription(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        return self._store_text("short_description", params, 120)

    async def m_setMyName(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        return self._store_text("name", params, 64)
