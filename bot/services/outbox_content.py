"""What each outbox message is written from, loaded from the database when it goes out.

Loading at send time (not at planning time) means a digest shows the checklist as it is on
Monday morning and a nag never lists an item that was ticked in the meantime. `load` reads a
claimed row's typed payload (bot/domain/outbox.py) and gathers one object per kind, or a
`Skip` when the row is no longer worth sending; bot/ui/outbox.py writes the text from that
object without touching the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any, TypeAlias

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.agreement import open_days
from bot.domain.outbox import (
    ABSENCE_NEWS,
    ALERT_KINDS,
    BROADCAST_KINDS,
    CHECKIN_MISSING,
    CHECKLIST_NAG,
    COORDINATOR_WEEK,
    DATE_AGREED,
    DATE_DECLINED,
    DATE_PROPOSAL,
    DATE_REMINDER,
    DAY_SCHEDULE,
    DIGEST,
    FOLLOW_UP,
    GROUP_INCIDENT,
    INCIDENT_KINDS,
    INCIDENT_REPEAT,
    INVITE_TRIED,
    MEMBER_ADDED,
    MEMBER_JOINED,
    MEMBER_REMOVED,
    REPORTER_NOTICES,
    UNDELIVERED,
    USER_BACK,
    USER_BLOCKED,
    AbsencePayload,
    AgreedPayload,
    DateReminderPayload,
    DayPayload,
    DeclinedPayload,
    DigestPayload,
    IncidentActionPayload,
    IncidentPayload,
    InviteTriedPayload,
    MemberAddedPayload,
    MemberPayload,
    MemberRemovedPayload,
    NagPayload,
    ProposalPayload,
    UndeliveredPayload,
    note_of,
    planned_for,
    read_payload,
)
from bot.domain.programme import Programme
from bot.services import (
    absences,
    broadcasts,
    checkins,
    checklists,
    exchanges,
    groups,
    incidents,
    schools,
    summary,
)
from bot.services.groups import IncidentNotice
from bot.services.outbox import Claimed
from db.models import (
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    STATUS_ACTIVE,
    Absence,
    ChecklistTick,
    DateProposal,
    Exchange,
    ExchangePhase,
    Incident,
    IncidentAction,
    Invite,
    Membership,
    User,
)

# Pushes about the reader's own part in the exchange: none once they are no longer in it.
_FOR_MEMBERS = (DIGEST, FOLLOW_UP, DAY_SCHEDULE, CHECKLIST_NAG, DATE_REMINDER)


@dataclass(frozen=True)
class Skip:
    """The row is not sent; `reason` is kept on it."""

    reason: str


@dataclass(frozen=True)
class DayOffer:
    """A day a begeleider may say they cannot come to, or, having said so, come after all."""

    day: ExchangePhase
    absent: bool


@dataclass(frozen=True)
class AbsenceNews:
    """To the coordinators: a member cannot come on a day (`absent`), or comes after all."""

    exchange: Exchange
    programme: Programme
    day: ExchangePhase
    member: str  # their name
    role: str
    side: str | None
    absent: bool
    coming: tuple[str, ...]  # the begeleiders still expected that day


@dataclass(frozen=True)
class Digest:
    """The Monday digest: the week's phases and days, and the reader's checklist."""

    exchange: Exchange
    programme: Programme
    monday: date
    late: bool  # it goes out more than a quarter of an hour after its time, and says so
    teaches: bool  # the reader is one of the teachers, who agree the dates
    # Every item of the reader's checklist, with its ticks as they are when the digest goes out;
    # the digest offers what checklists.to_do picks from them.
    entries: tuple[checklists.Entry, ...]
    side: str | None = None  # the class the reader teaches: their side of a visit
    # The begeleider reader's days this week, each with "Ik kan niet" (or "Toch wel").
    offers: tuple[DayOffer, ...] = ()


@dataclass(frozen=True)
class FollowUp:
    """The tips after the programme, to its teachers."""

    exchange: Exchange
    programme: Programme


@dataclass(frozen=True)
class DaySchedule:
    """The morning schedule of a day phase, and whom to call."""

    exchange: Exchange
    programme: Programme
    day: ExchangePhase
    contacts: tuple[User, ...]  # services.exchanges.coordinators_of
    # The reader's side of the visit and the addresses they may fill in.
    reader: schools.Reader = field(default_factory=schools.Reader)
    # The numbers shared with the reader; None for a linked group, where they are not shown.
    phones: tuple[schools.PhoneContact, ...] | None = ()
    offers: tuple[DayOffer, ...] = ()  # to a begeleider: "Ik kan niet" for this day


@dataclass(frozen=True)
class Nag:
    """The reader's checklist items due on `deadline` that are still open (never none)."""

    exchange: Exchange
    deadline: date
    still_open: tuple[checklists.Entry, ...]


