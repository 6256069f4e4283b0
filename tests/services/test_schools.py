"""Addresses (own school for a teacher, every school for a coordinator) and the phone book:
numbers only by consent, only inside the pair."""

from __future__ import annotations

import pytest

from bot.services import auth, exchanges, schools
from db.models import STATUS_ARCHIVED, Exchange
from db.session import Database
from tests.services.world import (
    BEGELEIDER,
    COORDINATOR,
    NOW,
    STRANGER,
    TEACHER_A,
    TEACHER_B,
    user,
    world,
)


async def _address(database: Database, exchange_id: int, side: str) -> str | None:
    async with database.read() as session:
        exchange = await exchanges.load_exchange(session, exchange_id)
        assert exchange is not None
        return exchanges.side_of(exchange, side).school.address


@pytest.mark.parametrize(
    ("who", "side", "allowed"),
    [
        (TEACHER_A, "A", True),
        (TEACHER_A, "B", False),
        (TEACHER_B, "B", True),
        (COORDINATOR, "A", True),
        (COORDINATOR, "B", True),
        (BEGELEIDER, "B", False),
        (STRANGER, "B", False),
    ],
)
async def test_an_address_is_set_by_its_own_teacher_or_a_coordinator(
    database: Database, who: int, side: str, allowed: bool
) -> None:
    w = await world(database)
    before = await _address(database, w.exchange_id, side)
    async with database.write() as session:
        person = await user(session, who)
        if allowed:
            await schools.set_address(session, person, w.exchange_id, side, "Javaplein 2", now=NOW)
        else:
            with pytest.raises(auth.NotAllowed):
                await schools.set_address(
                    session, person, w.exchange_id, side, "Javaplein 2", now=NOW
                )
    assert await _address(database, w.exchange_id, side) == ("Javaplein 2" if allowed else before)


async def test_an_archived_pair_keeps_its_addresses(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        exchange = await session.get(Exchange, w.exchange_id)
        assert exchange is not None
        exchange.status = STATUS_ARCHIVED
    async with database.write() as session:
        with pytest.raises(auth.Archived):
            await schools.set_address(
                session,
                await user(session, COORDINATOR),
                w.exchange_id,
                "B",
                "Javaplein 2",
                now=NOW,
            )
    assert await _address(database, w.exchange_id, "B") is None


async def test_the_phone_book_holds_only_shared_numbers_of_the_pair(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        a, b = await user(session, TEACHER_A), await user(session, TEACHER_B)
        carla, begeleider = await user(session, COORDINATOR), await user(session, BEGELEIDER)
        schools.set_phone(a, "+31612345678")
        assert schools.share_phone(a, now=NOW) is True
        assert schools.share_phone(a, now=NOW) is False  # a second tap changes nothing
        schools.set_phone(b, "+31201234567")  # stored, never shared
        schools.set_phone(carla, "+31687654321")
        schools.share_phone(carla, now=NOW)
        schools.set_phone(begeleider, "+31611111111")
        schools.share_phone(begeleider, now=NOW)  # begeleiders are not whom to call
        with pytest.raises(schools.NoPhone):
            schools.share_phone(await user(session, STRANGER), now=NOW)
    async with database.read() as session:
        exchange = await exchanges.load_exchange(session, w.exchange_id)
        assert exchange is not None
        books = {
            who: await schools.phone_books(session, [exchange], await user(session, who))
            for who in (TEACHER_A, TEACHER_B, BEGELEIDER, COORDINATOR, STRANGER)
        }
    anouk, carla_line = ("Anouk", "+31612345678", "De Avonturijn"), ("Carla", "+31687654321", None)
    for who in (TEACHER_B, BEGELEIDER):
        book = books[who][w.exchange_id]
        assert [(c.name, c.phone, c.school) for c in book] == [anouk, carla_line]
    # Nobody is given their own number to call.
    assert [(c.name, c.phone, c.school) for c in books[TEACHER_A][w.exchange_id]] == [carla_line]
    assert [(c.name, c.phone, c.school) for c in books[COORDINATOR][w.exchange_id]] == [anouk]
    assert books[STRANGER][w.exchange_id] == ()


async def test_forgetting_a_number_ends_sharing_it(database: Database) -> None:
    await world(database)
    async with database.write() as session:
        a = await user(session, TEACHER_A)
        schools.set_phone(a, "+31612345678")
        schools.share_phone(a, now=NOW)
        schools.set_phone(a, "+31687654321")  # a new number stays shared
        assert schools.shares_phone(a)
        assert schools.stop_sharing(a) is True and schools.stop_sharing(a) is False
        schools.share_phone(a, now=NOW)
        schools.set_phone(a, None)
        assert a.phone is None and a.phone_shared_at is None
