"""The feature contract: what a feature gives the composition root, typed.

Each feature package (``handlers/<feature>/__init__.py``) exposes one ``FEATURE = Feature(...)``:

- ``register(app, menu)`` adds its conversations, commands and buttons and its menu entries;
- ``due``: work that must run every so often (scheduled rows falling due); the one scheduler
  (`arm`) runs each once at start-up (what fell due while the bot was down) and then repeatedly;
- ``on_startup``: anything else to do once the application is initialised (recovering
  interrupted deliveries, arming an exact alarm), run before the due work's first round;
- ``my_data``: the feature's part of a member's `/mydata` export (JSON-ready values).

`bot/app.py` lists the features in registration order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.context import Ctx, LiaisonApp
from handlers.menu import CommandMenu

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

Register = Callable[[LiaisonApp, CommandMenu], None]
StartupHook = Callable[[LiaisonApp], Awaitable[None]]
DueRun = Callable[["Services"], Awaitable[object]]
# (services, member id) -> this feature's part of the member's data export
MyData = Callable[["Services", int], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class DueWork:
    """Work the scheduler runs every `every` (and once at start-up, for what fell due while down)."""

    name: str
    every: timedelta
    run: DueRun
    at_start: bool = True


@dataclass(frozen=True)
class Feature:
    name: str
    register: Register
    due: Sequence[DueWork] = field(default_factory=tuple)
    on_startup: Sequence[StartupHook] = field(default_factory=tuple)
    my_data: MyData | None = None


async def start(app: LiaisonApp, features: Sequence[Feature]) -> None:
    """Start-up hooks of every feature, then the one scheduler arms every feature's due work."""
    services = app.bot_data.services
    if services is None:
        raise RuntimeError("features start after the services exist")
    for feature in features:
        for hook in feature.on_startup:
            await hook(app)
    queue = app.job_queue
    if queue is None:
        raise RuntimeError("the job queue is required (python-telegram-bot[job-queue])")
    for feature in features:
        for work in feature.due:
            name = f"{feature.name}.{work.name}"
            if work.at_start:
                await _run(name, work, services)
            for old in queue.get_jobs_by_name(name):
                old.schedule_removal()
            queue.run_repeating(_job(name, work), interval=work.every, first=work.every, name=name)


def _job(name: str, work: DueWork) -> Callable[[Ctx], Coroutine[Any, Any, None]]:
    async def job(context: Ctx) -> None:
        await _run(name, work, context.services)

    return job


async def _run(name: str, work: DueWork, services: Services) -> None:
    try:
        await work.run(services)
    except Exception:
        log.exception("due work %s failed; it runs again in %s", name, work.every)
