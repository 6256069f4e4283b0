"""The export service: which exchanges a coordinator gets, free texts only while retained, and
a fixed number of queries however many exchanges there are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, update

from bot.services import auth
from bot.services import export as export_service
from bot.services.export import Export
from db.models import CheckIn, Incident, User
from db.session import Database
from tests.services.world import (
    BEGELEIDER,
    COORDINATOR,
    DAY_1,
    NOW,
    PROGRAMMES,
    TEACHER_A,
    add_exchange,
    add_user,
    at,
    user,
    world,
)

RETENTION_DAYS = 90


@contextmanager
def counting(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def gather(
    database: Database, who: int, *, today: date = date(2027, 1, 12), everything: bool = False
) -> Export:
    async with database.read() as session:
        return await export_service.for_coordinator(
            session,
            await user(session, who),
            PROGRAMMES,
            now=NOW,
            today=today,
            retention_days=RETENTION_DAYS,
            everything=everything,
        )


async def add_field_work(database: Database, exchange_id: int) -> None:
    async with database.write() as session:
        session.add(
            CheckIn(
                exchange_id=exchange_id,
                phase_key="exchange_day_1",
                day=DAY_1,
                user_id=BEGELEIDER,
                checked_in_at=at(DAY_1, 8, 40),
                checked_out_at=at(DAY_1, 14, 0),
                rating=3,
                tension=True,
                tension_note="Onrust bij de speurtocht",
                remarks="Tram had vertraging",
            )
        )
        session.add(
            Incident(
                exchange_id=exchange_id,
                reported_by=BEGELEIDER,
                category="injury",
                severity="low",
                description="Geschaafde knie",
                status="open",
                created_at=at(DAY_1, 10, 0),
            )
        )


async def test_only_a_coordinator_may_export(database: Database) -> None:
    await world(database)
    with pytest.raises(auth.NotAllowed):
        await gather(database, TEACHER_A)


async def test_a_coordinator_gets_the_exchanges_they_run_or_all(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        add_user(session, 1001, "Dirk", coordinator=True)
        add_user(session, 1002, "Eva", coordinator=True)
        await session.flush()
        dirks = (await add_exchange(session, school_a="De Vlinder", created_by=1001)).id
        evas = (await add_exchange(session, school_a="De Zon", created_by=1002)).id
        nobodys = (await add_exchange(session, school_a="De Maan", created_by=None)).id
        # Eva is no coordinator any more: whoever is one now runs her exchange too.
        await session.execute(update(User).where(User.id == 1002).values(is_coordinator=False))
    mine = await gather(database, COORDINATOR)
    assert [e.id for e in mine.exchanges] == [w.exchange_id, evas, nobodys]
    assert not mine.everything
    every = await gather(database, COORDINATOR, everything=True)
    assert [e.id for e in every.exchanges] == [w.exchange_id, dirks, evas, nobodys]
    assert [e.id for e in (await gather(database, 1001)).exchanges] == [dirks, evas, nobodys]


async def test_free_texts_are_left_out_once_the_retention_period_is_over(
    database: Database,
) -> None:
    w = await world(database)
    await add_field_work(database, w.exchange_id)
    during = await gather(database, COORDINATOR, today=date(2027, 3, 1))
    (checkin,) = during.checkins
    assert (checkin.tension_note, checkin.remarks, checkin.purged) == (
        "Onrust bij de speurtocht",
        "Tram had vertraging",
        False,
    )
    assert during.incidents[0].description == "Geschaafde knie"

    # The last day is the closing; 91 days later the texts are due for deletion. The nightly
    # purge has not run yet, and still the export leaves them out.
    last_day = max(d.ends_on for d in during.dates)
    after = await gather(database, COORDINATOR, today=last_day + timedelta(days=RETENTION_DAYS + 1))
    (checkin,) = after.checkins
    assert (checkin.tension_note, checkin.remarks, checkin.purged) == (None, None, True)
    assert checkin.rating == 3 and checkin.tension is True
    (incident,) = after.incidents
    assert (incident.description, incident.purged, incident.category) == (None, True, "injury")


async def test_the_number_of_queries_does_not_grow_with_the_exchanges(
    database: Database,
) -> None:
    w = await world(database)
    await add_field_work(database, w.exchange_id)
    with counting(database) as one:
        await gather(database, COORDINATOR)
    async with database.write() as session:
        ids = [(await add_exchange(session, school_a=f"School {n}")).id for n in range(6)]
    for exchange_id in ids:
        await add_field_work(database, exchange_id)
    with counting(database) as seven:
        found = await gather(database, COORDINATOR)
    assert len(found.exchanges) == 7 and len(found.incidents) == 7
    assert len(seven) == len(one)
