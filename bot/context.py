"""Typed handler context: `context.services` instead of string keys in bot_data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

if TYPE_CHECKING:
    from bot.services import Services
    from handlers.state import UiState


class BotData:
    """The application's bot_data: holds the services once the runtime has started them."""

    __slots__ = ("services", "ui")

    def __init__(self) -> None:
        self.services: Services | None = None
        self.ui: UiState | None = None


class Ctx(CallbackContext[ExtBot[None], dict[str, Any], dict[str, Any], BotData]):
    """CallbackContext with typed access to the services."""

    # Set when a plain button handler (never a conversation) handled this update: see
    # handlers/router.py and bot/app.py::flush_persistence.
    plain_button: bool = False

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services used before the runtime started them")
        return services

    @property
    def ui(self) -> UiState:
        ui = self.bot_data.ui
        if ui is None:
            raise RuntimeError("handler state used before the application was built")
        return ui


LiaisonApp = Application[ExtBot[None], Ctx, dict[str, Any], dict[str, Any], BotData, Any]
