"""Exchanges: creating an exchange, archiving it, and reading what a user may see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.interfaces import ORMOption

from bot.domain.exchange_input import (
    ExchangeInput,
    InputError,
    SideInput,
    clean_region,
    clean_school,
    same_school,
)
from bot.domain.names import name_key
from bot.domain.outbox import Rules
from bot.domain.permissions import Action
from bot.domain.programme import Programme
from bot.domain.timeline import plan_phases
from bot.services import audit, auth, schools
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


async def load_exchanges(session: AsyncSession, exchange_ids: set[int]) -> dict[int, Exchange]:
    """Several exchanges as `load_exchange` has each, in one go; the gone ones are missing."""
    if not exchange_ids:
        return {}
    rows = await session.scalars(
        select(Exchange).where(Exchange.id.in_(exchange_ids)).options(*_FULL)
    )
    return {exchange.id: exchange for exchange in rows}


async def visible_exchanges(
    session: AsyncSession,
    user: User,
    *,
    day: date | None = None,
    load: Sequence[ORMOption] | None = None,
) -> Sequence[Exchange]:
    """Active exchanges the user may see: all for a coordinator, else their own; with `day`,
    only those with a phase starting that day (a coordinator's thousand pairs are not all
    read to find today's few). `load` is what comes with each: by default everything."""
    query = (
        select(Exchange)
        .where(Exchange.status == STATUS_ACTIVE)
        .options(*(_FULL if load is None else load))
    )
    if day is not None:
        query = query.where(
            Exchange.id.in_(select(ExchangePhase.exchange_id).where(ExchangePhase.starts_on == day))
        )
    if not user.is_coordinator:
        member_of = select(Membership.exchange_id).where(Membership.user_id == user.id)
        query = query.where(Exchange.id.in_(member_of))
    rows = await session.scalars(query.order_by(Exchange.start_date.desc(), Exchange.id.desc()))
    return list(rows)


async def visible_labels(session: AsyncSession, user: User) -> list[tuple[int, str]]:
    """The id and `label` of each exchange `visible_exchanges` gives, in its order, from one
    light query: a chooser of a coordinator's thousand pairs needs no more."""
    query = (
        select(Exchange.id, School.name)
        .outerjoin(ExchangeSide, ExchangeSide.exchange_id == Exchange.id)
        .outerjoin(School, School.id == ExchangeSide.school_id)
        .where(Exchange.status == STATUS_ACTIVE)
    )
    if not user.is_coordinator:
        member_of = select(Membership.exchange_id).where(Membership.user_id == user.id)
        query = query.where(Exchange.id.in_(member_of))
    rows = await session.execute(
        query.order_by(Exchange.start_date.desc(), Exchange.id.desc(), ExchangeSide.side)
    )
    names: dict[int, list[str]] = {}
    for exchange_id, school in rows:
        found = names.setdefault(exchange_id, [])
        if school is not None:
            found.append(school)
    return [
        (exchange_id, f"#{exchange_id} {' – '.join(found)}") for exchange_id, found in names.items()
    ]


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
    session: AsyncSession, user: User, exchange_id: int, side: str, size: int, *, now: datetime
) -> ExchangeSide:
    """Change the number of pupils of one side (teachers know it best, and it changes): a
    coordinator, or a teacher of that class. auth.NotAllowed (or Archived) otherwise."""
    await auth.require_side(session, user, Action.CHANGE_CLASS, exchange_id, side)
    row = await locked_side(session, Action.CHANGE_CLASS, exchange_id, side)
    old = row.class_size
    row.class_size = size
    if old != size:
        audit.record(
            session,
            exchange_id=exchange_id,
            user_id=user.id,
            action=audit.CLASS_SIZE,
            now=now,
            details={"side": side, "old": old, "new": size},
        )
    return row


async def locked_side(
    session: AsyncSession, action: Action, exchange_id: int, side: str
) -> ExchangeSide:
    """The row of one side, locked for a change the caller may make (auth checked `action`);
    auth.NotAllowed when the exchange has no such side."""
    row = await session.scalar(
        select(ExchangeSide)
        .where(ExchangeSide.exchange_id == exchange_id, ExchangeSide.side == side)
        # Only the side's row: PostgreSQL cannot lock the school joined in beside it.
        .with_for_update(of=ExchangeSide)
    )
    if row is None:
        raise auth.NotAllowed(action, exchange_id)
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
    audit.record(session, exchange_id=exchange.id, user_id=user.id, action=audit.ARCHIVED, now=now)
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


def run_by(user: User) -> Select[int]:
    """The ids of the exchanges `user` runs, as `coordinators_of` decides it, in one query:
    those they made, and those whose maker is gone or no longer a coordinator."""
    creator = aliased(User)
    return (
        select(Exchange.id)
        .outerjoin(creator, creator.id == Exchange.created_by)
        .where(
            or_(
                Exchange.created_by == user.id,
                creator.id.is_(None),
                creator.is_coordinator.is_(False),
            )
        )
    )


