"""A job whose moment passes while the event loop is busy still runs (once).

APScheduler skips a job more than `misfire_grace_time` (1 s by default) late. On a loaded start-up
that skipped the one-off job starting the delivery worker: the bot ran, and sent nothing, ever.
The application's scheduler runs late jobs whatever their delay, and a late repeating job once.
"""

from __future__ import annotations

import asyncio
import time

from tests.conftest import StartBot


async def test_a_job_whose_moment_passed_while_the_loop_was_busy_still_runs(start_bot: StartBot) -> None:
    runtime = await start_bot()
    queue = runtime.app.job_queue
    assert queue is not None
    ran: list[str] = []
    done = asyncio.Event()

    async def once(context: object) -> None:
        ran.append("once")
        done.set()

    async def tick(context: object) -> None:
        ran.append("tick")

    queue.run_once(once, 0.05)
    ticks = queue.run_repeating(tick, interval=0.25, first=0.05)
    time.sleep(1.5)  # on purpose: the event loop is busy while the moments pass
    await asyncio.wait_for(done.wait(), 10)
    ticks.schedule_removal()
    await asyncio.sleep(0.3)
    assert ran.count("once") == 1
    assert 1 <= ran.count("tick") <= 2, "six missed ticks run once (the next one may follow), not six times"
