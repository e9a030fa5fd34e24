"""The `liaison-bot` command: run, sandbox, migrate, backup.

With no subcommand it runs the bot when BOT_TOKEN is set and otherwise starts the local
sandbox (a fake Telegram on this machine), saying so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings
from bot.logsetup import REDACTOR, configure_logging

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.runtime import BotRuntime
    from sandbox.server import FakeTelegram

log = logging.getLogger("liaison-bot")
EXIT_CONFIG = 2
SANDBOX_OWNER_ID = 9000001  # the owner the sandbox adds when LIAISON_OWNERS is empty
SPARE_OWNER_IDS = (9000002, 9000003)  # sandbox only: free owner ids for owners created in the web chat
DEMO_GROUP_TITLE = "Lujiazui liaison group"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.env_file)
    except ConfigError as exc:
        print(f"liaison-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    secrets = [settings.token, settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
               settings.database]
    configure_logging(args.log_level, secrets)
    command = args.command or ("run" if settings.token else "sandbox")
    quiet_libraries(sandbox=command == "sandbox")
    if command == "run" and not settings.token:
        print("liaison-bot: configuration error: BOT_TOKEN: required to run against Telegram", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if command == "run":
            return _run_reporting_failure(settings)
        if command == "sandbox":
            if args.command is None:
                print("BOT_TOKEN is not set: starting the local sandbox instead of Telegram.", flush=True)
            asyncio.run(_sandbox(settings, args))
        elif command == "migrate":
            applied = asyncio.run(_migrate(settings))
            print(f"applied migrations: {applied or 'none (up to date)'}")
        elif command == "import-groups":
            return asyncio.run(_import_groups(settings, Path(args.file)))
        elif command == "backup":
            asyncio.run(_backup(settings, Path(args.path)))
            print(f"backup written to {args.path}")
        elif command == "copy-to":
            return asyncio.run(_copy_to(settings, args.url))
    except KeyboardInterrupt:
        return 0
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liaison-bot", description=__doc__)
    parser.add_argument("--env-file", default=".env", help="optional .env file (default: ./.env)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    # Sandbox options also apply when no subcommand is given (and no BOT_TOKEN is set).
    parser.set_defaults(host="127.0.0.1", port=int(os.environ.get("LIAISON_SANDBOX_PORT", "8081")), db=None, demo=False)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot against Telegram (long polling, or webhook if configured)")
    sandbox = sub.add_parser("sandbox", help="run the bot against the local fake Telegram")
    sandbox.add_argument("--host", default=parser.get_default("host"))
    sandbox.add_argument("--port", type=int, default=parser.get_default("port"), help="fake Bot API and web chat port")
    sandbox.add_argument("--db", default=None, help="database file (default: a temporary one)")
    sandbox.add_argument("--demo", action="store_true",
                         help="load a sample association (default when started without BOT_TOKEN and no subcommand)")
    sub.add_parser("migrate", help="apply pending database migrations")
    imp = sub.add_parser("import-groups", help="create the group tree from a TOML file (first run only)")
    imp.add_argument("file")
    backup = sub.add_parser("backup", help="online backup of the live database")
    backup.add_argument("path")
    copy = sub.add_parser("copy-to", help="copy the SQLite database (LIAISON_DB) into an empty PostgreSQL one")
    copy.add_argument("url", help="postgresql://user:password@host:port/dbname of an empty database")
    return parser


# Libraries that narrate routine work at INFO: every scheduler tick (apscheduler), every font
# subset of a chart or PDF (matplotlib, fontTools). Their warnings still show.
CHATTY_LOGGERS = ("apscheduler", "matplotlib", "fontTools", "PIL")
# In the sandbox the start lines say everything; PTB's start/stop narration and the polling line are noise.
SANDBOX_CHATTY_LOGGERS = ("telegram.ext", "bot.runtime")


def quiet_libraries(*, sandbox: bool = False) -> None:
    """Routine library narration logs at WARNING and above only (an idle bot stays quiet)."""
    for name in (*CHATTY_LOGGERS, *(SANDBOX_CHATTY_LOGGERS if sandbox else ())):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def _stop_event() -> asyncio.Event:
    """An event set by SIGINT/SIGTERM (installed before start-up, so an early signal is clean)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def settle_heap() -> None:
    """Take the objects created during start-up out of the garbage collector's scans.

    After start-up the process holds ~100,000 long-lived objects (libraries, handlers,
    catalogues). Every full collection rescanned them all: 100-200 ms pauses that were the
    p99 of update handling in bench/ceiling.py. ``gc.freeze`` moves them to a permanent
    generation; later collections only look at newer objects.
    """
    gc.collect()
    gc.freeze()


