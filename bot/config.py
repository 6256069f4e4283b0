"""Typed settings from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/wijkbot.db"
SANDBOX_DATABASE_URL = "sqlite+aiosqlite:///./data/sandbox.db"
LANGUAGES = ("nl", "en")


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the setting, never its value."""


class Settings(BaseSettings):
    """Everything the bot can be configured with. See `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Europe/Amsterdam"
    coordinator_ids: Annotated[tuple[int, ...], NoDecode] = ()
    default_language: str = "nl"
    telegram_api_url: str | None = None
    invite_ttl_days: int = Field(default=14, ge=1, le=365)
    invite_teacher_uses: int = Field(default=2, ge=1, le=50)
    invite_begeleider_uses: int = Field(default=10, ge=1, le=200)
    log_level: str = "INFO"
    dispatch_interval_seconds: float = Field(default=10.0, ge=0.5, le=3600)
    dispatch_batch_size: int = Field(default=500, ge=1, le=500)
    send_max_attempts: int = Field(default=5, ge=1, le=50)
    # Bot API calls other than getUpdates: Telegram answers in well under a second, an upload
    # can take longer; a read that times out leaves the outcome unknown (see README).
    send_connect_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    send_read_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    send_write_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    nag_lead_days: int = Field(default=1, ge=0, le=14)
    incident_ack_minutes: int = Field(default=10, ge=1, le=240)
    checkin_alert_minutes: int = Field(default=15, ge=0, le=240)
    incident_timeout_minutes: int = Field(default=30, ge=1, le=1440)
    retention_days: int = Field(default=90, ge=1, le=3650)
    # The sandbox (no token): its own SQLite file of demo data, and the web chat's port on
    # 127.0.0.1 (0: any free port).
    sandbox_database_url: str = SANDBOX_DATABASE_URL
    sandbox_port: int = Field(default=8730, ge=0, le=65535)

    @field_validator("coordinator_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            try:
                return tuple(int(p) for p in parts)
            except ValueError as exc:
                raise ValueError("must be Telegram user ids separated by commas") from exc
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not a known time zone such as Europe/Amsterdam") from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("sandbox_database_url")
    @classmethod
    def _sqlite_only(cls, value: str) -> str:
        if not value.startswith("sqlite+aiosqlite://"):
            raise ValueError("must start with sqlite+aiosqlite:// (the sandbox is SQLite only)")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("postgres://", "postgresql://")):
            rest = value.split("://", 1)[1]
            return f"postgresql+asyncpg://{rest}"
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return upper

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self, url: str | None = None) -> Path | None:
        """The database file of a file-based SQLite URL (the bot's unless `url`), else None."""
        url = self.database_url if url is None else url
        if not url.startswith("sqlite"):
            return None
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path or path.startswith(":memory:"):
            return None
        return Path(path.split("?", 1)[0])

    @property
    def has_token(self) -> bool:
        """Whether a token is set: then `run` is the real bot, else the sandbox."""
        return self.telegram_token is not None and bool(
            self.telegram_token.get_secret_value().strip()
        )

    def require_token(self) -> str:
        if self.telegram_token is None or not self.telegram_token.get_secret_value().strip():
            raise SettingsError(
                "TELEGRAM_TOKEN is not set: put TELEGRAM_TOKEN=<token from @BotFather> in .env "
                "(see .env.example) or export it."
            )
        return self.telegram_token.get_secret_value().strip()


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning a validation error into one line that names the setting.

    `overrides` are field values, validated like those from the environment.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"Invalid setting {name}: {message}.") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()
