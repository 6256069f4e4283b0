"""The incident service on a real database: reporting, alerts, acknowledging, resolving."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.services import exchanges, incidents
from db.models import Incident, IncidentAction, OutboxMessage
from db.session import Database
from tests.services.world import (
    ACK_WINDOW,
    BEGELEIDER,
    COORDINATOR,
    DAY_1,
    STRANGER,
    TEACHER_A,
    TEACHER_B,
    at,
    user,
    world,
)

REPORTED = at(DAY_1, 10, 0)


async def report(database: Database, exchange_id: int, severity: str, **kwargs: Any) -> int:
    async with database.write() as session:
        exchange = await exchanges.load_exchange(session, exchange_id)
        assert exchange is not None
        values: dict[str, Any] = {
            "reported_by": BEGELEIDER,
            "category": "injury",
            "severity": severity,
            "team_number": 2,
            "description": "Geschaafde knie",
            "photo_file_id": None,
            "now": REPORTED,
            "ack_window": ACK_WINDOW,
        } | kwargs
        return (await incidents.report(session, exchange, **values)).id


async def outbox_rows(database: Database) -> list[tuple[str, int, bool]]:
    async with database.read() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(r.kind, r.user_id, r.urgent) for r in rows]


async def test_a_high_report_alerts_coordinator_and_teachers_and_repeats_to_coordinators(
    database: Database,
) -> None:
    w = await world(database)
    incident_id = await report(database, w.exchange_id, "high")
    async with database.read() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        assert (incident.status, incident.severity, incident.description, incident.team_number) == (
            "open",
            "high",
            "Geschaafde knie",
            2,
        )
        repeat = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "incident_repeat")
        )
        assert repeat is not None and repeat.due_at == REPORTED + ACK_WINDOW
    assert await outbox_rows(database) == [
        ("incident_alert", COORDINATOR, True),
        ("incident_alert", TEACHER_A, True),
        ("incident_alert", TEACHER_B, True),
        ("incident_repeat", COORDINATOR, True),
    ]


async def test_a_low_report_goes_to_the_coordinator_only(database: Database) -> None:
    w = await world(database)
    await report(database, w.exchange_id, "low", category="damage", team_number=None)
    assert await outbox_rows(database) == [("incident_alert", COORDINATOR, False)]


async def test_a_reporting_teacher_is_not_alerted_about_their_own_report(
    database: Database,
) -> None:
    w = await world(database)
    await report(database, w.exchange_id, "high", reported_by=TEACHER_A)
    alerted = [u for kind, u, _ in await outbox_rows(database) if kind == "incident_alert"]
    assert alerted == [COORDINATOR, TEACHER_B]


async def test_acknowledge_once_per_person_and_the_reporter_hears_it(database: Database) -> None:
    w = await world(database)
    incident_id = await report(database, w.exchange_id, "high")
    for expected in (True, False):
        async with database.write() as session:
            incident = await incidents.load(session, incident_id, lock=True)
            assert incident is not None
            seen = await incidents.acknowledge(
                session, incident, user_id=TEACHER_A, now=REPORTED + timedelta(minutes=2)
            )
            assert seen is expected
    async with database.read() as session:
        incident = await incidents.load(session, incident_id)
        assert incident is not None
        assert incident.status == "acknowledged"
        assert incident.acknowledged_at == REPORTED + timedelta(minutes=2)
        assert [(a.user_id, a.action) for a in incident.actions] == [(TEACHER_A, "ack")]
    told = [(k, u) for k, u, _ in await outbox_rows(database) if k == "incident_seen"]
    assert told == [("incident_seen", BEGELEIDER)]


async def test_resolve_closes_once_with_the_note(database: Database) -> None:
    w = await world(database)
    incident_id = await report(database, w.exchange_id, "medium")
    solved = REPORTED + timedelta(minutes=20)
    async with database.write() as session:
        incident = await incidents.load(session, incident_id, lock=True)
        assert incident is not None
        assert await incidents.resolve(
            session, incident, user_id=COORDINATOR, note="Pleister erop", now=solved
        )
    async with database.write() as session:
        incident = await incidents.load(session, incident_id, lock=True)
        assert incident is not None
        assert not await incidents.resolve(
            session, incident, user_id=TEACHER_A, note=None, now=solved
        )
    async with database.read() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        assert (incident.status, incident.resolved_at, incident.acknowledged_at) == (
            "resolved",
            solved,
            solved,
        )
        actions = (
            await session.execute(
                select(IncidentAction.user_id, IncidentAction.action, IncidentAction.note)
            )
        ).all()
        assert [tuple(a) for a in actions] == [(COORDINATOR, "resolve", "Pleister erop")]
        assert not await incidents.is_open(session, incident_id)
        assert await incidents.visible_open(session, await user(session, COORDINATOR)) == []
    told = [(k, u) for k, u, _ in await outbox_rows(database) if k == "incident_solved"]
    assert told == [("incident_solved", BEGELEIDER)]


async def test_who_sees_and_who_may_act(database: Database) -> None:
    w = await world(database)
    incident_id = await report(database, w.exchange_id, "medium", reported_by=TEACHER_B)
    async with database.read() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        seen_by = {}
        for person in (COORDINATOR, TEACHER_A, BEGELEIDER, STRANGER):
            visible = await incidents.visible_open(session, await user(session, person))
            seen_by[person] = [i.id for i in visible]
        assert seen_by == {
            COORDINATOR: [incident_id],
            TEACHER_A: [incident_id],
            BEGELEIDER: [],
            STRANGER: [],
        }
        may = {
            (person, action): await incidents.may_act(
                session, await user(session, person), incident, action
            )
            for person in (COORDINATOR, TEACHER_A, BEGELEIDER, STRANGER)
            for action in ("resolve", "close")
        }
    assert may == {
        (COORDINATOR, "resolve"): True,
        (COORDINATOR, "close"): True,
        (TEACHER_A, "resolve"): True,
        (TEACHER_A, "close"): False,
        (BEGELEIDER, "resolve"): False,
        (BEGELEIDER, "close"): False,
        (STRANGER, "resolve"): False,
        (STRANGER, "close"): False,
    }
