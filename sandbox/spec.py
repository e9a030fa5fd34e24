"""Bot API method catalogue and parameter decoding/validation.

The catalogue is read from the Bot API spec JSON shipped in ``sandbox/spec/api.json``
(``TELEGRAM_API_SPEC`` names another copy).  Without it only built-in checks remain.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SHIPPED_SPEC = Path(__file__).resolve().parent / "spec" / "api.json"


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional ``parameters``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(detail: str) -> ApiError:
    """A 400 ``Bad Request: detail`` error."""
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class Field:
    """One parameter of a Bot API method."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class Method:
    """A Bot API method with its parameters."""

    name: str
    fields: dict[str, Field]


_BUILTIN_REQUIRED: dict[str, tuple[str, ...]] = {
    "getMe": (),
    "getUpdates": (),
    "setWebhook": ("url",),
    "deleteWebhook": (),
    "getWebhookInfo": (),
    "sendMessage": ("chat_id", "text"),
    "editMessageText": ("text",),
    "editMessageReplyMarkup": (),
    "editMessageCaption": (),
    "deleteMessage": ("chat_id", "message_id"),
    "deleteMessages": ("chat_id", "message_ids"),
    "answerCallbackQuery": ("callback_query_id",),
    "sendPhoto": ("chat_id", "photo"),
    "sendDocument": ("chat_id", "document"),
    "sendMediaGroup": ("chat_id", "media"),
    "copyMessage": ("chat_id", "from_chat_id", "message_id"),
    "forwardMessage": ("chat_id", "from_chat_id", "message_id"),
    "getFile": ("file_id",),
    "setMyCommands": ("commands",),
    "getMyCommands": (),
    "deleteMyCommands": (),
    "setChatMenuButton": (),
    "getChat": ("chat_id",),
    "getChatMember": ("chat_id", "user_id"),
    "getChatAdministrators": ("chat_id",),
    "sendChatAction": ("chat_id", "action"),
    "leaveChat": ("chat_id",),
    "close": (),
    "logOut": (),
    "setMyDescription": (),
    "setMyShortDescription": (),
    "setMyName": (),
}


_BUILTIN_TYPES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("chat_id", "from_chat_id"), ("Integer", "String")),
    **dict.fromkeys(("message_id", "user_id", "offset", "limit", "timeout", "max_connections",
                     "cache_time"), ("Integer",)),
    **dict.fromkeys(("drop_pending_updates", "show_alert", "allow_paid_broadcast", "disable_notification",
                     "protect_content"), ("Boolean",)),
    **dict.fromkeys(("entities", "caption_entities", "allowed_updates", "commands", "media", "message_ids"),
                    ("Array of Any",)),
    **dict.fromkeys(("reply_markup", "reply_parameters", "scope", "menu_button", "link_preview_options"),
                    ("Object",)),
    **dict.fromkeys(("photo", "document"), ("InputFile", "String")),
}


def default_spec_path() -> Path:
    """Where the spec JSON is looked up."""
    env = os.environ.get("TELEGRAM_API_SPEC")
    if env:
        return Path(env)
    return SHIPPED_SPEC


def _builtin_catalogue() -> dict[str, Method]:
    catalogue: dict[str, Method] = {}
    for name, required in _BUILTIN_REQUIRED.items():
        fields = {key: Field(key, kinds, key in required) for key, kinds in _BUILTIN_TYPES.items()}
        for key in required:
            fields[key] = Field(key, _BUILTIN_TYPES.get(key, ("String",)), True)
        catalogue[name.lower()] = Method(name, fields)
    return catalogue


def load_catalogue(path: Path | None = None) -> tuple[dict[str, Method], bool]:
    """Return ``(methods by lower-case name, spec_loaded)``."""
    spec_path = path or default_spec_path()
    try:
        raw = json.loads(spec_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("Bot API spec not found at %s: spec validation is off (built-in checks only)", spec_path)
        return _builtin_catalogue(), False
    methods: dict[str, Method] = {}
    for name, body in raw["methods"].items():
        fields = {
            f["name"]: Field(f["name"], tuple(f["types"]), bool(f["required"]))
            for f in body.get("fields", [])
        }
        methods[name.lower()] = Method(name, fields)
    return methods, True


def _type_error(name: str, expected: str) -> ApiError:
    return bad_request(f'field "{name}" must be of type {expected}')


def _decode_scalar(name: str, raw: str, kind: str) -> Any:
    if kind == "Integer":
        try:
            return int(raw)
        except ValueError:
            raise _type_error(name, "Integer") from None
    if kind == "Float":
        try:
            return float(raw)
        except ValueError:
            raise _type_error(name, "Float") from None
    if kind == "Boolean":
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise _type_error(name, "Boolean")
    return raw


def _decode_json(name: str, raw: str, kind: str) -> Any:
    try:
        value = json.loads(raw)
    except ValueError:
        raise bad_request(f"can't parse {name} JSON object") from None
    if kind.startswith("Array of") and not isinstance(value, list):
        raise _type_error(name, "Array")
    if not kind.startswith("Array of") and not isinstance(value, dict):
        raise bad_request(f"object expected as {name}")
    return value


def decode_value(fld: Field, raw: Any) -> Any:
    """Decode one raw (string) parameter per its declared types; non-strings pass unchanged."""
    if not isinstance(raw, str):
        return raw
    kinds = fld.types
    if kinds == ("String",) or "InputFile" in kinds:
        return raw
    errors: list[ApiError] = []
    for kind in kinds:
        try:
            if kind in ("Integer", "Float", "Boolean"):
                return _decode_scalar(fld.name, raw, kind)
            if kind == "String":
                return raw
            return _decode_json(fld.name, raw, kind)
        except ApiError as err:
            errors.append(err)
    raise errors[0]


def validate_params(method: Method, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
    """Check required parameters and decode values; unknown parameters are ignored like Telegram."""
    decoded: dict[str, Any] = {}
    for fld in method.fields.values():
        present = fld.name in params or fld.name in files
        if not present:
            if fld.required:
                raise bad_request("message text is empty" if fld.name == "text" else f"{fld.name} is empty")
            continue
        if fld.name in params:
            decoded[fld.name] = decode_value(fld, params[fld.name])
    for key, value in params.items():
        decoded.setdefault(key, value)
    return decoded
