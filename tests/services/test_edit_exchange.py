"""Changing an exchange afterwards (/wijzig) on a real database: schools shared by several
pairs, names already taken, the region and its holidays, and who may."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.domain.exchange_input import InputError
from bot.services import auth, exchanges, outbox
from db.models import (
    OUTBOX_PENDING,
    STATUS_ARCHIVED,
    Exchange,
    ExchangeSide,
    OutboxMessage,
    School,
    SchoolHoliday,
)
from db.session import Database
from tests.services.world import (
    COORDINATOR,
    NOW,
    PROGRAMMES,
    RULES,
    TEACHER_A,
    add_exchange,
    user,
    world,
)


async def school_of(database: Database, exchange_id: int, side: str) -> School:
    async with database.read() as session:
        school = await session.scalar(
            select(School)
            .join(ExchangeSide, ExchangeSide.school_id == School.id)
            .where(ExchangeSide.exchange_id == exchange_id, ExchangeSide.side == side)
        )
        assert school is not None
        return school


async def test_a_school_of_one_pair_only_is_renamed_in_place(database: Database) -> None:
    w = await world(database)
    before = await school_of(database, w.exchange_id, "A")
    async with database.write() as session:
        change = await exchanges.rename_school(
            session,
            await user(session, COORDINATOR),
            w.exchange_id,
            "A",
            "  De  Avonturijn Oost ",
            now=NOW,
        )
    assert (change.old, change.new, change.own_school) == (
        "De Avonturijn",
        "De Avonturijn Oost",
        False,
    )
    after = await school_of(database, w.exchange_id, "A")
    assert (after.id, after.name, after.address) == (
        before.id,
        "De Avonturijn Oost",
        before.address,
    )


async def test_a_shared_school_stays_as_it_is_for_the_other_pairs(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        other = await add_exchange(session, school_a="De Avonturijn", school_b="De Klimop")
        other_id = other.id
        change = await exchanges.rename_school(
            session, await user(session, COORDINATOR), w.exchange_id, "A", "Het Kompas", now=NOW
        )
    assert change.own_school
    mine = await school_of(database, w.exchange_id, "A")
    theirs = await school_of(database, other_id, "A")
    assert (mine.name, mine.address) == ("Het Kompas", None)
    assert (theirs.name, theirs.address) == ("De Avonturijn", "Kolenkitbuurt 12")


async def test_a_spelling_fix_is_the_same_school_for_everyone(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        other = await add_exchange(session, school_a="De Avonturijn", school_b="De Klimop")
        other_id = other.id
        await exchanges.rename_school(
            session, await user(session, COORDINATOR), w.exchange_id, "A", "DE AVONTURIJN", now=NOW
        )
    assert (await school_of(database, other_id, "A")).name == "DE AVONTURIJN"


async def test_a_name_taken_by_another_school_offers_that_school(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        other = await add_exchange(session, school_a="De Klimop", school_b="Het Palet")
        other_id = other.id
    klimop = await school_of(database, other_id, "A")
    async with database.write() as session:
        coordinator = await user(session, COORDINATOR)
        with pytest.raises(exchanges.SchoolTaken) as taken:
            await exchanges.rename_school(
                session, coordinator, w.exchange_id, "A", "de klimop", now=NOW
            )
        assert taken.value.school.id == klimop.id
        # The other side's school is refused outright: a pair is two schools.
        with pytest.raises(InputError) as same:
            await exchanges.rename_school(
                session, coordinator, w.exchange_id, "A", "De Odyssee", now=NOW
            )
        assert same.value.key == "edit_exchange.same_school"
    assert (await school_of(database, w.exchange_id, "A")).name == "De Avonturijn"
    old = await school_of(database, w.exchange_id, "A")
    async with database.write() as session:
        change = await exchanges.use_school(
            session, await user(session, COORDINATOR), w.exchange_id, "A", klimop.id, now=NOW
        )
    assert (change.old, change.new) == ("De Avonturijn", "De Klimop")
    assert (await school_of(database, w.exchange_id, "A")).id == klimop.id
    # De Avonturijn is used by no pair any more: it is not offered as a known school again.
    async with database.read() as session:
        assert await session.get(School, old.id) is None


async def test_address_class_and_size(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        coordinator = await user(session, COORDINATOR)
        address = await exchanges.change_address(
            session, coordinator, w.exchange_id, "B", "Javaplein 2", now=NOW
        )
        klass = await exchanges.set_class_name(
            session, coordinator, w.exchange_id, "A", "groep 7", now=NOW
        )
        size = await exchanges.change_class_size(
            session, coordinator, w.exchange_id, "B", 25, now=NOW
        )
    assert (address.old, address.new) == (None, "Javaplein 2")
    assert (klass.old, klass.new) == ("groep 8", "groep 7")
    assert (size.old, size.new) == ("22", "25")
    async with database.read() as session:
        exchange = await exchanges.load_exchange(session, w.exchange_id)
        assert exchange is not None
        b = exchanges.side_of(exchange, "B")
        assert (b.school.address, b.class_size) == ("Javaplein 2", 25)
        assert exchanges.side_of(exchange, "A").class_name == "groep 7"


async def pending(database: Database, exchange_id: int) -> set[tuple[str, object]]:
    async with database.read() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.exchange_id == exchange_id, OutboxMessage.status == OUTBOX_PENDING
            )
        )
        return {(r.dedupe_key, r.due_at) for r in rows}


async def test_another_region_plans_the_messages_around_its_holidays(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        # Region zuid has a holiday in the programme's second week; noord has none.
        session.add(
            SchoolHoliday(
                region="zuid",
                name="Voorjaarsvakantie",
                starts_on=date(2027, 2, 8),
                ends_on=date(2027, 2, 14),
            )
        )
        await outbox.replan_exchange(session, w.exchange_id, PROGRAMMES, RULES, now=NOW)
    before = await pending(database, w.exchange_id)
    async with database.write() as session:
        change = await exchanges.set_region(
            session,
            await user(session, COORDINATOR),
            w.exchange_id,
            "zuid",
            programmes=PROGRAMMES,
            rules=RULES,
            now=NOW,
        )
    assert (change.old, change.new) == ("noord", "zuid")
    after = await pending(database, w.exchange_id)
    assert before and after and before != after
    async with database.read() as session:
        exchange = await session.get(Exchange, w.exchange_id)
        assert exchange is not None and exchange.region == "zuid"


async def test_only_a_coordinator_and_never_an_archived_pair(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        with pytest.raises(auth.NotAllowed):
            await exchanges.set_class_name(
                session, await user(session, TEACHER_A), w.exchange_id, "A", "groep 7", now=NOW
            )
    async with database.write() as session:
        exchange = await session.get(Exchange, w.exchange_id)
        assert exchange is not None
        exchange.status = STATUS_ARCHIVED
    async with database.write() as session:
        coordinator = await user(session, COORDINATOR)
        with pytest.raises(auth.Archived):
            await exchanges.rename_school(
                session, coordinator, w.exchange_id, "A", "Het Kompas", now=NOW
            )
        with pytest.raises(auth.Archived):
            await exchanges.change_address(
                session, coordinator, w.exchange_id, "A", "Javaplein 2", now=NOW
            )
    assert (await school_of(database, w.exchange_id, "A")).name == "De Avonturijn"
