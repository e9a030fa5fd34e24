"""Logging: the bot token and webhook secret never appear in any log line.

Redaction happens where records are created (a log record factory), so it covers every
logger and every handler, including ones added later (tests' capture handlers).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from typing import Any

_TOKEN_IN_URL = re.compile(r"bot\d+:[\w-]+")
_BARE_TOKEN = re.compile(r"\b\d{5,}:[\w-]{20,}\b")


class Redactor:
    def __init__(self) -> None:
        self._secrets: list[str] = []

    def add_secret(self, secret: str | None) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        text = _TOKEN_IN_URL.sub("bot[REDACTED]", text)
        return _BARE_TOKEN.sub("[REDACTED]", text)


REDACTOR = Redactor()
_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = str(record.msg)
    record.msg = REDACTOR.redact(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = REDACTOR.redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
    if record.stack_info:
        record.stack_info = REDACTOR.redact(record.stack_info)
    return record


def install_redaction(secrets: Iterable[str | None] = ()) -> Redactor:
    """Redact `secrets` (and anything shaped like a token) from every log record."""
    for secret in secrets:
        REDACTOR.add_secret(secret)
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)
    # httpx/httpcore log every request URL (which holds the token) at INFO/DEBUG; aiosqlite
    # logs every statement with its parameters (personal data) at DEBUG.
    for name in ("httpx", "httpcore", "aiosqlite"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return REDACTOR


def configure_logging(level: str = "INFO", secrets: Iterable[str | None] = ()) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction(secrets)
