"""Shared fixtures: a migrated database (SQLite or PostgreSQL), the fake Bot API, the bot."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.config import Settings
from db import migrate
from db.models import Base
from db.session import Database
from tests.harness import Harness

AMS = ZoneInfo("Europe/Amsterdam")
COORDINATOR_ID = 1000
# Monday 11 January 2027, 09:00 in Amsterdam: a school day with the whole year ahead.
START = datetime(2027, 1, 11, 9, 0, tzinfo=AMS).astimezone(UTC)


def _database_url(tmp: Path) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    return f"sqlite+aiosqlite:///{tmp / 'wijkbot-test.db'}"


async def _reset_schema(url: str) -> None:
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
    """A database migrated to head once per test run."""
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
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.fixture
async def harness(database: Database, database_url: str) -> AsyncIterator[Harness]:
    """The real bot Application polling the fake Bot API, with a fake clock."""
    async with Harness(database_url, start=START, make_settings=make_settings) as running:
        yield running
