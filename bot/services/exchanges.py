"""Exchanges: creating an exchange, archiving it, and reading what a user may see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.exchange_input import ExchangeInput, SideInput
from bot.domain.names import name_key
from bot.domain.outbox import Rules
from bot.domain.permissions import Action
from bot.domain.programme import Programme
from bot.domain.timeline import plan_phases
from bot.services import auth
from db.models import (
    STATUS_ACTIVE,
    STATUS_ARCHIVED,
    Exchange,
    ExchangePhase,
    ExchangeSide,
    Membership,
    School,
    User,
)

_FULL = (
    selectinload(Exchange.sides).joinedload(ExchangeSide.school),
    selectinload(Exchange.phases),
    selectinload(Exchange.memberships).joinedload(Membership.user),
)


async def known_cities(session: AsyncSession, limit: int = 12) -> list[str]:
    """Cities that already have schools, most used first."""
    rows = await session.execute(
        select(func.min(School.city), func.count(School.id).label("n"))
        .group_by(School.city_key)
        .order_by(func.count(School.id).desc(), School.city_key)
        .limit(limit)
    )
    return [city for city, _ in rows]


async def find_school(session: AsyncSession, city: str, name: str) -> School | None:
    """The school with this name in this city, however its case or accents were typed."""
    return await session.scalar(
        select(School).where(School.city_key == name_key(city), School.name_key == name_key(name))
    )


async def _school_for(session: AsyncSession, city: str, side: SideInput) -> School:
    school = await find_school(session, city, side.school)
    if school is None:
        school = School(name=side.school, city=city, address=side.address)
        session.add(school)
        await session.flush()
    elif side.address and not school.address:
        school.address = side.address
    return school


async def create_exchange(
    session: AsyncSession,
    data: ExchangeInput,
    programme: Programme,
    *,
    created_by: int | None,
    now: datetime,
) -> Exchange:
    """Store a new exchange with its phases planned from the programme's default offsets."""
    # A city already known keeps the spelling it was first stored with.
    city = await session.scalar(
        select(School.city).where(School.city_key == name_key(data.city)).limit(1)
    )
    city = city or data.city
    # Schools first: their flush must not come between creating the exchange and filling its
    # collections, or the async session would try to lazy-load them.
    schools = [await _school_for(session, city, side) for side in data.sides]
    exchange = Exchange(
        programme_key=programme.key,
        city=city,
        start_date=data.start_date,
        region=data.region or await region_of_city(session, city),
        status=STATUS_ACTIVE,
        created_by=created_by,
        created_at=now,
        sides=[
            ExchangeSide(
                side=letter,
                school_id=school.id,
                class_name=side.class_name,
                class_size=side.class_size,
            )
            for letter, side, school in zip(("A", "B"), data.sides, schools, strict=True)
        ],
        phases=[
            ExchangePhase(
                phase_key=planned.key,
                starts_on=planned.starts_on,
                ends_on=planned.ends_on,
                start_time=planned.start_time,
                host=planned.host,
                agreed=False,
            )
            for planned in plan_phases(programme, data.start_date)
        ],
    )
    session.add(exchange)
    await session.flush()
    return exchange


async def load_exchange(session: AsyncSession, exchange_id: int) -> Exchange | None:
    """The exchange with its sides, schools, phases and members."""
    return await session.scalar(select(Exchange).where(Exchange.id == exchange_id).options(*_FULL))


async def visible_exchanges(session: AsyncSession, user: User) -> Sequence[Exchange]:
    """Active exchanges the user may see: all for a coordinator, else their own."""
    query = select(Exchange).where(Exchange.status == STATUS_ACTIVE).options(*_FULL)
    if not user.is_coordinator:
        member_of = select(Membership.exchange_id).where(Membership.user_id == user.id)
        query = query.where(Exchange.id.in_(member_of))
    rows = await session.scalars(query.order_by(Exchange.start_date.desc(), Exchange.id.desc()))
    return list(rows)