def active_ids(coordinator: User, *, mine: bool) -> Select[int]:
    """The ids of the active exchanges a coordinator's lists and broadcasts cover: those they
    run (as `run_by`: made by them, or by nobody who still is a coordinator) or, not `mine`,
    all."""
    query = select(Exchange.id).where(Exchange.status == STATUS_ACTIVE)
    if mine:
        coordinators = select(User.id).where(User.is_coordinator.is_(True))
        query = query.where(
            or_(
                Exchange.created_by == coordinator.id,
                Exchange.created_by.is_(None),
                Exchange.created_by.not_in(coordinators),
            )
        )
    return query


async def coordinators_for(
    session: AsyncSession, among: Sequence[Exchange]
) -> dict[int, list[User]]:
    """`coordinators_of` each exchange (by id), in at most two queries however many there
    are: a coordinator may run a thousand pairs."""
    makers = {e.created_by for e in among if e.created_by is not None}
    found: dict[int, User] = {}
    if makers:
        rows = await session.scalars(select(User).where(User.id.in_(makers)))
        found = {u.id: u for u in rows}
    everyone: list[User] | None = None
    out: dict[int, list[User]] = {}
    for exchange in among:
        creator = found.get(exchange.created_by) if exchange.created_by is not None else None
        if creator is not None and creator.is_coordinator:
            out[exchange.id] = [creator]
            continue
        if everyone is None:
            everyone = list(
                await session.scalars(
                    select(User).where(User.is_coordinator.is_(True)).order_by(User.id)
                )
            )
        out[exchange.id] = list(everyone)
    return out


async def contacts(
    session: AsyncSession, among: Sequence[Exchange], day: date
) -> dict[int, list[User]]:
    """Whom to call (coordinators_of) for each exchange with a phase that starts on `day`."""
    return await coordinators_for(
        session, [e for e in among if any(p.starts_on == day for p in e.phases)]
    )


# -- changing an exchange afterwards (/wijzig) -----------------------------------------------


@dataclass(frozen=True)
class Change:
    """What one edit of an exchange changed, to confirm it: the field ("school", "address",
    "class", "size", "region"), the side ("A", "B"; None for the region), before and after.

    `own_school` marks a school name that was not changed in place because other exchanges
    use that school: this side now has a school of its own (without an address yet, unless
    the school existed already).
    """

    field: str
    side: str | None
    old: str | None
    new: str | None
    own_school: bool = False


class SchoolTaken(Exception):
    """Another school in the exchange's city already has the name typed: the coordinator may
    take that school for this side (`use_school`) or type another name."""

    def __init__(self, school: School) -> None:
        super().__init__(school.name)
        self.school = school


def _edited(
    session: AsyncSession, user: User, exchange_id: int, change: Change, now: datetime
) -> Change:
    """Write an edit to the exchange's log (when it changed anything) and return it."""
    if change.old != change.new:
        audit.record(
            session,
            exchange_id=exchange_id,
            user_id=user.id,
            action=audit.EXCHANGE_EDITED,
            now=now,
            details={
                "field": change.field,
                "side": change.side,
                "old": change.old,
                "new": change.new,
            },
        )
    return change


async def _editable_side(
    session: AsyncSession, user: User, exchange_id: int, side: str
) -> tuple[Exchange, ExchangeSide]:
    """The exchange (locked) and its side, if the user may change the exchange."""
    exchange = await auth.require_exchange(session, user, Action.EDIT_EXCHANGE, exchange_id)
    return exchange, await locked_side(session, Action.EDIT_EXCHANGE, exchange_id, side)


async def _other_school_id(session: AsyncSession, exchange_id: int, side: str) -> int | None:
    found: int | None = await session.scalar(
        select(ExchangeSide.school_id).where(
            ExchangeSide.exchange_id == exchange_id, ExchangeSide.side != side
        )
    )
    return found


