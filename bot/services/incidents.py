"""Incident reports: storing them, escalating them and recording who acted."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.fieldwork import effective_severity, escalation
from bot.domain.permissions import Action, is_allowed
from bot.services import agreements, auth, outbox
from db.models import (
    ROLE_TEACHER,
    Exchange,
    Incident,
    IncidentAction,
    Membership,
    OutboxMessage,
    User,
)

OPEN_STATES = ("open", "acknowledged")


async def report(
    session: AsyncSession,
    exchange: Exchange,
    *,
    reported_by: int,
    category: str,
    severity: str | None,
    team_number: int | None,
    description: str | None,
    photo_file_id: str | None,
    now: datetime,
    ack_window: timedelta,
) -> Incident:
    """Store the incident and queue its alerts; high and urgent ones ignore quiet hours."""
    incident = Incident(
        exchange_id=exchange.id,
        reported_by=reported_by,
        category=category,
        severity=effective_severity(category, severity),
        team_number=team_number,
        description=description,
        photo_file_id=photo_file_id,
        status="open",
        created_at=now,
    )
    session.add(incident)
    await session.flush()
    plan = escalation(incident.severity, ack_window)
    coordinators = [u.id for u in await agreements.coordinators_of(session, exchange)]
    recipients = set(coordinators)
    if plan.teachers:
        teachers = await session.scalars(
            select(Membership.user_id).where(
                Membership.exchange_id == exchange.id, Membership.role == ROLE_TEACHER
            )
        )
        recipients |= set(teachers)
    recipients.discard(reported_by)
    urgent = plan.teachers
    for user_id in sorted(recipients):
        await outbox.enqueue(
            session,
            user_id=user_id,
            exchange_id=exchange.id,
            kind="incident_alert",
            dedupe_key=f"incident:{incident.id}:{user_id}",
            payload={"incident": incident.id},
            now=now,
            urgent=urgent,
            not_after=now + timedelta(days=1),
        )
    if plan.repeat_after is not None:
        everyone = await session.scalars(select(User.id).where(User.is_coordinator.is_(True)))
        for user_id in sorted(set(everyone)):
            await outbox.enqueue(
                session,
                user_id=user_id,
                exchange_id=exchange.id,
                kind="incident_repeat",
                dedupe_key=f"incident-repeat:{incident.id}:{user_id}",
                payload={"incident": incident.id},
                now=now + plan.repeat_after,
                urgent=True,
                not_after=now + timedelta(days=1),
            )
    return incident


async def add_note(
    session: AsyncSession, incident: Incident, text: str, *, user_id: int, now: datetime
) -> None:
    """More about an incident from its reporter; everyone alerted hears it too."""
    incident.description = f"{incident.description}\n{text}" if incident.description else text
    session.add(
        IncidentAction(incident_id=incident.id, user_id=user_id, action="note", note=text, at=now)
    )
    alerted = await session.scalars(
        select(OutboxMessage.user_id).where(
            OutboxMessage.dedupe_key.like(f"incident:{incident.id}:%")
        )
    )
    for number, recipient in enumerate(sorted(set(alerted))):
        await outbox.enqueue(
            session,
            user_id=recipient,
            exchange_id=incident.exchange_id,
            kind="incident_update",
            dedupe_key=f"incident-note:{incident.id}:{recipient}:{now.isoformat()}:{number}",
            payload={"incident": incident.id, "note": text},
            now=now,
            urgent=incident.severity in ("high", "urgent"),
            not_after=now + timedelta(days=1),
        )


async def load(session: AsyncSession, incident_id: int) -> Incident | None:
    return await session.scalar(
        select(Incident).where(Incident.id == incident_id).options(selectinload(Incident.actions))
    )


async def may_handle(session: AsyncSession, user: User, incident: Incident) -> bool:
    roles = await auth.exchange_roles(session, user.id, incident.exchange_id)
    return is_allowed(
        Action.HANDLE_INCIDENT, is_coordinator=user.is_coordinator, roles_in_exchange=roles
    )


async def may_see(session: AsyncSession, user: User, incident: Incident) -> bool:
    """Teachers of the exchange and coordinators see details; begeleiders their own reports."""
    roles = await auth.exchange_roles(session, user.id, incident.exchange_id)
    if is_allowed(
        Action.VIEW_INCIDENTS, is_coordinator=user.is_coordinator, roles_in_exchange=roles
    ):
        return True
    return incident.reported_by == user.id


async def acknowledge(
    session: AsyncSession, incident: Incident, *, user_id: int, now: datetime
) -> bool:
    """Record that the user has seen it; False if they had already."""
    if any(a.action == "ack" and a.user_id == user_id for a in incident.actions):
        return False
    incident.actions.append(IncidentAction(user_id=user_id, action="ack", at=now))
    if incident.status == "open":
        incident.status = "acknowledged"
        incident.acknowledged_at = now
    return True


async def resolve(
    session: AsyncSession,
    incident: Incident,
    *,
    user_id: int,
    note: str | None,
    now: datetime,
    action: str = "resolve",
) -> bool:
    """Close the incident with a note; False if it was closed already."""
    if incident.status == "resolved":
        return False
    incident.actions.append(IncidentAction(user_id=user_id, action=action, note=note, at=now))
    incident.status = "resolved"
    incident.resolved_at = now
    if incident.acknowledged_at is None:
        incident.acknowledged_at = now
    return True


async def visible_open(session: AsyncSession, user: User) -> list[Incident]:
    """Open incidents the user may see, newest first."""
    query = (
        select(Incident)
        .where(Incident.status.in_(OPEN_STATES))
        .options(selectinload(Incident.actions))
        .order_by(Incident.created_at.desc(), Incident.id.desc())
    )
    if not user.is_coordinator:
        teacher_of = select(Membership.exchange_id).where(
            Membership.user_id == user.id, Membership.role == ROLE_TEACHER
        )
        query = query.where(
            Incident.exchange_id.in_(teacher_of) | (Incident.reported_by == user.id)
        )
    return list(await session.scalars(query))