@dataclass(frozen=True)
class DateReminder:
    """To a teacher: the day phases whose date is still to be agreed (never none)."""

    exchange: Exchange
    programme: Programme
    still_open: tuple[ExchangePhase, ...]


@dataclass(frozen=True)
class Proposal:
    """A pending date proposal, to the teachers (or coordinator) who answer it."""

    exchange: Exchange
    programme: Programme
    proposal: DateProposal
    proposer: str  # their name, "?" when they are gone


@dataclass(frozen=True)
class Agreed:
    """A date is fixed."""

    exchange: Exchange
    programme: Programme
    day: ExchangePhase
    was: tuple[date, time | None] | None = None  # where it stood before, when it moved


@dataclass(frozen=True)
class Declined:
    """To the proposer: their proposal was declined."""

    exchange: Exchange
    programme: Programme
    phase_key: str
    by: str  # the name of whoever declined


@dataclass(frozen=True)
class Alert:
    """A copy of an incident alert, its repeat or an addition (`kind`), as it reads now."""

    kind: str  # one of ALERT_KINDS
    exchange: Exchange
    incident: Incident  # with its actions and drop
    reporter: str  # their name, "?" when they are gone
    note: str = ""  # incident_update: what the reporter added


@dataclass(frozen=True)
class ReporterNotice:
    """To whoever raised an incident: someone saw it, or solved it (`kind`)."""

    kind: str  # one of REPORTER_NOTICES
    incident: Incident
    action: IncidentAction


@dataclass(frozen=True)
class CheckinMissing:
    """To the coordinators: begeleiders not checked in shortly before a day starts."""

    exchange: Exchange
    programme: Programme
    day: ExchangePhase
    missing: tuple[str, ...]  # their names; none when every begeleider said they cannot come
    absent: tuple[str, ...] = ()  # those who said they cannot come


@dataclass(frozen=True)
class Undelivered:
    """To the sender (or a coordinator): a message did not reach its recipient."""

    exchange: Exchange
    programme: Programme
    kind: str  # of the message that did not arrive
    recipient: str  # their name, "?" when they are gone
    reason: str  # too_late, failed or blocked
    # What it was about, as far as the message says.
    phase_key: str | None = None
    day: date | None = None
    incident: int | None = None


@dataclass(frozen=True)
class MemberNews:
    """To a coordinator: a member joined, blocked the bot, or writes to it again (`kind`)."""

    kind: str  # MEMBER_JOINED, USER_BLOCKED or USER_BACK
    exchange: Exchange
    member: str  # their name
    role: str
    side: str | None


@dataclass(frozen=True)
class MemberAdded:
    """To a begeleider: a coordinator planned them for a day of the pair."""

    exchange: Exchange
    programme: Programme
    day: ExchangePhase
    contacts: tuple[User, ...]  # services.exchanges.coordinators_of


@dataclass(frozen=True)
class MemberRemoved:
    """To a former member: a coordinator took them out of the pair."""

    exchange: Exchange
    role: str
    side: str | None
    contacts: tuple[User, ...]  # services.exchanges.coordinators_of


