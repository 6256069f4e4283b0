"""What every figure needs: a fresh database, settings, a clock that can run, a city of pairs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.domain.exchange_input import ExchangeInput, SideInput
from bot.domain.programme import load_programmes
from bot.services.importer import import_rows
from db import migrate
from db.models import ROLE_BEGELEIDER, ROLE_TEACHER, Membership, User
from db.session import Database

from .scene import AMS, COORDINATOR_ID, MONDAY, TOKEN, RunningClock, settings_for

# The bench database on a PostgreSQL server: created beside the one given, never that one.
BENCH_DATABASE = "bench"

__all__ = [
    "AMS",
    "COORDINATOR_ID",
    "MONDAY",
    "TOKEN",
    "City",
    "RunningClock",
    "fresh_database",
    "kind_of",
    "member_ids",
    "seed_city",
    "settings_for",
]


def kind_of(url: str | None) -> str:
    if not url:
        return "sqlite"
    return make_url(url).get_backend_name()


@contextlib.asynccontextmanager
async def fresh_database(given: str | None) -> AsyncIterator[str]:
    """A migrated, empty database: a temporary SQLite file, or the bench database on the
    PostgreSQL server of `given` (its schema dropped; the given database is left alone)."""
    with TemporaryDirectory(prefix="wijkbot-bench-") as tmp:
        if given and kind_of(given) != "sqlite":
            url = make_url(given).set(database=BENCH_DATABASE)
            rendered = url.render_as_string(hide_password=False)
            await migrate.create_postgres_database(given, BENCH_DATABASE)
        else:
            rendered = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        database = Database(rendered)
        try:
            if not database.is_sqlite:
                async with database.engine.begin() as connection:
                    await connection.execute(text("DROP SCHEMA public CASCADE"))
                    await connection.execute(text("CREATE SCHEMA public"))
            await migrate.upgrade(database.engine)
        finally:
            await database.dispose()
        yield rendered


@dataclass(frozen=True)
class City:
    """The people of a seeded city, by Telegram id."""

    coordinator: int
    members: list[int]


def member_ids(pair: int) -> list[int]:
    """Two teachers (sides A and B) and two begeleiders of pair `pair`."""
    return [100_000 + 10 * pair + k for k in range(4)]


async def seed_city(database_url: str, pairs: int, *, now: datetime) -> City:
    """`pairs` exchanges starting on MONDAY with their members, through the importer and plain
    inserts; the bot plans their messages itself when it starts (start-up re-planning)."""
    programmes = load_programmes()
    rows = [
        (
            n + 2,
            ExchangeInput(
                programme_key="standaard",
                city="Amsterdam",
                start_date=MONDAY,
                sides=[
                    SideInput(f"Bankschool {n} Noord", None, "groep 8", 24),
                    SideInput(f"Bankschool {n} Zuid", None, "groep 7/8", 22),
                ],
                region="noord",
            ),
        )
        for n in range(pairs)
    ]
    database = Database(database_url)
    members: list[int] = []
    try:
        async with database.write() as session:
            session.add(_user(COORDINATOR_ID, "Carla", now, coordinator=True))
            await session.flush()
            exchange_ids = await import_rows(session, rows, programmes, now=now)
            for pair, exchange_id in enumerate(exchange_ids):
                ids = member_ids(pair)
                roles = [
                    (ROLE_TEACHER, "A"),
                    (ROLE_TEACHER, "B"),
                    (ROLE_BEGELEIDER, None),
                    (ROLE_BEGELEIDER, None),
                ]
                for user_id, (role, side) in zip(ids, roles, strict=True):
                    session.add(_user(user_id, f"Lid {user_id}", now))
                    session.add(
                        Membership(
                            user_id=user_id,
                            exchange_id=exchange_id,
                            role=role,
                            side=side,
                            joined_at=now,
                        )
                    )
                members += ids
    finally:
        await database.dispose()
    return City(COORDINATOR_ID, members)


def _user(user_id: int, name: str, now: datetime, *, coordinator: bool = False) -> User:
    return User(
        id=user_id,
        display_name=name,
        language="nl",
        is_coordinator=coordinator,
        coordinator_source="setting" if coordinator else None,
        active=True,
        created_at=now,
        last_seen_at=now,
    )
