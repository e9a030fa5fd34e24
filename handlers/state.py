"""Handler-side runtime state (menus, guards, deep-link routes), one per application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from handlers.menu import CommandMenu

if TYPE_CHECKING:
    from telegram import Update

    from bot.context import Ctx
    from handlers.common import FloodGuard
    from handlers.flows import GuidedFlow

StartPayloadHandler = Callable[["Update", "Ctx", str], Awaitable[None]]


@dataclass
class UiState:
    menu: CommandMenu
    flood: FloodGuard
    # deep-link prefix -> handler of the rest of the payload (e.g. "inv_" -> invites)
    start_payloads: dict[str, StartPayloadHandler] = field(default_factory=dict)
    last_owner_alert: float = float("-inf")
    # every guided flow (handlers/flows.py), in registration order
    flows: list[GuidedFlow] = field(default_factory=list)
    # users whose chat command menu this application has set (or found to need no own menu)
    menus_set: set[int] = field(default_factory=set)
