"""Incident reports: storing them, escalating them and recording who acted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.incidents import URGENT_SEVERITIES, effective_severity, escalation
from bot.domain.outbox import (
    ALERT_KINDS,
    INCIDENT_ALERT,
    INCIDENT_REPEAT,
    INCIDENT_SEEN,
    INCIDENT_SOLVED,
    INCIDENT_UPDATE,
    IncidentActionPayload,
    IncidentNotePayload,
    IncidentPayload,
    Rules,
)
from bot.domain.permissions import Action
from bot.services import auth, exchanges, groups, outbox
from db.models import (
    OUTBOX_SENDING,
    OUTBOX_SENT,
    ROLE_TEACHER,
    Dialog,
    Exchange,
    ExchangeSide,
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
    coordinators = [u.id for u in await exchanges.coordinators_of(session, exchange)]
    recipients = set(coordinators)
    if plan.teachers:
        teachers = await session.scalars(
            select(Membership.user_id).where(
                Membership.exchange_id == exchange.id, Membership.role == ROLE_TEACHER
            )
        )
        recipients |= set(teachers)
    recipients.discard(reported_by)
    await outbox.tell(
        session,
        sorted(recipients),
        exchange_id=exchange.id,
        kind=INCIDENT_ALERT,
        payload=IncidentPayload(incident=incident.id),
        dedupe_key=lambda user_id: f"incident:{incident.id}:{user_id}",
        now=now,
        urgent=plan.teachers,
        not_after=now + timedelta(days=1),
    )
    await groups.tell_incident(session, exchange.id, incident.id, now=now)
    if plan.repeat_after is not None:
        everyone = await session.scalars(select(User.id).where(User.is_coordinator.is_(True)))
        await outbox.tell(
            session,
            sorted(set(everyone)),
            exchange_id=exchange.id,
            kind=INCIDENT_REPEAT,
            payload=IncidentPayload(incident=incident.id),
            dedupe_key=lambda user_id: f"incident-repeat:{incident.id}:{user_id}",
            now=now + plan.repeat_after,
            urgent=True,
            not_after=now + timedelta(days=1),
        )
    return incident


# The chat's conversation kind while someone reports an incident step by step.
REPORT_DIALOG = "incident"
# The chat's conversation kind while a reporter's typed messages go to their alarm.
NOTE_DIALOG = "incident_note"
# The note mode ends with another command, or this long after the last text typed in it.
NOTE_DIALOG_TTL = timedelta(hours=3)


def _copy_keys(incident_id: int) -> tuple[str, ...]:
    return (
        f"incident:{incident_id}:%",
        f"incident-repeat:{incident_id}:%",
        f"incident-note:{incident_id}:%",
    )


async def add_note(
    session: AsyncSession, incident: Incident, text: str, *, user_id: int, now: datetime
) -> int:
    """More about an incident from its reporter; everyone alerted hears it too.

    Whoever already has the alert on their phone (sent, or on its way) gets the addition as a
    message of its own; an alert still waiting in the outbox is written when it goes out and
    so shows the addition already. Returns how many people the addition goes to.
    """
    incident.description = f"{incident.description}\n{text}" if incident.description else text
    action = IncidentAction(user_id=user_id, action="note", note=text, at=now)
    incident.actions.append(action)
    await session.flush()
    alerted = await session.scalars(
        select(OutboxMessage.user_id).where(
            or_(
                OutboxMessage.dedupe_key.like(f"incident:{incident.id}:%"),
                OutboxMessage.dedupe_key.like(f"incident-repeat:{incident.id}:%"),
            ),
            OutboxMessage.status.in_((OUTBOX_SENT, OUTBOX_SENDING)),
        )
    )
    recipients = sorted(set(alerted))
    await outbox.tell(
        session,
        recipients,
        exchange_id=incident.exchange_id,
        kind=INCIDENT_UPDATE,
        payload=IncidentNotePayload(incident=incident.id, note=text),
        dedupe_key=lambda recipient: f"incident-note:{incident.id}:{recipient}:{action.id}",
        now=now,
        urgent=incident.severity in URGENT_SEVERITIES,
        not_after=now + timedelta(days=1),
    )
    return len(recipients)


async def delivery_time(
    session: AsyncSession, incident: Incident, *, now: datetime, rules: Rules
) -> datetime | None:
    """When the alert (or an addition) queued `now` goes out; None: at once.

    High and urgent reports ignore quiet hours; a low or medium one waits for the morning.
    """
    return await outbox.delivery_time(
        session,
        incident.exchange_id,
        now=now,
        rules=rules,
        urgent=incident.severity in URGENT_SEVERITIES,
    )


async def load(session: AsyncSession, incident_id: int, *, lock: bool = False) -> Incident | None:
    """The incident with its actions; `lock` holds its row until commit (who acts first)."""
    query = (
        select(Incident)
        .where(Incident.id == incident_id)
        .options(selectinload(Incident.actions), selectinload(Incident.drop))
    )
    if lock:
        query = query.with_for_update(of=Incident)
    return await session.scalar(query)


async def is_open(session: AsyncSession, incident_id: int) -> bool:
    """Whether the incident exists and is not solved yet (read without a lock)."""
    status = await session.scalar(select(Incident.status).where(Incident.id == incident_id))
    return status in OPEN_STATES


async def may_handle(session: AsyncSession, user: User, incident: Incident) -> bool:
    # Through auth: incidents of an archived exchange can no longer be acknowledged or resolved.
    return await auth.may(session, user, Action.HANDLE_INCIDENT, incident.exchange_id)


async def may_act(session: AsyncSession, user: User, incident: Incident, action: str) -> bool:
    """Whether the user may "resolve" (from an alert) or "close" (from /incidenten) it."""
    if action == "close":
        return await auth.may(session, user, Action.CLOSE_INCIDENT, incident.exchange_id)
    return await may_handle(session, user, incident)


async def _tell_reporter(
    session: AsyncSession, incident: Incident, action: IncidentAction, kind: str, *, now: datetime
) -> None:
    """The one who raised the alert hears who took it up or solved it (not about themselves)."""
    if incident.reported_by is None or incident.reported_by == action.user_id:
        return
    await session.flush()
    await outbox.enqueue(
        session,
        user_id=incident.reported_by,
        exchange_id=incident.exchange_id,
        kind=kind,
        dedupe_key=f"{kind}:{incident.id}:{action.id}",
        payload=IncidentActionPayload(incident=incident.id, action=action.id),
        now=now,
        urgent=incident.severity in URGENT_SEVERITIES,
        not_after=now + timedelta(days=1),
    )


async def take_up(session: AsyncSession, user: User, incident_id: int, *, now: datetime) -> str:
    """ "Gezien" pressed: "acknowledged", "already_acknowledged" (by this user),
    "already_resolved", or "not_allowed" (no such incident, not the user's, archived)."""
    incident = await load(session, incident_id, lock=True)
    if incident is None or not await may_handle(session, user, incident):
        return "not_allowed"
    if incident.status == "resolved":
        return "already_resolved"
    if await acknowledge(session, incident, user_id=user.id, now=now):
        return "acknowledged"
    return "already_acknowledged"


async def acknowledge(
    session: AsyncSession, incident: Incident, *, user_id: int, now: datetime
) -> bool:
    """Record that the user has seen it; False if they had already.

    Load the incident with `lock=True`: a "seen" and a "solved" at the same moment must not
    overwrite each other's status.
    """
    if any(a.action == "ack" and a.user_id == user_id for a in incident.actions):
        return False
    action = IncidentAction(user_id=user_id, action="ack", at=now)
    incident.actions.append(action)
    if incident.status == "open":
        incident.status = "acknowledged"
        incident.acknowledged_at = now
    await _tell_reporter(session, incident, action, INCIDENT_SEEN, now=now)
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
    """Close the incident with a note; False if it was closed already (load it with lock)."""
    if incident.status == "resolved":
        return False
    done = IncidentAction(user_id=user_id, action=action, note=note, at=now)
    incident.actions.append(done)
    incident.status = "resolved"
    incident.resolved_at = now
    if incident.acknowledged_at is None:
        incident.acknowledged_at = now
    await end_note_mode(session, incident)
    await _tell_reporter(session, incident, done, INCIDENT_SOLVED, now=now)
    return True


async def end_note_mode(session: AsyncSession, incident: Incident) -> None:
    """Stop passing the reporter's typed messages to this alarm (it is solved).

    Ended quietly: the reporter is told the alarm is solved, which says enough. Lock order:
    the incident is locked before this touches the reporter's conversation row, as in
    adding a note, so a note and a resolution at the same moment cannot deadlock.
    """
    await session.execute(
        delete(Dialog)
        .where(
            Dialog.user_id == incident.reported_by,
            Dialog.kind == NOTE_DIALOG,
            Dialog.data["incident"].as_integer() == incident.id,
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class AlertCopy:
    """One delivered copy of an alert: where it is, and how to write it again."""

    row_id: int
    user_id: int
    kind: str
    payload: dict[str, Any]
    message_id: int
    as_caption: bool
    language: str


async def alert_copies(session: AsyncSession, incident_id: int) -> list[AlertCopy]:
    """Every delivered alert, repeat and addition of the incident, oldest first."""
    rows = await session.execute(
        select(OutboxMessage, User.language)
        .join(User, User.id == OutboxMessage.user_id)
        .where(
            or_(*(OutboxMessage.dedupe_key.like(key) for key in _copy_keys(incident_id))),
            OutboxMessage.kind.in_(ALERT_KINDS),
            OutboxMessage.status == OUTBOX_SENT,
            OutboxMessage.telegram_message_id.is_not(None),
        )
        .order_by(OutboxMessage.id)
    )
    return [
        AlertCopy(
            row.id,
            row.user_id,
            row.kind,
            dict(row.payload),
            int(row.telegram_message_id),
            bool(getattr(row, "sent_as_caption", False)),
            language,
        )
        for row, language in rows
        if row.telegram_message_id is not None  # the query asks for these only
    ]


def _visible_open(user: User) -> list[ColumnElement[bool]]:
    """Which open incidents the user may see: all for a coordinator, else those of the
    exchanges they teach in and those they reported."""
    where: list[ColumnElement[bool]] = [Incident.status.in_(OPEN_STATES)]
    if not user.is_coordinator:
        teacher_of = select(Membership.exchange_id).where(
            Membership.user_id == user.id, Membership.role == ROLE_TEACHER
        )
        where.append(Incident.exchange_id.in_(teacher_of) | (Incident.reported_by == user.id))
    return where


async def visible_open(session: AsyncSession, user: User) -> list[Incident]:
    """Open incidents the user may see, newest first."""
    query = (
        select(Incident)
        .where(*_visible_open(user))
        .options(selectinload(Incident.actions), selectinload(Incident.drop))
        .order_by(Incident.created_at.desc(), Incident.id.desc())
    )
    return list(await session.scalars(query))


@dataclass(frozen=True)
class OpenList:
    """The newest open incidents the user may see, with what showing them needs: their
    exchanges (sides and schools) and their reporters' names, by id."""

    total: int
    incidents: list[Incident]
    exchanges: dict[int, Exchange]
    reporters: dict[int, str]


async def open_list(session: AsyncSession, user: User, limit: int) -> OpenList:
    """`visible_open`, the newest `limit` of them, in a handful of queries however many
    there are: a coordinator of a thousand pairs may have hundreds open."""
    where = _visible_open(user)
    total = await session.scalar(select(func.count()).select_from(Incident).where(*where))
    found = list(
        await session.scalars(
            select(Incident)
            .where(*where)
            .options(selectinload(Incident.actions), selectinload(Incident.drop))
            .order_by(Incident.created_at.desc(), Incident.id.desc())
            .limit(limit)
        )
    )
    exchange_ids = {i.exchange_id for i in found}
    reporter_ids = {i.reported_by for i in found if i.reported_by is not None}
    shown: dict[int, Exchange] = {}
    if exchange_ids:
        rows = await session.scalars(
            select(Exchange)
            .where(Exchange.id.in_(exchange_ids))
            .options(selectinload(Exchange.sides).joinedload(ExchangeSide.school))
        )
        shown = {e.id: e for e in rows}
    names: dict[int, str] = {}
    if reporter_ids:
        pairs = await session.execute(
            select(User.id, User.display_name).where(User.id.in_(reporter_ids))
        )
        names = {user_id: name for user_id, name in pairs}
    return OpenList(int(total or 0), found, shown, names)