async def rename_school(
    session: AsyncSession, user: User, exchange_id: int, side: str, name: str, *, now: datetime
) -> Change:
    """Give the school on `side` another name (checked with exchange_input.clean_school).

    Schools are shared records, one per name and city, so a rename must not change other
    exchanges behind their coordinator's back:

    - another way of writing the same name (case, accents) corrects the spelling in place,
      for everyone: it is the same school;
    - a name that another school of the city already has raises SchoolTaken: that is a
      different school, which the coordinator may take for this side (`use_school`);
    - a school used by this exchange only is renamed in place (its address stays);
    - a school that other exchanges use as well stays as it is for them: this side gets a
      school of the new name of its own, whose address is still to be filled in (the old
      school's address may not be the new one's).

    InputError when the name is that of the other side's school.
    """
    name = clean_school(name)
    _, row = await _editable_side(session, user, exchange_id, side)
    school = await session.get(School, row.school_id, with_for_update=True)
    assert school is not None
    other_id = await _other_school_id(session, exchange_id, side)
    other = await session.get(School, other_id) if other_id is not None else None
    if other is not None and same_school(name, other.name):
        raise InputError("edit_exchange.same_school")
    old = school.name
    if same_school(name, old):
        school.name = name
        return _edited(session, user, exchange_id, Change("school", side, old, name), now)
    taken = await find_school(session, school.city, name)
    if taken is not None:
        raise SchoolTaken(taken)
    shared = await session.scalar(
        select(func.count())
        .select_from(ExchangeSide)
        .where(ExchangeSide.school_id == school.id, ExchangeSide.id != row.id)
    )
    if not shared:
        school.name = name
        return _edited(session, user, exchange_id, Change("school", side, old, name), now)
    own = School(name=name, city=school.city, address=None)
    session.add(own)
    await session.flush()
    row.school_id = own.id
    session.expire(row, ["school"])
    change = Change("school", side, old, name, own_school=True)
    return _edited(session, user, exchange_id, change, now)


async def use_school(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    side: str,
    school_id: int,
    *,
    now: datetime,
) -> Change:
    """Take an existing school of the exchange's city for `side` (after SchoolTaken).

    The school it replaces is deleted when no exchange uses it any more, so it is not
    offered again as a known school.
    """
    exchange, row = await _editable_side(session, user, exchange_id, side)
    chosen = await session.get(School, school_id)
    if chosen is None or chosen.city_key != name_key(exchange.city):
        raise auth.NotAllowed(Action.EDIT_EXCHANGE, exchange_id)
    if chosen.id == await _other_school_id(session, exchange_id, side):
        raise InputError("edit_exchange.same_school")
    old = await session.get(School, row.school_id, with_for_update=True)
    assert old is not None
    if old.id == chosen.id:
        return Change("school", side, old.name, chosen.name)
    row.school_id = chosen.id
    session.expire(row, ["school"])
    await session.flush()
    still_used = await session.scalar(
        select(func.count()).select_from(ExchangeSide).where(ExchangeSide.school_id == old.id)
    )
    old_name = old.name
    if not still_used:
        await session.delete(old)
        await session.flush()
    return _edited(session, user, exchange_id, Change("school", side, old_name, chosen.name), now)


async def change_address(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    side: str,
    address: str | None,
    *,
    now: datetime,
) -> Change:
    """A coordinator sets (or, with None, clears) the address of the school on `side`; the
    text is checked with exchange_input.clean_address. Every exchange of that school shows it."""
    await auth.require_exchange(session, user, Action.EDIT_EXCHANGE, exchange_id)
    row = await session.scalar(
        select(ExchangeSide).where(
            ExchangeSide.exchange_id == exchange_id, ExchangeSide.side == side
        )
    )
    if row is None:
        raise auth.NotAllowed(Action.EDIT_EXCHANGE, exchange_id)
    old = await session.scalar(select(School.address).where(School.id == row.school_id))
    school = await schools.set_address(session, user, exchange_id, side, address, now=now)
    return Change("address", side, old, school.address)


async def set_class_name(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    side: str,
    class_name: str,
    *,
    now: datetime,
) -> Change:
    """Another class of the school on `side` (checked with exchange_input.clean_class_name)."""
    _, row = await _editable_side(session, user, exchange_id, side)
    old = row.class_name
    row.class_name = class_name
    return _edited(session, user, exchange_id, Change("class", side, old, class_name), now)


async def change_class_size(
    session: AsyncSession, user: User, exchange_id: int, side: str, size: int, *, now: datetime
) -> Change:
    """A coordinator changes the number of pupils of one side (see set_class_size, which
    writes it to the log)."""
    _, row = await _editable_side(session, user, exchange_id, side)
    old = row.class_size
    await set_class_size(session, user, exchange_id, side, size, now=now)
    return Change("size", side, str(old), str(size))


async def set_region(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    region: str,
    *,
    programmes: Mapping[str, Programme],
    rules: Rules,
    now: datetime,
) -> Change:
    """Another school-holiday region: the exchange's messages are planned again, since they
    are held back during that region's holidays."""
    from bot.services import outbox  # outbox labels its rows with this module's `label`

    region = clean_region(region)
    exchange = await auth.require_exchange(session, user, Action.EDIT_EXCHANGE, exchange_id)
    old = exchange.region
    exchange.region = region
    await session.flush()
    if old != region:
        await outbox.replan_exchange(session, exchange.id, programmes, rules, now=now)
    return _edited(session, user, exchange_id, Change("region", None, old, region), now)