@dataclass(frozen=True)
class InviteTried:
    """To a coordinator: someone tried a link of the exchange that expired or is used up."""

    exchange: Exchange
    role: str
    side: str | None
    why: str  # "expired" or "used_up"


Content: TypeAlias = (
    Digest
    | FollowUp
    | DaySchedule
    | Nag
    | Proposal
    | Agreed
    | Declined
    | Alert
    | ReporterNotice
    | CheckinMissing
    | Undelivered
    | MemberNews
    | InviteTried
    | DateReminder
    | AbsenceNews
    | broadcasts.BroadcastMessage
    | broadcasts.BroadcastReport
    | summary.Summary
    | IncidentNotice
    | MemberAdded
    | MemberRemoved
)


@dataclass(frozen=True)
class _Batch:
    """What the member pushes of one claimed batch are written from, read in a few queries."""

    exchanges: Mapping[int, Exchange]  # as exchanges.load_exchange has them
    ticks: Mapping[int, checklists.Ticks]  # per exchange, as checklists.load_ticks has them
    # Per (exchange, user): the (phase key, day) of each day they said they cannot come to.
    absences: Mapping[tuple[int, int], set[tuple[str, date]]]

    def roles(self, exchange: Exchange, user_id: int) -> list[Membership]:
        """The user's roles in the exchange, as exchanges.memberships_of has them."""
        return sorted((m for m in exchange.memberships if m.user_id == user_id), key=lambda m: m.id)


# The kinds `load_batch` reads a batch at a time: a member's own part in one exchange, the
# pushes that go out by the hundred on a Monday morning.
BATCHED = frozenset(_FOR_MEMBERS)


async def load_batch(
    session: AsyncSession, rows: Sequence[Claimed], programmes: Mapping[str, Programme]
) -> dict[int, Content | Skip]:
    """What each of the claimed `rows` of a BATCHED kind is written from, by row id, as `load`
    has it; read in a few queries for all of them together. Other rows are left out."""
    batched = [r for r in rows if r.kind in BATCHED and r.exchange_id is not None]
    if not batched:
        return {}
    found = await exchanges.load_exchanges(session, {r.exchange_id or 0 for r in batched})
    ticks: dict[int, dict[tuple[str, str], str]] = {exchange_id: {} for exchange_id in found}
    absences: dict[tuple[int, int], set[tuple[str, date]]] = {}
    if found:
        for exchange_id, holder, key, name in await session.execute(
            select(
                ChecklistTick.exchange_id,
                ChecklistTick.holder,
                ChecklistTick.item_key,
                User.display_name,
            )
            .outerjoin(User, User.id == ChecklistTick.done_by)
            .where(ChecklistTick.exchange_id.in_(found))
        ):
            ticks[exchange_id][(holder, key)] = name or checklists.GONE
        for exchange_id, user_id, phase_key, day in await session.execute(
            select(Absence.exchange_id, Absence.user_id, Absence.phase_key, Absence.day).where(
                Absence.exchange_id.in_(found),
                Absence.user_id.in_({r.user_id for r in batched}),
            )
        ):
            absences.setdefault((exchange_id, user_id), set()).add((phase_key, day))
    batch = _Batch(found, ticks, absences)
    return {row.id: await _load(session, row, programmes, batch) for row in batched}


async def load(
    session: AsyncSession, row: Claimed, programmes: Mapping[str, Programme]
) -> Content | Skip:
    """What the claimed row's message is written from, or why it is no longer worth sending."""
    return await _load(session, row, programmes, None)