EXIT_STARTUP = 1


def _run_reporting_failure(settings: Settings) -> int:
    """Run the bot; a failure (rejected token, unreachable API, bad database) ends the process
    with one redacted line and a non-zero exit code, so a supervisor restarts it."""
    try:
        with _runner(settings) as runner:
            runner.run(_run(settings))
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - the process must exit, saying why, never with a traceback holding secrets
        reason = REDACTOR.redact(f"{type(exc).__name__}: {exc}")
        print(f"liaison-bot: could not run: {reason}", file=sys.stderr, flush=True)
        return EXIT_STARTUP
    return 0


def _runner(settings: Settings) -> asyncio.Runner:
    """The event loop `run` uses: uvloop when configured and installed, else asyncio's own."""
    if settings.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("uvloop is not installed: running on asyncio's own event loop")
        else:
            return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    return asyncio.Runner()


async def _run(settings: Settings) -> None:
    from bot.runtime import BotRuntime

    stop = _stop_event()
    runtime = BotRuntime(settings)
    await runtime.start()
    settle_heap()
    log.info("liaison-bot is running; press Ctrl+C to stop")
    try:
        await stop.wait()
    finally:
        await runtime.stop()


async def _sandbox(settings: Settings, args: argparse.Namespace) -> None:
    from bot.app import SANDBOX_TOKEN
    from sandbox.server import FakeTelegram

    stop = _stop_event()
    demo = bool(args.demo) or args.command is None
    with contextlib.ExitStack() as cleanup:
        if args.db:
            db_path = Path(args.db)
            data_line = f"Data: kept in {db_path} (run again with --db {args.db} to continue)."
        else:  # each run starts afresh and leaves nothing behind
            scratch = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="liaison-sandbox-"))
            db_path = Path(scratch) / "liaison.db"
            data_line = "Data: a temporary database, removed when the sandbox stops; keep it with --db FILE."
        async with FakeTelegram(token=SANDBOX_TOKEN, host=args.host, port=args.port) as tg:
            runtime = await start_sandbox_bot(tg, settings, db_path, demo=demo)
            print(f"Web chat: http://{args.host}:{tg.port}/  <- open it in a browser to chat with the bot", flush=True)
            print(data_line, flush=True)
            print(f"Fake Bot API at {tg.api_url}; press Ctrl+C to stop.", flush=True)
            try:
                await stop.wait()
            finally:
                await runtime.stop()


