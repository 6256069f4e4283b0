"""Settings: where each value comes from, how `.env` is read, and what a wrong value says."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings, read_env_file

TOKEN = "999:SECRET-TOKEN-VALUE"


@pytest.fixture(autouse=True)
def _no_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for field in dataclasses.fields(Settings):
        monkeypatch.delenv(field.name.upper(), raising=False)
        monkeypatch.delenv(field.name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_code_comes_before_the_environment_before_env_file_before_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "INVITE_TTL_DAYS=20\nNAG_LEAD_DAYS=3\nRETENTION_DAYS=30\n", encoding="utf-8"
    )
    monkeypatch.setenv("NAG_LEAD_DAYS", "4")
    monkeypatch.setenv("retention_days", "40")  # a name in any case
    settings = Settings(retention_days=50)
    assert settings.invite_ttl_days == 20  # .env
    assert settings.nag_lead_days == 4  # the environment over .env
    assert settings.retention_days == 50  # code over both
    assert settings.send_max_attempts == 5  # the default
    # Without .env the environment still counts.
    bare = Settings(_env_file=None)
    assert (bare.invite_ttl_days, bare.nag_lead_days, bare.retention_days) == (14, 4, 40)


def test_env_file_reads_quotes_exports_and_comments(tmp_path: Path) -> None:
    env = tmp_path / "settings.env"
    env.write_text(
        "# a comment\n"
        "\n"
        "export TELEGRAM_TOKEN='999:abc#def'\n"
        'DATABASE_URL="sqlite+aiosqlite:///./x.db"  # where the data lives\n'
        "COORDINATOR_IDS=11, 22  # two coordinators\n"
        "TELEGRAM_API_URL=\n"
        "not a setting line\n",
        encoding="utf-8",
    )
    assert read_env_file(env) == {
        "TELEGRAM_TOKEN": "999:abc#def",
        "DATABASE_URL": "sqlite+aiosqlite:///./x.db",
        "COORDINATOR_IDS": "11, 22",
        "TELEGRAM_API_URL": "",
    }
    settings = Settings(_env_file=env)
    assert settings.require_token() == "999:abc#def"
    assert settings.coordinator_ids == (11, 22)
    assert settings.telegram_api_url is None  # empty: Telegram itself
    assert read_env_file(tmp_path / "missing.env") == {}


def test_values_are_read_as_their_type() -> None:
    settings = Settings(
        _env_file=None,
        coordinator_ids="1;2 3",
        dispatch_interval_seconds="2.5",
        sandbox_port="0",
        log_level="warning",
        database_url="postgres://u@h/db",
    )
    assert settings.coordinator_ids == (1, 2, 3)
    assert settings.dispatch_interval_seconds == 2.5
    assert settings.sandbox_port == 0
    assert settings.log_level == "WARNING"
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert Settings(_env_file=None, coordinator_ids=7).coordinator_ids == (7,)
    assert not Settings(_env_file=None, telegram_token="  ").has_token
    changed = dataclasses.replace(settings, log_level="debug")
    assert changed.log_level == "DEBUG" and changed.coordinator_ids == (1, 2, 3)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("invite_ttl_days", "0", "INVITE_TTL_DAYS: must be at least 1."),
        ("invite_ttl_days", "two weeks", "INVITE_TTL_DAYS: must be a whole number."),
        ("dispatch_batch_size", "501", "DISPATCH_BATCH_SIZE: must be at most 500."),
        ("send_read_timeout_seconds", "0", "SEND_READ_TIMEOUT_SECONDS: must be more than 0."),
        ("dispatch_interval_seconds", "often", "DISPATCH_INTERVAL_SECONDS: must be a number."),
        ("coordinator_ids", "12,abc", "COORDINATOR_IDS: must be Telegram user ids"),
        ("timezone", "Mars/Olympus", "TIMEZONE: is not a known time zone"),
        ("default_language", "fr", "DEFAULT_LANGUAGE: must be one of nl, en."),
        ("database_url", "mysql://x", "DATABASE_URL: must start with sqlite+aiosqlite://"),
        ("sandbox_database_url", "postgresql+asyncpg://x", "SANDBOX_DATABASE_URL: must start"),
        ("log_level", "loud", "LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR."),
    ],
)
def test_a_wrong_value_names_the_setting_and_not_the_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name.upper(), value)
    with pytest.raises(SettingsError) as raised:
        load_settings(telegram_token=TOKEN)
    message = str(raised.value)
    assert message.startswith(f"Invalid setting {says}"), message
    assert value not in message.split(":", 1)[1] or value in says
    assert TOKEN not in message


def test_the_token_never_shows() -> None:
    settings = Settings(_env_file=None, telegram_token=TOKEN)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
    assert settings.require_token() == TOKEN
    with pytest.raises(SettingsError, match="TELEGRAM_TOKEN is not set"):
        Settings(_env_file=None).require_token()


def test_an_unknown_setting_in_code_is_a_mistake() -> None:
    with pytest.raises(TypeError, match="invite_days"):
        Settings(_env_file=None, invite_days=3)