async def _load(
    session: AsyncSession,
    row: Claimed,
    programmes: Mapping[str, Programme],
    batch: _Batch | None,
) -> Content | Skip:
    if row.kind in BROADCAST_KINDS:
        message = await broadcasts.content(session, row)
        return Skip(message) if isinstance(message, str) else message
    if row.kind == COORDINATOR_WEEK:
        week = await summary.load(session, row, programmes)
        return Skip(week) if isinstance(week, str) else week
    if not row.exchange_id:
        exchange = None
    elif batch is not None:
        exchange = batch.exchanges.get(row.exchange_id)
    else:
        exchange = await exchanges.load_exchange(session, row.exchange_id)
    if exchange is None:
        return Skip("exchange gone")
    programme = programmes.get(exchange.programme_key)
    if programme is None:
        return Skip("programme gone")
    kind, stored = row.kind, row.payload
    if kind in (MEMBER_JOINED, INVITE_TRIED) and exchange.status != STATUS_ACTIVE:
        return Skip("exchange archived")
    if await summary.gathers(session, row.user_id, kind, due_at=row.due_at):
        return Skip(summary.GATHERED)  # listed in the coordinator's Monday summary
    roles: list[Membership] = []
    if kind in _FOR_MEMBERS:
        roles = (
            batch.roles(exchange, row.user_id)
            if batch is not None
            else await exchanges.memberships_of(session, row.user_id, exchange.id)
        )
        # A linked group has no roles: it gets the day schedule in the neutral wording.
        if not roles and not (
            kind == DAY_SCHEDULE and await groups.linked_to(session, row.user_id, exchange.id)
        ):
            return Skip("no longer a member")
    if kind == DIGEST:
        monday = date.fromisoformat(read_payload(DigestPayload, stored)["week"])
        return Digest(
            exchange,
            programme,
            monday,
            late=row.late,
            teaches=any(m.role == ROLE_TEACHER for m in roles),
            entries=tuple(await _entries_for(session, exchange, programme, roles, batch)),
            side=_side_of(roles),
            offers=await _offers(session, exchange, programme, roles, monday, monday + WEEK, batch),
        )
    if kind == FOLLOW_UP:
        return FollowUp(exchange, programme)
    if kind == DAY_SCHEDULE:
        day = _phase_on(exchange, read_payload(DayPayload, stored))
        if day is None:
            return Skip("date changed")
        contacts = await exchanges.coordinators_of(session, exchange)
        reader = await session.get(User, row.user_id)
        if reader is None:
            return Skip("user gone")
        return DaySchedule(
            exchange,
            programme,
            day,
            tuple(contacts),
            reader=schools.reader_of(exchange, reader),
            phones=None if reader.is_group else schools.phone_book(exchange, reader, contacts),
            offers=await _offers(
                session, exchange, programme, roles, day.starts_on, day.starts_on + ONE_DAY, batch
            ),
        )
    if kind == CHECKLIST_NAG:
        nag = read_payload(NagPayload, stored)
        return await _nag(session, exchange, programme, roles, nag, batch)
    if kind == DATE_PROPOSAL:
        proposal_id = read_payload(ProposalPayload, stored)["proposal"]
        return await _proposal(session, exchange, programme, proposal_id)
    if kind == DATE_AGREED:
        agreed = read_payload(AgreedPayload, stored)
        phase_row = next((p for p in exchange.phases if p.phase_key == agreed["phase"]), None)
        if phase_row is None:
            return Skip("phase gone")
        was_date, was_time = agreed.get("was_date"), agreed.get("was_time")
        was = (
            (date.fromisoformat(was_date), time.fromisoformat(was_time) if was_time else None)
            if was_date
            else None
        )
        return Agreed(exchange, programme, phase_row, was)
    if kind in INCIDENT_KINDS:
        return await _incident(session, exchange, kind, stored)
    if kind == GROUP_INCIDENT:
        notice = await groups.incident_notice(session, exchange, row.user_id, stored)
        return notice if notice is not None else Skip("group unlinked or incident gone")
    if kind == ABSENCE_NEWS:
        return await _absence_news(
            session, exchange, programme, read_payload(AbsencePayload, stored)
        )
    if kind == CHECKIN_MISSING:
        return await _checkin_missing(
            session, exchange, programme, read_payload(DayPayload, stored)
        )
    if kind == UNDELIVERED:
        payload = read_payload(UndeliveredPayload, stored)
        return await _undelivered(session, exchange, programme, payload)
    if kind == INVITE_TRIED:
        tried = read_payload(InviteTriedPayload, stored)
        invite = await session.get(Invite, tried["invite"])
        if invite is None:
            return Skip("invite gone")
        return InviteTried(exchange, invite.role, invite.side, tried["why"])
    if kind == MEMBER_ADDED:
        return await _member_added(
            session, exchange, programme, row.user_id, read_payload(MemberAddedPayload, stored)
        )
    if kind == MEMBER_REMOVED:
        return await _member_removed(
            session, exchange, row.user_id, read_payload(MemberRemovedPayload, stored)
        )
    if kind in (USER_BLOCKED, USER_BACK, MEMBER_JOINED):
        return await _member_news(session, exchange, kind, read_payload(MemberPayload, stored))
    if kind == DATE_DECLINED:
        declined = read_payload(DeclinedPayload, stored)
        return Declined(exchange, programme, declined["phase"], declined["by"])
    if kind == DATE_REMINDER:
        planned_for = date.fromisoformat(read_payload(DateReminderPayload, stored)["date"])
        if not any(m.role == ROLE_TEACHER for m in roles):
            return Skip("no longer a teacher")
        keys = open_days(programme, exchange.phases, planned_for)
        if not keys:
            return Skip("dates agreed")
        rows = {p.phase_key: p for p in exchange.phases}
        return DateReminder(exchange, programme, tuple(rows[key] for key in keys))
    return Skip(f"unknown kind {kind}")


