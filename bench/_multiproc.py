"""Several bot processes on one PostgreSQL database, for the benches (bench/scale.py's
acknowledgement storm with 2 processes, bench/crash.py). The runner lives in
tests/multiproc_helpers.py (the tests use it too); this module is the benches' import point.

    from bench._multiproc import BotGroup, PACER

    group = BotGroup(tg, workdir, url, processes=2, webhook=True, LIAISON_FLOOD_PER_MINUTE="100000")
    await group.prepare()        # connects group.db, starts the webhook proxy, migrates the database
    ...                          # seed members now (group.db is a storage.db.Database on `url`)
    await group.start_all()      # `python -m bot run` x2; returns when each is running
    pacer = await group.wait_holder(PACER)   # the process sending (one pacer per bot token)
    ...                          # the owner broadcasts through the sandbox; members press 收到
    group.rss_mb()               # resident memory of each process
    await group.close()          # SIGTERM each, stop the proxy, close group.db

`webhook=True`: Telegram's (the sandbox's) webhook requests reach the processes in turn through a
round-robin proxy (`group.proxy.received` counts each one's share), so both handle presses; each
update is recorded in `inbound_updates` before it is answered. `webhook=False`: one process long-
polls (elected), the other stands by. Extra keyword arguments are environment variables of every
process. `tg` is a running sandbox (`sandbox.server.FakeTelegram`), `url` a libpq URL of an empty
database.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.multiproc_helpers import PACER, POLLER, BotGroup, GroupTarget, PgBotProcess, RoundRobinProxy

__all__ = ["PACER", "POLLER", "BotGroup", "GroupTarget", "PgBotProcess", "RoundRobinProxy"]