async def member_exchanges(session: AsyncSession, user: User) -> Sequence[Exchange]:
    """Active exchanges the user is a member of (coordinators included only where members)."""
    member_of = select(Membership.exchange_id).where(Membership.user_id == user.id)
    rows = await session.scalars(
        select(Exchange)
        .where(Exchange.status == STATUS_ACTIVE, Exchange.id.in_(member_of))
        .options(*_FULL)
        .order_by(Exchange.start_date, Exchange.id)
    )
    return list(rows)


def side_of(exchange: Exchange, letter: str) -> ExchangeSide:
    for side in exchange.sides:
        if side.side == letter:
            return side
    raise KeyError(letter)


def label(exchange: Exchange) -> str:
    """How an exchange is shown on a button or in a list: '#12 De Avonturijn – De Odyssee'."""
    return f"#{exchange.id} {title(exchange)}"


def title(exchange: Exchange) -> str:
    """How users name an exchange: 'De Avonturijn – De Odyssee'."""
    names = [side.school.name for side in sorted(exchange.sides, key=lambda s: s.side)]
    return " – ".join(names)


async def memberships_of(session: AsyncSession, user_id: int, exchange_id: int) -> list[Membership]:
    """The user's roles in one exchange."""
    rows = await session.scalars(
        select(Membership).where(
            Membership.user_id == user_id, Membership.exchange_id == exchange_id
        )
    )
    return list(rows)


async def active_exchange_ids(session: AsyncSession, region: str | None = None) -> list[int]:
    query = select(Exchange.id).where(Exchange.status == STATUS_ACTIVE)
    if region is not None:
        query = query.where(Exchange.region == region)
    return list(await session.scalars(query.order_by(Exchange.id)))


async def region_of_city(session: AsyncSession, city: str) -> str | None:
    """The school-holiday region earlier exchanges in this city were given, if any."""
    return await session.scalar(
        select(Exchange.region)
        .where(Exchange.city_key == name_key(city), Exchange.region.is_not(None))
        .order_by(Exchange.id.desc())
        .limit(1)
    )


async def set_class_size(
    session: AsyncSession, user: User, exchange_id: int, side: str, size: int
) -> ExchangeSide:
    """Change the number of pupils of one side (teachers know it best, and it changes): a
    coordinator, or a teacher of that class. auth.NotAllowed (or Archived) otherwise."""
    await auth.require_side(session, user, Action.CHANGE_CLASS, exchange_id, side)
    row = await session.scalar(
        select(ExchangeSide)
        .where(ExchangeSide.exchange_id == exchange_id, ExchangeSide.side == side)
        # Only the side's row: PostgreSQL cannot lock the school joined in beside it.
        .with_for_update(of=ExchangeSide)
    )
    if row is None:
        raise auth.NotAllowed(Action.CHANGE_CLASS, exchange_id)
    row.class_size = size
    return row


async def archive(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    *,
    programmes: Mapping[str, Programme],
    rules: Rules,
    now: datetime,
) -> int:
    """Archive the exchange and cancel what was planned for it; returns the rows cancelled.

    Raises auth.Archived when it already is (a second tap), auth.NotAllowed when the user may
    not archive it.
    """
    from bot.services import outbox  # outbox labels its rows with this module's `label`

    exchange = await auth.require_exchange(session, user, Action.ARCHIVE, exchange_id)
    exchange.status = STATUS_ARCHIVED
    await session.flush()
    result = await outbox.replan_exchange(session, exchange.id, programmes, rules, now=now)
    return result.cancelled


# -- whom to call ----------------------------------------------------------------------------


async def coordinators_of(session: AsyncSession, exchange: Exchange) -> list[User]:
    """The coordinator who made the exchange (if still one), else every coordinator."""
    if exchange.created_by is not None:
        creator = await session.get(User, exchange.created_by)
        if creator is not None and creator.is_coordinator:
            return [creator]
    rows = await session.scalars(
        select(User).where(User.is_coordinator.is_(True)).order_by(User.id)
    )
    return list(rows)


async def contacts(
    session: AsyncSession, among: Sequence[Exchange], day: date
) -> dict[int, list[User]]:
    """Whom to call (coordinators_of) for each exchange with a phase that starts on `day`."""
    return {
        e.id: await coordinators_of(session, e)
        for e in among
        if any(p.starts_on == day for p in e.phases)
    }
