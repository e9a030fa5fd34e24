"""Configuration from environment variables (optionally a `.env` file).

Every value is validated once at start-up; a bad or missing value becomes a
`ConfigError` naming the variable, which the CLI prints as one line (exit code 2).
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_URL = "https://api.telegram.org/bot"
Language = Literal["zh-Hans", "en"]
LANGUAGES: tuple[Language, ...] = ("zh-Hans", "en")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """'22:00-08:00' -> (22:00, 08:00); None if malformed or empty-length."""
    start_text, sep, end_text = text.strip().partition("-")
    if not sep:
        return None
    try:
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError:
        return None
    if len(start_text.strip()) != 5 or len(end_text.strip()) != 5 or start == end:
        return None
    return start, end


class ConfigError(Exception):
    """A configuration value is invalid; the message names the variable."""


class Settings(BaseSettings):
    """All settings of the bot. Environment variable names are part of the public contract."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    bot_token: SecretStr | None = Field(default=None, alias="BOT_TOKEN")
    db_path: Path = Field(default=Path("./liaison.db"), alias="LIAISON_DB")
    # PostgreSQL instead of the SQLite file: postgresql://user:password@host:port/dbname (libpq URL;
    # ?host=/run/postgresql for a Unix socket). Secret: it may hold a password.
    database_url: SecretStr | None = Field(default=None, alias="LIAISON_DATABASE_URL")
    owners: Annotated[tuple[int, ...], NoDecode] = Field(default=(), alias="LIAISON_OWNERS")
    tz: str = Field(default="Asia/Shanghai", alias="LIAISON_TZ")
    language: Language = Field(default="zh-Hans", alias="LIAISON_LANGUAGE")
    api_url: str = Field(default=DEFAULT_API_URL, alias="TELEGRAM_API_URL")
    webhook_url: str | None = Field(default=None, alias="LIAISON_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(default=None, alias="LIAISON_WEBHOOK_SECRET")
    listen: str = Field(default="0.0.0.0:8443", alias="LIAISON_LISTEN")
    transport: Literal["aiohttp", "httpx"] = Field(default="aiohttp", alias="LIAISON_TRANSPORT")
    # The event loop of `liaison-bot run`: uvloop (libuv) spends less CPU per update and per send
    # than asyncio's own loop; "asyncio" where uvloop is not installed (Windows) or for comparison.
    event_loop: Literal["uvloop", "asyncio"] = Field(default="uvloop", alias="LIAISON_EVENT_LOOP")
    # Pause after a getUpdates that returned updates, so that under load the next one collects
    # several (one request and one batch of database writes for many); an idle bot's long poll
    # still answers the first update at once. 0 = poll again immediately.
    poll_pause_s: float = Field(default=0.01, ge=0, le=1, alias="LIAISON_POLL_PAUSE")
    phone_required: bool = Field(default=False, alias="LIAISON_PHONE_REQUIRED")
    # The association's name on the work summary (工作总结); empty: the head group's name.
    association_name: str = Field(default="", max_length=100, alias="LIAISON_ASSOCIATION_NAME")
    profile_refresh_days: int = Field(default=180, ge=1, le=3650, alias="LIAISON_PROFILE_REFRESH_DAYS")
    feedback_daily_limit: int = Field(default=5, ge=1, le=1000, alias="LIAISON_FEEDBACK_DAILY_LIMIT")
    backup_dir: Path | None = Field(default=None, alias="LIAISON_BACKUP_DIR")
    backup_keep: int = Field(default=7, ge=1, le=365, alias="LIAISON_BACKUP_KEEP")
    flood_per_minute: int = Field(default=30, ge=1, le=10_000, alias="LIAISON_FLOOD_PER_MINUTE")
    quiet_hours: str = Field(default="22:00-08:00", alias="LIAISON_QUIET_HOURS")
    # A coordinator's reminder to those who have not acknowledged a notice: at most one per this many minutes.
    nudge_interval_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60, alias="LIAISON_NUDGE_INTERVAL_MINUTES")
    # The coordinator's Mini App: its public https address (unset = no Mini App buttons), the listen
    # address with long polling (for the operator's HTTPS proxy), and how old initData may be.
    webapp_url: str | None = Field(default=None, alias="LIAISON_WEBAPP_URL")
    webapp_listen: str | None = Field(default=None, alias="LIAISON_WEBAPP_LISTEN")
    webapp_max_age: int = Field(default=86400, ge=60, le=30 * 86400, alias="LIAISON_WEBAPP_MAX_AGE")

    @field_validator("owners", mode="before")
    @classmethod
    def _split_owners(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            for part in parts:
                if not part.lstrip("-").isdigit():
                    raise ValueError(f"{part!r} is not a Telegram user id")
            return tuple(int(p) for p in parts)
        return value

    @field_validator("backup_dir", "webhook_url", "webhook_secret", "bot_token", "webapp_url", "webapp_listen",
                     "database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """`NAME=` with nothing after it (as in .env.example) means "not set"."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (or unset for SQLite at LIAISON_DB)")  # never echo it
        return value

    @field_validator("tz")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        value = value.strip()
        if value and parse_quiet_hours(value) is None:
            raise ValueError("must be HH:MM-HH:MM (start and end differ), or empty for none")
        return value

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        host = urlsplit(value).hostname or ""
        if value.startswith("https://") and host:
            return value
        # Telegram only calls https webhooks; plain http is accepted for this machine only (the
        # sandbox and tests), never for an address Telegram would reach over the network.
        if value.startswith("http://") and host in LOOPBACK_HOSTS:
            return value
        raise ValueError("must be an https:// URL (http:// only for 127.0.0.1/localhost)")

    @field_validator("webapp_url")
    @classmethod
    def _check_webapp_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host = urlsplit(value).hostname or ""
        if value.startswith("https://") and host:
            return value.rstrip("/") + "/"
        # Telegram opens only https Mini Apps; http is accepted for this machine (the sandbox).
        if value.startswith("http://") and host in LOOPBACK_HOSTS:
            return value.rstrip("/") + "/"
        raise ValueError("must be an https:// URL (http:// only for 127.0.0.1/localhost)")

    @field_validator("webapp_listen")
    @classmethod
    def _check_webapp_listen(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()):
            # Telegram's secret_token alphabet; at least 16 characters. Never echo the value.
            raise ValueError("must be 16-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            # Without it anyone who finds the address could post updates as any user, the owner included.
            raise ValueError("LIAISON_WEBHOOK_SECRET: required when LIAISON_WEBHOOK_URL is set")
        return self

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT")
        return value

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        head, sep, tail = secret.partition(":")
        if not sep or not head.isdigit() or not tail:
            # Never echo the value: it is a secret.
            raise ValueError("does not look like a bot token (digits:secret)")
        return value

    @property
    def quiet(self) -> tuple[time, time] | None:
        """Quiet hours (start, end) in the configured zone, or None when switched off."""
        return parse_quiet_hours(self.quiet_hours) if self.quiet_hours else None

    @property
    def database(self) -> str | None:
        """The PostgreSQL URL, or None for SQLite at `db_path`."""
        return self.database_url.get_secret_value() if self.database_url else None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def token(self) -> str | None:
        return self.bot_token.get_secret_value() if self.bot_token else None

    @property
    def listen_host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host, int(port)


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Load settings, turning validation failures into one clear `ConfigError`."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc", ())
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        if not loc:  # a rule across several settings: the message names the variable itself
            raise ConfigError(message) from None
        raise ConfigError(f"{_alias_of(str(loc[0]))}: {message}") from None


def _alias_of(field: str) -> str:
    info = Settings.model_fields.get(field)
    if info is not None and info.alias:
        return info.alias
    return field
