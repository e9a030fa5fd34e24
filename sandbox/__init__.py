"""Strict fake Telegram Bot API server and test driver (see ``sandbox/README.md``)."""

from sandbox.driver import CallbackAnswer, CallbackResult, SandboxError, SandboxGroup, SandboxUser
from sandbox.server import DEFAULT_TOKEN, FakeTelegram, serve
from sandbox.state import SandboxMessage

__all__ = [
    "DEFAULT_TOKEN",
    "CallbackAnswer",
    "CallbackResult",
    "FakeTelegram",
    "SandboxError",
    "SandboxGroup",
    "SandboxMessage",
    "SandboxUser",
    "serve",
]