async def start_sandbox_bot(tg: FakeTelegram, settings: Settings, db_path: Path, *, demo: bool,
                            clock: Clock | None = None, token: str | None = None) -> BotRuntime:
    """Prepare the sandbox (owner user, demo data and personas) and start the bot against ``tg``.

    Without LIAISON_OWNERS the sandbox owner id is used, so the web chat always has an owner; two
    spare owner ids let the web chat create further owners.
    """
    from bot.app import SANDBOX_TOKEN
    from bot.clock import Clock as RealClock
    from bot.demo import load_demo
    from bot.runtime import BotRuntime
    from storage.backend import open_database
    from storage.migrations import migrate

    configured = settings.owners or (SANDBOX_OWNER_ID,)
    owners = (*configured, *(i for i in SPARE_OWNER_IDS if i not in configured))
    sandbox_settings = settings.model_copy(update={
        "api_url": tg.api_url, "db_path": db_path, "owners": owners,
        "webapp_url": settings.webapp_url or f"{tg.base}/webapp/",  # the Mini App on the sandbox's port
    })
    clock = clock or RealClock()
    tg.owner_ids = list(owners)
    owner_lang = "en" if settings.language == "en" else "zh-hans"
    if configured[0] not in tg.world.users:
        tg.create_user("Owner", language_code=owner_lang, user_id=configured[0])
        tg.user_notes[configured[0]] = "owner (LIAISON_OWNERS)" if settings.owners else "owner (sandbox default)"
    if demo:
        db = await open_database(sandbox_settings)
        try:
            await migrate(db)
            summary = await load_demo(db, clock.now(), sandbox_settings.zone, owners[0])
        finally:
            await db.close()
        for persona in summary.personas:  # registered members who have started the bot: announcements reach them
            if persona.user_id not in tg.world.users:
                tg.create_user(persona.first_name, persona.last_name, language_code=persona.language_code,
                               user_id=persona.user_id).state.started = True
            tg.user_notes[persona.user_id] = persona.note
        for other in summary.others:  # they registered long ago: notices reach them, the page hides them
            if other.user_id not in tg.world.users:
                tg.create_user(other.first_name, other.last_name, language_code=other.language_code,
                               user_id=other.user_id).state.started = True
            tg.background_ids.add(other.user_id)
        if summary.loaded:
            print(f"Demo association loaded: {summary.groups} groups, {summary.members} members, "
                  f"{summary.coordinators} coordinator appointments, {summary.activities} activities, "
                  f"{summary.feedback} feedback items.", flush=True)
    runtime = BotRuntime(sandbox_settings, clock=clock, token=token or SANDBOX_TOKEN)
    await runtime.start()
    if runtime.webapp is not None:
        tg.webapp_handler = runtime.webapp.handle
    if demo and not any(not chat.is_private for chat in tg.world.chats.values()):
        personas = [tg.user(uid) for uid in [*owners[:1], *(p.user_id for p in summary.personas)]]
        tg.create_group(summary.chat_title or DEMO_GROUP_TITLE, personas)
    return runtime


async def _migrate(settings: Settings) -> list[int]:
    from storage.backend import open_database
    from storage.migrations import migrate

    db = await open_database(settings)
    try:
        return await migrate(db)
    finally:
        await db.close()


async def _import_groups(settings: Settings, path: Path) -> int:
    from bot.clock import Clock
    from bot.members.org import ImportError_, OrgService, load_tree
    from storage.backend import open_database
    from storage.migrations import migrate

    try:
        roots = load_tree(path)
    except (OSError, ValueError, ImportError_) as exc:
        print(f"liaison-bot: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    db = await open_database(settings)
    try:
        await migrate(db)
        created = await OrgService(db, Clock()).import_tree(roots)
    finally:
        await db.close()
    if created is None:
        print("groups already exist: nothing imported (import-groups only fills an empty tree)")
        return 0
    print(f"imported {created} groups")
    return 0


async def _backup(settings: Settings, target: Path) -> None:
    from storage.backend import open_database

    if settings.database is None and not settings.db_path.exists():
        raise SystemExit(f"liaison-bot: no database at {settings.db_path}")
    db = await open_database(settings)
    try:
        await db.backup_to(target)
    finally:
        await db.close()



async def _copy_to(settings: Settings, url: str) -> int:
    """Copy the SQLite file into the empty PostgreSQL database at `url`, verifying row counts."""
    from storage.copy import CopyError, copy_database
    from storage.db import Database, StorageError
    from storage.pg import PgDatabase

    if not url.startswith(("postgresql://", "postgres://")):
        print("liaison-bot: copy-to needs a postgresql:// URL", file=sys.stderr)
        return EXIT_CONFIG
    if not settings.db_path.exists():
        print(f"liaison-bot: no database at {settings.db_path}", file=sys.stderr)
        return 1
    REDACTOR.add_secret(url)
    source = await Database.open(settings.db_path)
    try:
        target = await PgDatabase.connect(url)
        try:
            report = await copy_database(source, target)
        finally:
            await target.close()
    except (CopyError, *StorageError) as exc:  # type: ignore[misc]  # a tuple of exception types
        print(f"liaison-bot: copy-to failed: {REDACTOR.redact(str(exc))}", file=sys.stderr)
        return 1
    finally:
        await source.close()
    for table, count in report.counts.items():
        print(f"{table:24} {count:>10} rows")
    print(f"copied {report.total} rows in {len(report.counts)} tables; row counts verified on both sides")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
