"""What runs on its own: the delivery worker, the regular due-work tick (bot/notices run_due, a
`DueWork` of the one scheduler) and the exact alarm that wakes the bot at the next due moment.

The database holds what is due; the job queue only wakes us. The alarm is armed at start-up, by
a light repeating check (a read), and by the handlers right after they schedule or move a notice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram.ext import JobQueue

from bot.context import Ctx, LiaisonApp
from handlers.feature import DueWork
from handlers.notices.delivery import TelegramTransport

if TYPE_CHECKING:
    from bot.services import Services

TICK_S = 30.0  # the due work runs this often (the safety net), and the alarm is re-checked as often
ALARM_SLACK_S = 0.05  # fire just after the due moment, so the row is due when we look
ALARM = "notices-alarm"


async def run_due(services: Services) -> object:
    return await services.notices.run_due()


DUE = DueWork("due", timedelta(seconds=TICK_S), run_due)


async def _alarm(context: Ctx) -> None:
    await context.services.notices.run_due()
    await arm_alarm(context.services, context.job_queue)


async def _check_alarm(context: Ctx) -> None:
    await arm_alarm(context.services, context.job_queue)


async def arm_alarm(services: Services, queue: JobQueue[Any] | None) -> None:
    """Wake the bot at the next due moment when it comes before the regular tick."""
    if queue is None:
        return
    due = await services.notices.next_due()
    if due is None:
        return
    delay = (due - services.clock.now()).total_seconds()
    if delay >= TICK_S:
        return  # the regular check gets there first
    for job in queue.get_jobs_by_name(ALARM):
        job.schedule_removal()
    queue.run_once(_alarm, max(0.0, delay) + ALARM_SLACK_S, name=ALARM)


async def recover_deliveries(app: LiaisonApp) -> None:
    """Mark deliveries a crash interrupted (before anything is sent again)."""
    services = app.bot_data.services
    if services is not None and not services.delivery.elected:
        # one process (SQLite): recover now; with several, the process taking the pacer over does
        await services.delivery.recover()


async def start_worker_and_alarm(app: LiaisonApp) -> None:
    """Start the delivery worker (it drains the outbox for every feature) and arm the alarm."""
    services = app.bot_data.services
    queue = app.job_queue
    if services is None or queue is None:
        raise RuntimeError("the services and the job queue (python-telegram-bot[job-queue]) are required")

    async def start_worker(context: Ctx) -> None:
        services.delivery.start_elected(TelegramTransport(app.bot), app.bot.token, running=lambda: app.running,
                                        spawn=app.create_task)

    queue.run_once(start_worker, 0, name="delivery-worker")
    queue.run_repeating(_check_alarm, interval=TICK_S, first=TICK_S, name="notices-alarm-check")
    await arm_alarm(services, queue)