async def alert_copy(
    session: AsyncSession, copy: incidents.AlertCopy, incident: Incident
) -> Alert | None:
    """What the delivered copy `copy` of an alert is written from now; None when its exchange
    is gone."""
    exchange = await exchanges.load_exchange(session, incident.exchange_id)
    if exchange is None:
        return None
    reporter = await _reporter_name(session, incident)
    return Alert(copy.kind, exchange, incident, reporter, note_of(copy.payload))


def _side_of(roles: Sequence[Membership]) -> str | None:
    """The class the reader teaches (one, or none: a begeleider has no side of a visit)."""
    sides = {m.side for m in roles if m.role == ROLE_TEACHER and m.side in ("A", "B")}
    return sides.pop() if len(sides) == 1 else None


def _phase_on(exchange: Exchange, payload: DayPayload) -> ExchangePhase | None:
    """The phase the row was planned for, if it is still on that day."""
    row = next((p for p in exchange.phases if p.phase_key == payload["phase"]), None)
    if row is None or row.starts_on.isoformat() != payload["date"]:
        return None
    return row


async def _entries_for(
    session: AsyncSession,
    exchange: Exchange,
    programme: Programme,
    roles: Sequence[Membership],
    batch: _Batch | None = None,
) -> list[checklists.Entry]:
    if batch is not None:
        ticks = batch.ticks.get(exchange.id, {})
        return checklists.entries_of(programme, exchange.phases, roles, ticks)
    return await checklists.entries_for(session, exchange, programme, roles)


async def _nag(
    session: AsyncSession,
    exchange: Exchange,
    programme: Programme,
    roles: Sequence[Membership],
    payload: NagPayload,
    batch: _Batch | None = None,
) -> Nag | Skip:
    keys = set(payload["items"])
    deadline = date.fromisoformat(payload["deadline"])
    # What is ticked by now, by whoever holds the tick, is left out; so is an item whose phase
    # has moved to before the reminder's deadline and is over by then.
    still_open = [
        e
        for e in await _entries_for(session, exchange, programme, roles, batch)
        if e.item.key in keys and not e.done and e.ends_on >= deadline
    ]
    if not still_open:
        return Skip("nothing open")
    return Nag(exchange, deadline, tuple(still_open))


