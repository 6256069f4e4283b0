"""Typed settings from the environment and `.env`.

Every field can be set as an environment variable of its name in capitals (any case is read),
or in `.env` in the working directory; values given in code come first, then the environment,
then `.env`, then the defaults. A value that is missing or wrong raises `SettingsError`, one
line that names the setting and never shows its value.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/wijkbot.db"
SANDBOX_DATABASE_URL = "sqlite+aiosqlite:///./data/sandbox.db"
LANGUAGES = ("nl", "en")
ENV_FILE = ".env"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the setting, never its value."""


class Secret:
    """A value kept out of logs and tracebacks: its repr is stars."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class _Invalid(ValueError):
    """Why a value is refused, in words that follow the setting's name."""


def _bounded(default: float, *, ge: float | None = None, gt: float | None = None, le: float) -> Any:
    return dataclasses.field(default=default, metadata={"ge": ge, "gt": gt, "le": le})


@dataclasses.dataclass(frozen=True, init=False)
class Settings:
    """Everything the bot can be configured with. See `.env.example`.

    `Settings(**values)` reads the environment and `.env` for what `values` leaves out;
    `Settings(_env_file=None, ...)` reads no `.env` (the environment still counts).
    """

    telegram_token: Secret | None = None
    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Europe/Amsterdam"
    coordinator_ids: tuple[int, ...] = ()
    default_language: str = "nl"
    telegram_api_url: str | None = None
    invite_ttl_days: int = _bounded(14, ge=1, le=365)
    invite_teacher_uses: int = _bounded(2, ge=1, le=50)
    invite_begeleider_uses: int = _bounded(10, ge=1, le=200)
    log_level: str = "INFO"
    dispatch_interval_seconds: float = _bounded(10.0, ge=0.5, le=3600)
    dispatch_batch_size: int = _bounded(500, ge=1, le=500)
    send_max_attempts: int = _bounded(5, ge=1, le=50)
    # Bot API calls other than getUpdates: Telegram answers in well under a second, an upload
    # can take longer; a read that times out leaves the outcome unknown (see README).
    send_connect_timeout_seconds: float = _bounded(10.0, gt=0, le=120)
    send_read_timeout_seconds: float = _bounded(20.0, gt=0, le=300)
    send_write_timeout_seconds: float = _bounded(30.0, gt=0, le=300)
    nag_lead_days: int = _bounded(1, ge=0, le=14)
    incident_ack_minutes: int = _bounded(10, ge=1, le=240)
    checkin_alert_minutes: int = _bounded(15, ge=0, le=240)
    incident_timeout_minutes: int = _bounded(30, ge=1, le=1440)
    retention_days: int = _bounded(90, ge=1, le=3650)
    # The sandbox (no token): its own SQLite file of demo data, and the web chat's port on
    # 127.0.0.1 (0: any free port).
    sandbox_database_url: str = SANDBOX_DATABASE_URL
    sandbox_port: int = _bounded(8730, ge=0, le=65535)

    # Checks and normalisations beyond the type, by field.
    _checks: ClassVar[dict[str, Callable[[Any], Any]]]

    def __init__(self, _env_file: str | Path | None = ENV_FILE, **values: Any) -> None:
        fields = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(unknown)}")
        given: dict[str, Any] = {}
        if _env_file is not None:
            given.update(_only(read_env_file(Path(_env_file)), fields))
        given.update(_only(os.environ, fields))
        given.update(values)
        for name, spec in fields.items():
            if name not in given:
                value = spec.default
            else:
                try:
                    value = _convert(spec, given[name])
                    check = self._checks.get(name)
                    if check is not None:
                        value = check(value)
                except _Invalid as error:
                    raise SettingsError(f"Invalid setting {name.upper()}: {error}.") from None
            object.__setattr__(self, name, value)

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
    """Read settings; `overrides` are field values, checked like those from the environment.
    SettingsError names the first setting that is wrong."""
    return Settings(**overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()


# -- reading and checking values ----------------------------------------------------------


def _only(found: Mapping[str, str], fields: Mapping[str, object]) -> dict[str, str]:
    """The settings among `found`, whose names are read in any case."""
    return {key.lower(): value for key, value in found.items() if key.lower() in fields}


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines of a `.env` file (nothing if there is none): `export ` before a
    name, quoted values ('…' as written, "…" with \\n and \\" read), and comments (a line
    that starts with #, or # after a space in an unquoted value) as in shell files."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return {}
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, equals, value = line.partition("=")
        if not equals:
            continue
        found[key.strip()] = _env_value(value.strip())
    return found


def _env_value(value: str) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        while quote == '"' and end > 0 and value[end - 1] == "\\":
            end = value.find(quote, end + 1)
        inner = value[1:end] if end > 0 else value[1:]
        if quote == '"':
            inner = inner.replace("\\n", "\n").replace('\\"', '"')
        return inner
    for marker in (" #", "\t#"):
        value = value.split(marker, 1)[0]
    return value.strip()


def _convert(spec: dataclasses.Field[Any], value: Any) -> Any:
    """`value` (a string from the environment, or a value given in code) as the field's
    type, within its bounds."""
    kind = spec.type
    if kind == "Secret | None":
        if isinstance(value, Secret) or value is None:
            return value
        text = str(value).strip()
        return Secret(text) if text else None
    if kind == "str | None":
        text = "" if value is None else str(value).strip()
        return text or None
    if kind == "str":
        return str(value).strip()
    if kind == "tuple[int, ...]":
        return _ids(value)
    number: float
    if kind == "int":
        number = _whole(value)
    elif kind == "float":
        number = _number(value)
    else:  # pragma: no cover - a field of a type not handled above
        raise TypeError(f"{spec.name}: {kind}")
    _within(number, spec.metadata)
    return number


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid("must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise _Invalid("must be a whole number") from None


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise _Invalid("must be a number")
    try:
        return float(value if isinstance(value, int | float) else str(value).strip())
    except ValueError:
        raise _Invalid("must be a number") from None


def _within(number: float, bounds: Mapping[str, float | None]) -> None:
    low, above, high = bounds.get("ge"), bounds.get("gt"), bounds.get("le")
    if low is not None and number < low:
        raise _Invalid(f"must be at least {low:g}")
    if above is not None and number <= above:
        raise _Invalid(f"must be more than {above:g}")
    if high is not None and number > high:
        raise _Invalid(f"must be at most {high:g}")


def _ids(value: Any) -> tuple[int, ...]:
    if isinstance(value, bool):
        raise _Invalid("must be Telegram user ids separated by commas")
    if isinstance(value, int):
        return (value,)
    if isinstance(value, str):
        parts: list[Any] = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
    else:
        parts = list(value)
    try:
        return tuple(_whole(part) for part in parts)
    except _Invalid:
        raise _Invalid("must be Telegram user ids separated by commas") from None


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid("is not a known time zone such as Europe/Amsterdam") from None
    return value


def _known_language(value: str) -> str:
    if value not in LANGUAGES:
        raise _Invalid(f"must be one of {', '.join(LANGUAGES)}")
    return value


def _sqlite_only(value: str) -> str:
    if not value.startswith("sqlite+aiosqlite://"):
        raise _Invalid("must start with sqlite+aiosqlite:// (the sandbox is SQLite only)")
    return value


def _async_driver(value: str) -> str:
    if value.startswith(("postgres://", "postgresql://")):
        rest = value.split("://", 1)[1]
        return f"postgresql+asyncpg://{rest}"
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise _Invalid("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    return value


def _level(value: str) -> str:
    upper = value.upper()
    if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise _Invalid("must be DEBUG, INFO, WARNING or ERROR")
    return upper


Settings._checks = {
    "timezone": _known_zone,
    "default_language": _known_language,
    "sandbox_database_url": _sqlite_only,
    "database_url": _async_driver,
    "log_level": _level,
}
