"""A school's address, and the phone numbers people share for the exchange days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.permissions import Action
from bot.services import audit, auth, exchanges
from db.models import ROLE_TEACHER, Exchange, School, User

MAX_ADDRESS = 300


async def set_address(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    side: str,
    address: str | None,
    *,
    now: datetime,
) -> School:
    """Set (or, with None, clear) the address of the school on `side` of the exchange: a
    coordinator, or a teacher of that class. auth.NotAllowed (or Archived) otherwise.

    The caller has checked the text (bot.domain.exchange_input); the school is shared by
    every exchange it takes part in, so each of them shows the new address.
    """
    await auth.require_side(session, user, Action.EDIT_SCHOOL, exchange_id, side)
    row = await exchanges.locked_side(session, Action.EDIT_SCHOOL, exchange_id, side)
    school = await session.get(School, row.school_id, with_for_update=True)
    if school is None:
        raise auth.NotAllowed(Action.EDIT_SCHOOL, exchange_id)
    if school.address != address:
        audit.record(
            session,
            exchange_id=exchange_id,
            user_id=user.id,
            action=audit.SCHOOL_ADDRESS,
            now=now,
            details={"school": school.name, "address": address},
        )
    school.address = address
    return school


# -- which schools someone looks after ------------------------------------------------------


def teaching_sides(exchange: Exchange, user_id: int) -> frozenset[str]:
    """The classes ("A", "B") the user teaches in the exchange (its members loaded)."""
    return frozenset(
        m.side
        for m in exchange.memberships
        if m.user_id == user_id and m.role == ROLE_TEACHER and m.side in ("A", "B")
    )


@dataclass(frozen=True)
class Reader:
    """Who reads about an exchange: the class they teach in it (their side of a visit), and
    the schools whose address they may fill in (a hint where one is missing)."""

    side: str | None = None
    edits: frozenset[str] = field(default_factory=frozenset)


def reader_of(exchange: Exchange, user: User) -> Reader:
    sides = teaching_sides(exchange, user.id)
    # A teacher of both classes (only in tests and odd set-ups) has no side of a visit.
    side = next(iter(sides)) if len(sides) == 1 else None
    edits = frozenset({"A", "B"}) if user.is_coordinator else sides
    return Reader(side=side, edits=edits)


async def editable_exchanges(session: AsyncSession, user: User) -> list[Exchange]:
    """The active exchanges whose school addresses the user may change: every one for a
    coordinator, else those where they teach a class."""
    visible = await exchanges.visible_exchanges(session, user)
    if user.is_coordinator:
        return list(visible)
    return [e for e in visible if teaching_sides(e, user.id)]


# -- phone numbers ----------------------------------------------------------------------------


class NoPhone(Exception):
    """There is no number to share yet."""


def set_phone(user: User, phone: str | None) -> None:
    """Store the user's number (already read by bot.domain.phones), or forget it with None.

    Forgetting the number also ends sharing it. A new number stays shared when the old one
    was: the person agreed to be called on the exchange days, on their number.
    """
    user.phone = phone
    if phone is None:
        user.phone_shared_at = None


def share_phone(user: User, *, now: datetime) -> bool:
    """The person agrees that the members of their exchanges see their number; NoPhone when
    there is none. False when it was shared already (a second tap)."""
    if user.phone is None:
        raise NoPhone
    if user.phone_shared_at is not None:
        return False
    user.phone_shared_at = now
    return True


def stop_sharing(user: User) -> bool:
    """Nobody sees the number any more (it stays stored for the person). False when it was
    not shared."""
    if user.phone_shared_at is None:
        return False
    user.phone_shared_at = None
    return True


def shares_phone(user: User) -> bool:
    return user.phone is not None and user.phone_shared_at is not None


@dataclass(frozen=True)
class PhoneContact:
    """A number someone agreed to share with their exchange."""

    user_id: int
    name: str
    phone: str  # as stored: +31 and nine digits
    school: str | None  # the school of a teacher; None for the coordinator


def may_see_phones(exchange: Exchange, viewer: User) -> bool:
    """Numbers stay inside the pair: its members and the coordinators see them."""
    return viewer.is_coordinator or any(m.user_id == viewer.id for m in exchange.memberships)


def phone_book(
    exchange: Exchange, viewer: User, coordinators: Sequence[User]
) -> tuple[PhoneContact, ...]:
    """The numbers to call on the exchange's days, as `viewer` may see them: the teachers'
    (school A's first) and the coordinators' (`coordinators`, exchanges.coordinators_of),
    only of those who agreed to share theirs, never the viewer's own, and none for someone
    outside the pair."""
    if not may_see_phones(exchange, viewer):
        return ()
    found: list[PhoneContact] = []
    seen: set[int] = {viewer.id}  # nobody needs their own number
    teachers = sorted(
        (m for m in exchange.memberships if m.role == ROLE_TEACHER and m.side in ("A", "B")),
        key=lambda m: (m.side or "", m.joined_at),
    )
    for membership in teachers:
        person = membership.user
        if person.id in seen or not shares_phone(person):
            continue
        seen.add(person.id)
        school = exchanges.side_of(exchange, membership.side or "A").school.name
        found.append(PhoneContact(person.id, person.display_name, person.phone or "", school))
    for person in coordinators:
        if person.id in seen or not shares_phone(person):
            continue
        seen.add(person.id)
        found.append(PhoneContact(person.id, person.display_name, person.phone or "", None))
    return tuple(found)


async def phone_books(
    session: AsyncSession, among: Sequence[Exchange], viewer: User
) -> dict[int, tuple[PhoneContact, ...]]:
    """`phone_book` of each exchange (by id), for `viewer`."""
    return {e.id: phone_book(e, viewer, await exchanges.coordinators_of(session, e)) for e in among}
