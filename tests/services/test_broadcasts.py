"""Broadcasts on a real database: who is reached (each once), confirming once, the report once,
"Gelezen" once, the typed moment, and putting a failed row back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.domain.exchange_input import InputError
from bot.services import auth, broadcasts
from bot.services.broadcasts import Audience, Draft
from db.models import (
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENT,
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    Broadcast,
    OutboxMessage,
)
from db.session import Database
from tests.fixtures import AMS
from tests.services.world import (
    BEGELEIDER,
    COORDINATOR,
    NOW,
    TEACHER_A,
    add_exchange,
    add_user,
    join,
    user,
    world,
)

TODAY = NOW.astimezone(AMS).date()


async def _second_pair(database: Database, *, created_by: int | None = COORDINATOR) -> int:
    async with database.write() as session:
        add_user(session, 2101, "Cor")
        await session.flush()
        exchange = await add_exchange(
            session, school_a="De Klimop", school_b="Het Anker", created_by=created_by
        )
        join(session, 2101, exchange.id, ROLE_TEACHER, "A")
        join(session, BEGELEIDER, exchange.id, ROLE_BEGELEIDER, None)  # in two pairs
        return exchange.id


async def test_each_person_once_through_their_first_pair(database: Database) -> None:
    w = await world(database)
    second = await _second_pair(database)
    async with database.read() as session:
        carla = await user(session, COORDINATOR)
        everyone = await broadcasts.recipients(session, carla, Audience("all"), today=TODAY)
        begeleiders = await broadcasts.recipients(
            session, carla, Audience("begeleiders"), today=TODAY
        )
        one = await broadcasts.recipients(session, carla, Audience("exchange", second), today=TODAY)
    assert [(r.user_id, r.exchange_id) for r in everyone] == [
        (2001, w.exchange_id),
        (2002, w.exchange_id),
        (BEGELEIDER, w.exchange_id),
        (2101, second),
    ]
    assert [r.user_id for r in begeleiders] == [BEGELEIDER]
    assert sorted(r.user_id for r in one) == [2101, BEGELEIDER]


async def test_the_rows_of_a_broadcast_are_its_recipients(database: Database) -> None:
    """Confirming makes the rows in the database itself: one per recipient, through their
    first pair, in the order `recipients` gives them, as many as the preview counted."""
    w = await world(database)
    second = await _second_pair(database)
    later = NOW + timedelta(days=1)
    async with database.write() as session:
        carla = await user(session, COORDINATOR)
        reached = await broadcasts.recipients(session, carla, Audience("all"), today=TODAY)
        counted = await broadcasts.count_recipients(session, carla, Audience("all"), today=TODAY)
        confirmed = await broadcasts.confirm(
            session,
            carla,
            Draft("Morgen geen uitwisseling."),
            Audience("all"),
            read_button=False,
            send_at=later,
            confirm_key="bc:rows",
            now=NOW,
            today=TODAY,
        )
        assert isinstance(confirmed, broadcasts.Confirmed)
        broadcast_id = confirmed.broadcast.id
        rows = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.broadcast_id == broadcast_id)
                .order_by(OutboxMessage.id)
            )
        )
    assert counted == confirmed.recipients == confirmed.broadcast.recipients == len(reached) == 4
    assert [(r.user_id, r.exchange_id) for r in rows] == [
        (r.user_id, r.exchange_id) for r in reached
    ]
    assert rows[-1].exchange_id == second and rows[2].exchange_id == w.exchange_id
    for row in rows:
        assert row.kind == "broadcast" and row.status == OUTBOX_PENDING and not row.urgent
        assert row.dedupe_key == f"broadcast:{broadcast_id}:{row.user_id}"
        assert row.payload == {"broadcast": broadcast_id}
        assert (row.due_at, row.next_attempt_at) == (later, later)
        assert row.not_after == later + broadcasts.BROADCAST_VALIDITY
        assert (row.created_at, row.updated_at, row.attempts) == (NOW, NOW, 0)


async def test_mine_leaves_out_pairs_of_another_coordinator(database: Database) -> None:
    await world(database)
    async with database.write() as session:
        add_user(session, 1001, "Dirk", coordinator=True)
    await _second_pair(database, created_by=1001)
    async with database.read() as session:
        carla = await user(session, COORDINATOR)
        mine = await broadcasts.recipients(session, carla, Audience("teachers"), today=TODAY)
        every = await broadcasts.recipients(
            session, carla, Audience("teachers", mine=False), today=TODAY
        )
    assert [r.user_id for r in mine] == [2001, 2002]
    assert [r.user_id for r in every] == [2001, 2002, 2101]


async def test_confirmed_once_reported_once_read_once(database: Database) -> None:
    await world(database)
    async with database.write() as session:
        carla = await user(session, COORDINATOR)
        first = await broadcasts.confirm(
            session,
            carla,
            Draft("Hallo allemaal"),
            Audience("all"),
            read_button=True,
            send_at=None,
            confirm_key="bc:abc",
            now=NOW,
            today=TODAY,
        )
        again = await broadcasts.confirm(
            session,
            carla,
            Draft("Hallo allemaal"),
            Audience("all"),
            read_button=True,
            send_at=None,
            confirm_key="bc:abc",
            now=NOW,
            today=TODAY,
        )
    assert isinstance(first, broadcasts.Confirmed) and first.recipients == 3
    assert isinstance(again, broadcasts.AlreadySent)
    broadcast_id = first.broadcast.id
    async with database.write() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
        assert {r.dedupe_key for r in rows} == {
            f"broadcast:{broadcast_id}:{u}" for u in (2001, 2002, BEGELEIDER)
        }
        assert await broadcasts.report_finished(session, now=NOW) == 0  # not all settled
        for row in rows:
            row.status = OUTBOX_SENT
    async with database.write() as session:
        teacher = await user(session, TEACHER_A)
        assert await broadcasts.mark_read(session, teacher, broadcast_id, now=NOW) == "read"
        assert await broadcasts.mark_read(session, teacher, broadcast_id, now=NOW) == "already_read"
        stranger = await user(session, COORDINATOR)
        assert await broadcasts.mark_read(session, stranger, broadcast_id, now=NOW) == "not_yours"
        assert await broadcasts.report_finished(session, now=NOW) == 1
        assert await broadcasts.report_finished(session, now=NOW) == 0
        reports = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "broadcast_report")
            )
        )
        assert [(r.user_id, r.payload) for r in reports] == [
            (COORDINATOR, {"broadcast": broadcast_id})
        ]
        carla = await user(session, COORDINATOR)
        (past,) = await broadcasts.past(session, carla)
        assert (past.counts.delivered, past.counts.read) == (3, 1)
        stored = await session.get(Broadcast, broadcast_id)
        assert stored is not None and stored.status == "done"


async def test_nothing_is_stored_for_nobody_or_an_empty_message(database: Database) -> None:
    await world(database)
    async with database.write() as session:
        carla = await user(session, COORDINATOR)
        nobody = await broadcasts.confirm(
            session,
            carla,
            Draft("Hallo"),
            Audience("city", "Utrecht"),
            read_button=False,
            send_at=None,
            confirm_key="bc:x",
            now=NOW,
            today=TODAY,
        )
        assert isinstance(nobody, broadcasts.Nobody)
        with pytest.raises(InputError):
            await broadcasts.confirm(
                session,
                carla,
                Draft("   "),
                Audience("all"),
                read_button=False,
                send_at=None,
                confirm_key="bc:y",
                now=NOW,
                today=TODAY,
            )
        teacher = await user(session, TEACHER_A)
        with pytest.raises(auth.NotAllowed):
            await broadcasts.confirm(
                session,
                teacher,
                Draft("Hallo"),
                Audience("all"),
                read_button=False,
                send_at=None,
                confirm_key="bc:z",
                now=NOW,
                today=TODAY,
            )
    async with database.read() as session:
        assert list(await session.scalars(select(Broadcast))) == []


@pytest.mark.parametrize(
    ("typed", "local"),
    [
        ("morgen 08:00", datetime(2027, 1, 13, 8, 0)),
        ("vr 9:00", datetime(2027, 1, 15, 9, 0)),
        ("vrijdag om 9u", datetime(2027, 1, 15, 9, 0)),
        ("di 9:00", datetime(2027, 1, 19, 9, 0)),  # today's 09:00 is over: next week
        ("di 15:30", datetime(2027, 1, 12, 15, 30)),
        ("16:00", datetime(2027, 1, 12, 16, 0)),
        ("14-3 13:30", datetime(2027, 3, 14, 13, 30)),
        ("20 januari 10.15", datetime(2027, 1, 20, 10, 15)),
    ],
)
def test_reading_when(typed: str, local: datetime) -> None:
    # NOW is Tuesday 12 January 2027, 14:00 in Amsterdam.
    assert broadcasts.read_send_at(typed, NOW, AMS) == local.replace(tzinfo=AMS).astimezone(UTC)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("ooit", "broadcast.when_unreadable"),
        ("morgen", "broadcast.when_unreadable"),
        ("vandaag 08:00", "broadcast.when_past"),
        ("1-1-2028 09:00", "broadcast.when_too_far"),
    ],
)
def test_a_moment_that_cannot_be_used(typed: str, key: str) -> None:
    with pytest.raises(InputError) as refused:
        broadcasts.read_send_at(typed, NOW, AMS)
    assert refused.value.key == key


def test_a_picture_that_is_not_one() -> None:
    broadcasts.check_media("document", "foto.jpg", "image/jpeg")
    broadcasts.check_media("document", "plan.pdf", "application/pdf")
    with pytest.raises(InputError):
        broadcasts.check_media("document", "foto.JPG", "application/pdf")


async def test_a_failed_row_goes_back_once(database: Database) -> None:
    await world(database)
    async with database.write() as session:
        carla = await user(session, COORDINATOR)
        done = await broadcasts.confirm(
            session,
            carla,
            Draft("Hallo"),
            Audience("teachers"),
            read_button=False,
            send_at=None,
            confirm_key="bc:r",
            now=NOW,
            today=TODAY,
        )
        assert isinstance(done, broadcasts.Confirmed)
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == 2001))
        assert row is not None
        row.status = OUTBOX_FAILED
        row.attempts = 5
        row.not_after = NOW - timedelta(days=1)
        row_id = row.id
    async with database.write() as session:
        carla = await user(session, COORDINATOR)
        later = NOW + timedelta(hours=1)
        (failure,) = await broadcasts.failures(session)
        assert (failure.name, failure.retryable) == ("Anouk", True)
        assert await broadcasts.retry(session, carla, row_id, now=later) == "queued"
        assert await broadcasts.retry(session, carla, row_id, now=later) == "not_failed"
        assert await broadcasts.retry(session, carla, 999_999, now=later) == "gone"
        teacher = await user(session, TEACHER_A)
        with pytest.raises(auth.NotAllowed):
            await broadcasts.retry(session, teacher, row_id, now=later)
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        assert (row.status, row.attempts) == (OUTBOX_PENDING, 0)
        assert row.not_after > later
