"""Shared fixtures: a strict sandbox Telegram, and the real bot running against it.

The database backend of the `settings`/`bot`/`start_bot` fixtures (and of `fresh_database`) is
SQLite by default; `LIAISON_TEST_BACKEND=postgresql` (or `--backend=postgresql`) runs them on
PostgreSQL: the server at `LIAISON_TEST_PG_URL` (dev.py starts one for the run) or else a
throwaway cluster for the session (tests/pg_cluster.py), one fresh database per test, cloned from
a migrated template. On PostgreSQL only tests that use the database through these fixtures run
(the others do not depend on the backend: they ran in the SQLite pass), and tests marked
`sqlite_only` (SQLite files, WAL, online backup, file modes) are skipped.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PTB_TIMEDELTA", "1")

import contextlib

from bot.app import SANDBOX_TOKEN
from bot.clock import FakeClock
from bot.config import Settings, load_settings
from bot.runtime import BotRuntime
from sandbox.server import FakeTelegram
from storage.backend import open_database
from storage.db import Database

OWNER_ID = 9000001
BACKEND_FIXTURES = frozenset({"settings", "fresh_database", "database_url", "make_database"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", choices=["sqlite", "postgresql"], default=None,
                     help="database backend of the bot fixtures (default: $LIAISON_TEST_BACKEND or sqlite)")
    parser.addoption("--shard", default=None, metavar="I/N",
                     help="run only the I-th of N shares of the test files (dev.py runs shares side by side)")


def backend(config: pytest.Config) -> str:
    return str(config.getoption("--backend") or os.environ.get("LIAISON_TEST_BACKEND") or "sqlite")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: tests of SQLite itself (files, WAL, online backup); "
                                       "skipped on PostgreSQL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _keep_backend_tests(config, items)
    _keep_shard(config, items)


def _keep_shard(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--shard I/N`: the test files in collection order dealt out like cards, the I-th pile kept
    (0 <= I < N): every test of a file runs in the same shard, each file in exactly one."""
    given = config.getoption("--shard")
    if not given:
        return
    index, _, count = str(given).partition("/")
    i, n = int(index), int(count)
    if not 0 <= i < n:
        raise pytest.UsageError(f"--shard {given}: expected I/N with 0 <= I < N")
    files: dict[str, int] = {}
    for item in items:
        files.setdefault(item.nodeid.partition("::")[0], len(files))
    keep = [item for item in items if files[item.nodeid.partition("::")[0]] % n == i]
    dropped = [item for item in items if files[item.nodeid.partition("::")[0]] % n != i]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _keep_backend_tests(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend(config) != "postgresql":
        return
    keep: list[pytest.Item] = []
    independent: list[pytest.Item] = []
    skip = pytest.mark.skip(reason="sqlite_only: tests SQLite itself")
    for item in items:
        if not BACKEND_FIXTURES & set(getattr(item, "fixturenames", ())):
            independent.append(item)
            continue
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)
        keep.append(item)
    if independent:
        config.hook.pytest_deselected(items=independent)
        items[:] = keep


_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_template(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """PostgreSQL runs: (server url, template database name); None on SQLite."""
    if backend(request.config) != "postgresql":
        yield None
        return
    import asyncio

    import psycopg

    from storage.migrations import migrate
    from storage.pg import PgDatabase
    from tests.pg_cluster import throwaway_cluster

    with contextlib.ExitStack() as stack:
        url = os.environ.get("LIAISON_TEST_PG_URL") or stack.enter_context(throwaway_cluster())
        template = f"liaison_tpl_{os.getpid()}"
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {template}")
            admin.execute(f"CREATE DATABASE {template}")

        async def prepare() -> None:
            db = await PgDatabase.connect(_with_dbname(url, template))
            try:
                await migrate(db)
            finally:
                await db.close()

        asyncio.run(prepare())
        yield f"{url}#{template}"
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")


def _with_dbname(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture
def database_url(pg_template: str | None) -> Iterator[str | None]:
    """A fresh, migrated PostgreSQL database for this test (None on SQLite)."""
    if pg_template is None:
        yield None
        return
    import psycopg

    url, template = pg_template.split("#")
    name = f"liaison_t{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield _with_dbname(url, name)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def fresh_database(database_url: str | None, tmp_path: Path) -> AsyncIterator[Database]:
    """An open database on the selected backend (SQLite: a file in tmp_path), closed afterwards."""
    db = await open_database(_DbSettings(database_url, tmp_path / "fresh.db"))
    yield db
    await db.close()


MakeDatabase = Callable[[], contextlib.AbstractAsyncContextManager[Database]]


@pytest.fixture
def make_database(pg_template: str | None) -> MakeDatabase:
    """Fresh databases on the backend under test, as many as asked for (a property test: one per
    example): `async with make_database() as db:`. SQLite: a new file (not migrated); PostgreSQL:
    a new database cloned from the migrated template, dropped afterwards. Migrating is idempotent."""

    @contextlib.asynccontextmanager
    async def make() -> AsyncIterator[Database]:
        if pg_template is None:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                db = await Database.open(Path(tmp) / "t.db")
                try:
                    yield db
                finally:
                    await db.close()
            return
        import psycopg

        from storage.pg import PgDatabase

        url, template = pg_template.split("#")
        name = f"liaison_m{os.getpid()}_{next(_numbers)}"
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        try:
            db = await PgDatabase.connect(_with_dbname(url, name))
            try:
                yield db
            finally:
                await db.close()
        finally:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
                await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return make


async def open_test_database(database_url: str | None, path: Path) -> Database:
    """A database on the backend under test: PostgreSQL at `database_url` (from the fixture of that
    name), else the SQLite file `path`. The caller closes it."""
    return await open_database(_DbSettings(database_url, path))


class _DbSettings:
    def __init__(self, url: str | None, path: Path) -> None:
        self.database = url
        self.db_path = path


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=SANDBOX_TOKEN, seed=1) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path, tg: FakeTelegram, database_url: str | None) -> Settings:
    return load_settings(
        None,
        LIAISON_DB=str(tmp_path / "liaison.db"),
        TELEGRAM_API_URL=tg.api_url,
        LIAISON_OWNERS=str(OWNER_ID),
        **({"LIAISON_DATABASE_URL": database_url} if database_url else {}),
    )


StartBot = Callable[..., Awaitable[BotRuntime]]


@pytest.fixture
async def start_bot(settings: Settings, clock: FakeClock) -> AsyncIterator[StartBot]:
    """Start (and later stop) a bot runtime; call again after stopping to 'restart' it."""
    running: list[BotRuntime] = []

    async def start(**overrides: object) -> BotRuntime:
        # Re-validate, so overrides are checked and converted like environment values.
        effective = Settings.model_validate(settings.model_dump() | overrides) if overrides else settings
        runtime = BotRuntime(effective, clock=clock, token=SANDBOX_TOKEN)
        await runtime.start()
        running.append(runtime)
        return runtime

    yield start
    for runtime in running:
        await runtime.stop()


@pytest.fixture
async def bot(start_bot: StartBot) -> BotRuntime:
    return await start_bot()
