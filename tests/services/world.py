"""A small world for service tests: users, an exchange and its members, straight in the database.

Service tests call the service functions with a session, as handlers do, and look at the rows
afterwards; no Telegram, no bot process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.exchange_input import ExchangeInput, SideInput
from bot.domain.outbox import Rules
from bot.domain.programme import Programme, load_programmes
from bot.services import exchanges
from db.models import ROLE_BEGELEIDER, ROLE_TEACHER, Exchange, Membership, User
from db.session import Database
from tests.fixtures import AMS

PROGRAMMES: dict[str, Programme] = load_programmes()
STANDARD = PROGRAMMES["standaard"]
RULES = Rules()
ACK_WINDOW = timedelta(minutes=10)
# Monday 1 February 2027, the programme's start; exchange day 1 is Wednesday 10 February.
PROGRAMME_START = date(2027, 2, 1)
DAY_1 = date(2027, 2, 10)
# A Tuesday afternoon before the programme: outside quiet hours, nothing due yet.
NOW = datetime(2027, 1, 12, 14, 0, tzinfo=AMS).astimezone(UTC)

COORDINATOR = 1000
TEACHER_A = 2001
TEACHER_B = 2002
BEGELEIDER = 3001
STRANGER = 9999


@dataclass(frozen=True)
class World:
    """Ids of one exchange with a coordinator, a teacher per side and a begeleider."""

    exchange_id: int


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Amsterdam) moment as the UTC time services take."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMS).astimezone(UTC)


def add_user(session: AsyncSession, user_id: int, name: str, *, coordinator: bool = False) -> User:
    user = User(
        id=user_id,
        display_name=name,
        username=None,
        language="nl",
        is_coordinator=coordinator,
        active=True,
        created_at=NOW,
        last_seen_at=NOW,
        bad_invite_count=0,
    )
    session.add(user)
    return user


async def add_exchange(
    session: AsyncSession,
    *,
    school_a: str = "De Avonturijn",
    school_b: str = "De Odyssee",
    start: date = PROGRAMME_START,
    created_by: int | None = COORDINATOR,
) -> Exchange:
    data = ExchangeInput(
        programme_key=STANDARD.key,
        city="Amsterdam",
        start_date=start,
        sides=[
            SideInput(school_a, "Kolenkitbuurt 12", "groep 8", 24),
            SideInput(school_b, None, "groep 7/8", 22),
        ],
        region="noord",
    )
    return await exchanges.create_exchange(session, data, STANDARD, created_by=created_by, now=NOW)


def join(
    session: AsyncSession, user_id: int, exchange_id: int, role: str, side: str | None
) -> None:
    session.add(
        Membership(user_id=user_id, exchange_id=exchange_id, role=role, side=side, joined_at=NOW)
    )


async def world(database: Database) -> World:
    """Coordinator 1000, teachers 2001 (A) and 2002 (B), begeleider 3001, stranger 9999."""
    async with database.write() as session:
        add_user(session, COORDINATOR, "Carla", coordinator=True)
        add_user(session, TEACHER_A, "Anouk")
        add_user(session, TEACHER_B, "Bas")
        add_user(session, BEGELEIDER, "Ghislaine")
        add_user(session, STRANGER, "Stranger")
        await session.flush()
        exchange = await add_exchange(session)
        join(session, TEACHER_A, exchange.id, ROLE_TEACHER, "A")
        join(session, TEACHER_B, exchange.id, ROLE_TEACHER, "B")
        join(session, BEGELEIDER, exchange.id, ROLE_BEGELEIDER, None)
        return World(exchange.id)


async def user(session: AsyncSession, user_id: int) -> User:
    found = await session.get(User, user_id)
    assert found is not None
    return found


async def count(database: Database, model: type, *where: ColumnElement[bool]) -> int:
    async with database.read() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int(await session.scalar(query) or 0)