async def _proposal(
    session: AsyncSession, exchange: Exchange, programme: Programme, proposal_id: int
) -> Proposal | Skip:
    proposal = await session.get(DateProposal, proposal_id)
    if proposal is None or proposal.status != "pending":
        return Skip("proposal decided")
    proposer = await session.get(User, proposal.proposed_by) if proposal.proposed_by else None
    return Proposal(exchange, programme, proposal, proposer.display_name if proposer else "?")


async def _reporter_name(session: AsyncSession, incident: Incident) -> str:
    reporter = await session.get(User, incident.reported_by) if incident.reported_by else None
    return reporter.display_name if reporter else "?"


async def _incident(
    session: AsyncSession, exchange: Exchange, kind: str, stored: Mapping[str, Any]
) -> Alert | ReporterNotice | Skip:
    incident = await incidents.load(session, read_payload(IncidentPayload, stored)["incident"])
    if incident is None:
        return Skip("incident gone")
    if kind == INCIDENT_REPEAT and incident.status != "open":
        return Skip("acknowledged")
    if kind in REPORTER_NOTICES:
        action_id = read_payload(IncidentActionPayload, stored)["action"]
        action = next((a for a in incident.actions if a.id == action_id), None)
        if action is None:
            return Skip("action gone")
        return ReporterNotice(kind, incident, action)
    assert kind in ALERT_KINDS
    reporter = await _reporter_name(session, incident)
    return Alert(kind, exchange, incident, reporter, note_of(stored))


async def _checkin_missing(
    session: AsyncSession, exchange: Exchange, programme: Programme, payload: DayPayload
) -> CheckinMissing | Skip:
    day = _phase_on(exchange, payload)
    if day is None:
        return Skip("date changed")
    seen = await checkins.attendance(session, exchange, day.starts_on)
    # Those who said they cannot come are not missing; when nobody comes at all, that is
    # what the coordinators must hear.
    if not seen.missing and (seen.present or not seen.absent):
        return Skip("everyone checked in")
    return CheckinMissing(
        exchange,
        programme,
        day,
        tuple(u.display_name for u in seen.missing),
        absent=tuple(u.display_name for u in seen.absent),
    )


# "Ik kan niet" is offered for the days a begeleider comes to, from this week's digest on.
WEEK = timedelta(days=7)
ONE_DAY = timedelta(days=1)


async def _offers(
    session: AsyncSession,
    exchange: Exchange,
    programme: Programme,
    roles: Sequence[Membership],
    first: date,
    until: date,
    batch: _Batch | None = None,
) -> tuple[DayOffer, ...]:
    """The begeleider reader's days from `first` to before `until`, and whether they said
    they cannot come (none for anyone else)."""
    reader = next((m for m in roles if m.role == ROLE_BEGELEIDER), None)
    if reader is None or exchange.status != STATUS_ACTIVE:
        return ()
    if batch is not None:
        said = batch.absences.get((exchange.id, reader.user_id), set())
        absent = {p.phase_key for p in exchange.phases if (p.phase_key, p.starts_on) in said}
    else:
        absent = await absences.absent_days(session, exchange, reader.user_id)
    return tuple(
        DayOffer(p, p.phase_key in absent)
        for p in sorted(exchange.phases, key=lambda p: p.starts_on)
        if first <= p.starts_on < until
        and programme.phase(p.phase_key).kind == "day"
        and programme.phase(p.phase_key).needs_begeleider
        and planned_for(reader.days, p.phase_key)
    )


async def _absence_news(
    session: AsyncSession, exchange: Exchange, programme: Programme, payload: AbsencePayload
) -> AbsenceNews | Skip:
    day = _phase_on(exchange, DayPayload(phase=payload["phase"], date=payload["date"]))
    if day is None:
        return Skip("date changed")
    member = await session.get(User, payload["user"])
    if member is None:
        return Skip("user gone")
    absent = member.id in await absences.absent_users(session, exchange.id, day.starts_on)
    if absent != payload["absent"]:
        # Taken back (or said again) before this went out: the later message tells it.
        return Skip("no longer true")
    roles = await exchanges.memberships_of(session, member.id, exchange.id)
    role = next((m for m in roles if m.role == ROLE_BEGELEIDER), roles[0] if roles else None)
    seen = await checkins.attendance(session, exchange, day.starts_on)
    return AbsenceNews(
        exchange,
        programme,
        day,
        member.display_name,
        role.role if role is not None else ROLE_BEGELEIDER,
        role.side if role is not None else None,
        payload["absent"],
        tuple(u.display_name for u in (*seen.present, *seen.missing)),
    )


