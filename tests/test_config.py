import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_match_the_documented_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "BOT_TOKEN", "LIAISON_DB", "LIAISON_OWNERS", "LIAISON_TZ", "LIAISON_LANGUAGE", "TELEGRAM_API_URL",
        "LIAISON_TRANSPORT", "LIAISON_POLL_PAUSE",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(None)
    assert settings.token is None
    assert settings.db_path == Path("./liaison.db")
    assert settings.owners == ()
    assert settings.tz == "Asia/Shanghai"
    assert settings.language == "zh-Hans"
    assert settings.api_url == "https://api.telegram.org/bot"
    assert (settings.transport, settings.poll_pause_s) == ("aiohttp", 0.01)


def test_owner_list_is_parsed_from_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIAISON_OWNERS", " 11, 22 ,33")
    assert load_settings(None).owners == (11, 22, 33)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LIAISON_TZ", "Mars/Olympus"),
        ("LIAISON_OWNERS", "12,abc"),
        ("LIAISON_LANGUAGE", "fr"),
        ("TELEGRAM_API_URL", "ftp://example"),
        ("BOT_TOKEN", "not-a-token"),
        ("LIAISON_LISTEN", "nowhere"),
        ("LIAISON_POLL_PAUSE", "-1"),
        ("LIAISON_TRANSPORT", "curl"),
    ],
)
def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert str(caught.value).startswith(f"{name}:")


def test_invalid_token_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "supersecretvalue")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert "supersecretvalue" not in str(caught.value)


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIAISON_TZ", raising=False)
    env = tmp_path / ".env"
    env.write_text("LIAISON_TZ=Europe/Berlin\n", encoding="utf-8")
    assert load_settings(env).tz == "Europe/Berlin"


def test_cli_invalid_configuration_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "LIAISON_TZ": "Nowhere/Land", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "liaison-bot: configuration error: LIAISON_TZ: unknown time zone 'Nowhere/Land'"
    ]
    assert "Traceback" not in result.stderr


def test_cli_run_without_token_is_a_clear_error(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_env_example_lists_every_setting() -> None:
    from bot.config import Settings

    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = {line.split("=", 1)[0] for line in example.splitlines() if line and not line.startswith("#")}
    aliases = {f.alias for f in Settings.model_fields.values() if f.alias}
    assert aliases <= listed, aliases - listed


def test_env_example_as_it_is_means_sandbox_no_backups_no_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_TOKEN", "LIAISON_BACKUP_DIR", "LIAISON_WEBHOOK_URL", "LIAISON_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(ROOT / ".env.example")
    unset = (settings.token, settings.backup_dir, settings.webhook_url, settings.webhook_secret)
    assert unset == (None, None, None, None)
    assert (settings.transport, settings.poll_pause_s, settings.backup_keep) == ("aiohttp", 0.01, 7)
