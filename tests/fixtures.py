"""Shared fixtures and constants: a migrated database (SQLite or PostgreSQL), the bot, texts.

Registered as a pytest plugin in `tests/conftest.py`; tests import constants and helpers from
here, never from a conftest.

Under pytest-xdist every worker gets a database of its own: SQLite a temporary file (or the
given file's name plus the worker id), PostgreSQL a database named after the given one plus the
worker id (`test_gw0`), created on first use through a connection to the given database.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.texts import get_texts, placeholders
from db import migrate
from db.models import Base
from db.session import Database
from fake_telegram.markup import parse_text
from tests.harness import Harness

AMS = ZoneInfo("Europe/Amsterdam")
COORDINATOR_ID = 1000
# Monday 11 January 2027, 09:00 in Amsterdam: a school day with the whole year ahead.
START = datetime(2027, 1, 11, 9, 0, tzinfo=AMS).astimezone(UTC)

_WORKER = re.compile(r"^gw\d+$")
_ANY = "\ue000"  # a private-use character stands for a parameter in `said_any`


def said(key: str, /, lang: str = "nl", **params: object) -> str:
    """The text of catalogue entry `key` as the user sees it (HTML parsed, as Telegram does).

    Tests about behaviour assert with this, so a copy edit in the catalogue breaks no test.
    """
    return parse_text(get_texts().get(lang, key, **params), "HTML").text


def said_any(key: str, /, lang: str = "nl") -> re.Pattern[str]:
    """A pattern for catalogue entry `key` with any parameters, for `.search(message.text)`.

    For when the parameters are not what the test is about (a limit, a date, a name).
    """
    template = get_texts().raw(lang, key)
    text = said(key, lang, **dict.fromkeys(placeholders(template), _ANY))
    return re.compile(r"[\s\S]*?".join(re.escape(part) for part in text.split(_ANY)))


def worker_url(url: str, worker: str | None) -> str:
    """The URL for one xdist worker: the database (or SQLite file) name with the worker id added."""
    parsed = make_url(url)
    if not worker or not _WORKER.match(worker) or not parsed.database:
        return url
    if parsed.get_backend_name() == "sqlite":
        if parsed.database == ":memory:":
            return url
        path = Path(parsed.database)
        name = str(path.with_name(f"{path.stem}_{worker}{path.suffix}"))
    else:
        name = f"{parsed.database}_{worker}"
    return parsed.set(database=name).render_as_string(hide_password=False)


def _database_url(tmp: Path) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return worker_url(url, os.environ.get("PYTEST_XDIST_WORKER"))
    return f"sqlite+aiosqlite:///{tmp / 'wijkbot-test.db'}"


async def _reset_schema(url: str) -> None:
    given = os.environ.get("DATABASE_URL", "").strip()
    if given and url != given and not url.startswith("sqlite"):
        name = make_url(url).database
        assert name is not None
        await migrate.create_postgres_database(given, name)
    database = Database(url)
    try:
        if not database.is_sqlite:
            async with database.engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(database.engine)
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database migrated to head once per test run (and per xdist worker)."""
    with tempfile.TemporaryDirectory(prefix="wijkbot-") as tmp:
        url = _database_url(Path(tmp))
        asyncio.run(_reset_schema(url))
        yield url


async def truncate_all(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with database.engine.begin() as connection:
        if database.is_sqlite:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))
        else:
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The test database, emptied before each test."""
    database = Database(database_url)
    await truncate_all(database)
    try:
        yield database
    finally:
        await database.dispose()


def make_settings(database_url: str, api_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_token": "123456:TEST-TOKEN",
        "database_url": database_url,
        "coordinator_ids": (COORDINATOR_ID,),
        "telegram_api_url": api_url,
        "default_language": "nl",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def harness(database: Database, database_url: str) -> AsyncIterator[Harness]:
    """The real bot Application polling the fake Bot API, with a fake clock."""
    async with Harness(database_url, start=START, make_settings=make_settings) as running:
        yield running