async def _undelivered(
    session: AsyncSession, exchange: Exchange, programme: Programme, payload: UndeliveredPayload
) -> Undelivered:
    """What did not arrive, to whom, and why; `about` is that message's own payload."""
    kind, about = payload["kind"], payload["about"]
    recipient = await session.get(User, payload["to"])
    known_phases = {p.key for p in programme.phases}
    phase_key: str | None = None
    day: date | None = None
    incident: int | None = None
    if kind == DATE_PROPOSAL:
        proposal = await session.get(DateProposal, read_payload(ProposalPayload, about)["proposal"])
        if proposal is not None:
            phase_key, day = proposal.phase_key, proposal.day
    elif kind in (DATE_AGREED, DATE_DECLINED):
        phase_key = read_payload(AgreedPayload, about)["phase"]
    elif kind in (DAY_SCHEDULE, CHECKIN_MISSING):
        planned = read_payload(DayPayload, about)
        phase_key, day = planned["phase"], date.fromisoformat(planned["date"])
    elif kind == ABSENCE_NEWS:
        absence = read_payload(AbsencePayload, about)
        phase_key, day = absence["phase"], date.fromisoformat(absence["date"])
    elif kind in INCIDENT_KINDS:
        incident = read_payload(IncidentPayload, about)["incident"]
    if kind != DATE_PROPOSAL and phase_key not in known_phases:
        phase_key = None
    return Undelivered(
        exchange,
        programme,
        kind,
        recipient.display_name if recipient is not None else "?",
        payload["reason"],
        phase_key=phase_key,
        day=day,
        incident=incident,
    )


async def _member_news(
    session: AsyncSession, exchange: Exchange, kind: str, payload: MemberPayload
) -> MemberNews | Skip:
    member = await session.get(User, payload["user"])
    if member is None:
        return Skip("user gone")
    if kind != MEMBER_JOINED and (member.blocked_at is not None) != (kind == USER_BLOCKED):
        return Skip("no longer true")
    return MemberNews(kind, exchange, member.display_name, payload["role"], payload["side"])


async def _member_added(
    session: AsyncSession,
    exchange: Exchange,
    programme: Programme,
    user_id: int,
    payload: MemberAddedPayload,
) -> MemberAdded | Skip:
    """The day the begeleider was planned for, while they still are (and it is not over)."""
    if exchange.status != STATUS_ACTIVE:
        return Skip("exchange archived")
    roles = await exchanges.memberships_of(session, user_id, exchange.id)
    mine = next((m for m in roles if m.role == ROLE_BEGELEIDER), None)
    if mine is None or not planned_for(mine.days, payload["phase"]):
        return Skip("no longer planned")
    day = next((p for p in exchange.phases if p.phase_key == payload["phase"]), None)
    if day is None:
        return Skip("phase gone")
    contacts = await exchanges.coordinators_of(session, exchange)
    return MemberAdded(exchange, programme, day, tuple(contacts))


async def _member_removed(
    session: AsyncSession, exchange: Exchange, user_id: int, payload: MemberRemovedPayload
) -> MemberRemoved | Skip:
    roles = await exchanges.memberships_of(session, user_id, exchange.id)
    if any(m.role == payload["role"] for m in roles):
        return Skip("member again")
    contacts = await exchanges.coordinators_of(session, exchange)
    return MemberRemoved(exchange, payload["role"], payload["side"], tuple(contacts))
