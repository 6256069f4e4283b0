"""Managing a pair (/beheer): its begeleiders per day, taking members out, its open invite
links, and its log.

Every change re-plans the exchange's outbox and is written to the audit log in the same unit
of work; the people concerned hear of it through the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.outbox import (
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MemberAddedPayload,
    MemberRemovedPayload,
    Rules,
    end_of_day_utc,
    planned_for,
)
from bot.domain.permissions import Action, Role
from bot.domain.programme import Phase, Programme
from bot.services import audit, auth, exchanges, invites, outbox
from bot.services.users import roles_of
from db.models import (
    OUTBOX_CANCELLED,
    OUTBOX_PENDING,
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    AuditEntry,
    Exchange,
    ExchangePhase,
    Invite,
    Membership,
    OutboxMessage,
    User,
)
from db.session import rowcount

# Whoever was taken out of a pair hears of it within a week, or not at all.
NOTICE_VALIDITY = timedelta(days=7)
# Entries of the log per page.
LOG_PAGE = 15


# -- reading a pair --------------------------------------------------------------------------


async def manageable(session: AsyncSession, user: User) -> list[Exchange]:
    """The pairs a coordinator may manage (auth.NotAllowed for anyone else)."""
    await auth.require(session, user, Action.VIEW_ALL_EXCHANGES)
    return list(await exchanges.visible_exchanges(session, user))


async def manageable_labels(session: AsyncSession, user: User) -> list[tuple[int, str]]:
    """`manageable`, as the id and label of each pair (exchanges.visible_labels): what a
    chooser needs, in one light query however many pairs there are."""
    await auth.require(session, user, Action.VIEW_ALL_EXCHANGES)
    return await exchanges.visible_labels(session, user)


async def pair(
    session: AsyncSession, user: User, exchange_id: int, action: Action = Action.MANAGE_MEMBERS
) -> Exchange:
    """The pair with everything loaded, if the user may do `action` on it (else NotAllowed)."""
    await auth.require_exchange(session, user, action, exchange_id, lock=False)
    exchange = await exchanges.load_exchange(session, exchange_id)
    assert exchange is not None
    return exchange


def begeleider_days(exchange: Exchange, programme: Programme) -> list[tuple[Phase, ExchangePhase]]:
    """The days begeleiders come to (day phases that need them), in date order."""
    found = []
    for row in sorted(exchange.phases, key=lambda p: (p.starts_on, p.id)):
        try:
            phase = programme.phase(row.phase_key)
        except KeyError:
            continue
        if phase.kind == "day" and phase.needs_begeleider:
            found.append((phase, row))
    return found


@dataclass(frozen=True)
class DayMember:
    """A begeleider of the pair, and whether they are planned for the day."""

    membership_id: int
    user: User
    planned: bool

    @property
    def name(self) -> str:
        return self.user.display_name


@dataclass(frozen=True)
class DayPlan:
    programme: Programme
    phase: Phase
    row: ExchangePhase
    begeleiders: tuple[DayMember, ...]

    @property
    def planned(self) -> tuple[User, ...]:
        return tuple(m.user for m in self.begeleiders if m.planned)


def day_plans(exchange: Exchange, programme: Programme) -> list[DayPlan]:
    """Who of the pair's begeleiders is planned for each of its days."""
    begeleiders = sorted(
        (m for m in exchange.memberships if m.role == ROLE_BEGELEIDER),
        key=lambda m: (m.user.display_name.lower(), m.id),
    )
    return [
        DayPlan(
            programme,
            phase,
            row,
            tuple(DayMember(m.id, m.user, planned_for(m.days, phase.key)) for m in begeleiders),
        )
        for phase, row in begeleider_days(exchange, programme)
    ]


def day_plan(exchange: Exchange, programme: Programme, phase_key: str) -> DayPlan | None:
    return next((p for p in day_plans(exchange, programme) if p.phase.key == phase_key), None)


# -- begeleiders per day ---------------------------------------------------------------------


@dataclass(frozen=True)
class MenuFacts:
    """What a person's command menu is made from, to refresh it after their roles changed."""

    user_id: int
    language: str
    roles: frozenset[Role]


async def _menu_facts(session: AsyncSession, person: User) -> MenuFacts:
    return MenuFacts(person.id, person.language, frozenset(await roles_of(session, person)))


def _days_to_store(keys: Sequence[str], planned: set[str]) -> list[str] | None:
    """Membership.days for these planned days: None when that is every day."""
    if set(keys) <= planned:
        return None
    return [key for key in keys if key in planned]


async def _locked_pair(
    session: AsyncSession, user: User, exchange_id: int, programmes: Mapping[str, Programme]
) -> tuple[Exchange, Programme]:
    await auth.require_exchange(session, user, Action.MANAGE_MEMBERS, exchange_id)
    exchange = await exchanges.load_exchange(session, exchange_id)
    assert exchange is not None
    return exchange, programmes[exchange.programme_key]


def _day_keys(
    exchange: Exchange, programme: Programme, phase_key: str, exchange_id: int
) -> list[str]:
    keys = [phase.key for phase, _ in begeleider_days(exchange, programme)]
    if phase_key not in keys:
        raise auth.NotAllowed(Action.MANAGE_MEMBERS, exchange_id)
    return keys


async def _set_days(
    session: AsyncSession,
    user: User,
    exchange: Exchange,
    membership: Membership,
    days: list[str] | None,
    *,
    programmes: Mapping[str, Programme],
    rules: Rules,
    now: datetime,
) -> None:
    membership.days = days
    audit.record(
        session,
        exchange_id=exchange.id,
        user_id=user.id,
        action=audit.BEGELEIDER_DAYS,
        now=now,
        details={"name": membership.user.display_name, "days": days},
    )
    await session.flush()
    await outbox.replan_exchange(session, exchange.id, programmes, rules, now=now)


@dataclass(frozen=True)
class Planned:
    """The outcome of planning a begeleider in or out of a day."""

    exchange_id: int
    phase_key: str
    changed: bool  # False: it already was so (a second tap)


async def set_planned(
    session: AsyncSession,
    user: User,
    membership_id: int,
    phase_key: str,
    on: bool,
    *,
    programmes: Mapping[str, Programme],
    rules: Rules,
    now: datetime,
) -> Planned:
    """Plan a begeleider of the pair in (`on`) or out of one of its days.

    Turning one day off stores the remaining days; with every day on again it is "every day"
    (None). The day schedules and the check-in checks follow at once (re-planned).
    auth.NotAllowed unless the user may manage the pair and the membership is a begeleider's.
    """
    found = await session.get(Membership, membership_id)
    if found is None or found.role != ROLE_BEGELEIDER:
        raise auth.NotAllowed(Action.MANAGE_MEMBERS)
    exchange, programme = await _locked_pair(session, user, found.exchange_id, programmes)
    membership = next((m for m in exchange.memberships if m.id == membership_id), None)
    if membership is None:
        # Taken out meanwhile.
        raise auth.NotAllowed(Action.MANAGE_MEMBERS, exchange.id)
    keys = _day_keys(exchange, programme, phase_key, exchange.id)
    planned = {key for key in keys if planned_for(membership.days, key)}
    wanted = planned | {phase_key} if on else planned - {phase_key}
    if wanted == planned:
        return Planned(exchange.id, phase_key, changed=False)
    await _set_days(
        session,
        user,
        exchange,
        membership,
        _days_to_store(keys, wanted),
        programmes=programmes,
        rules=rules,
        now=now,
    )
    return Planned(exchange.id, phase_key, changed=True)


@dataclass(frozen=True)
class KnownBegeleider:
    """A begeleider of another pair the coordinator runs: someone to ask for a day."""

    user_id: int
    name: str
    pairs: int  # in how many of the coordinator's other pairs


async def known_begeleiders(
    session: AsyncSession, user: User, exchange_id: int, *, only: int | None = None
) -> list[KnownBegeleider]:
    """Begeleiders of the coordinator's other pairs who are not in this pair yet, by name (one
    query, however many pairs)."""
    members_here = select(Membership.user_id).where(Membership.exchange_id == exchange_id)
    query = (
        select(User.id, User.display_name, func.count(distinct(Membership.exchange_id)))
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.role == ROLE_BEGELEIDER,
            Membership.exchange_id != exchange_id,
            Membership.exchange_id.in_(exchanges.run_by(user)),
            User.is_group.is_(False),
            User.id != user.id,
            User.id.not_in(members_here),
        )
        .group_by(User.id, User.display_name)
        .order_by(func.lower(User.display_name), User.id)
    )
    if only is not None:
        query = query.where(User.id == only)
    rows = await session.execute(query)
    return [KnownBegeleider(user_id, name, count) for user_id, name, count in rows]


class AddOutcome(StrEnum):
    ADDED = "added"  # a new begeleider of the pair, planned for that day
    ALREADY = "already"  # already in the pair and planned for that day (a second tap)


@dataclass(frozen=True)
class Added:
    outcome: AddOutcome
    name: str
    exchange_id: int
    phase_key: str
    menu: MenuFacts | None = None  # the new begeleider's menu, to refresh


async def add_begeleider(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    phase_key: str,
    person_id: int,
    *,
    programmes: Mapping[str, Programme],
    rules: Rules,
    now: datetime,
) -> Added:
    """Plan a begeleider the coordinator knows from another pair for one day of this pair.

    They become a begeleider of the pair for that day only and hear of it through the
    outbox. auth.NotAllowed when the user may not manage the pair, the day is not one
    begeleiders come to, or the person is not one of the coordinator's begeleiders.
    """
    exchange, programme = await _locked_pair(session, user, exchange_id, programmes)
    keys = _day_keys(exchange, programme, phase_key, exchange_id)
    existing = next(
        (m for m in exchange.memberships if m.user_id == person_id and m.role == ROLE_BEGELEIDER),
        None,
    )
    if existing is not None:
        # A second tap: the first one added them already.
        if planned_for(existing.days, phase_key):
            return Added(AddOutcome.ALREADY, existing.user.display_name, exchange_id, phase_key)
        raise auth.NotAllowed(Action.MANAGE_MEMBERS, exchange_id)
    if not await known_begeleiders(session, user, exchange_id, only=person_id):
        raise auth.NotAllowed(Action.MANAGE_MEMBERS, exchange_id)
    person = await session.get(User, person_id)
    assert person is not None
    days = _days_to_store(keys, {phase_key})
    membership = Membership(
        user_id=person.id,
        exchange_id=exchange_id,
        role=ROLE_BEGELEIDER,
        side=None,
        joined_at=now,
        days=days,
    )
    session.add(membership)
    await session.flush()
    details = {"name": person.display_name, "role": ROLE_BEGELEIDER, "side": None}
    audit.record(
        session,
        exchange_id=exchange_id,
        user_id=user.id,
        action=audit.MEMBER_JOINED,
        now=now,
        details=details,
    )
    audit.record(
        session,
        exchange_id=exchange_id,
        user_id=user.id,
        action=audit.BEGELEIDER_DAYS,
        now=now,
        details={"name": person.display_name, "days": days},
    )
    await outbox.replan_exchange(session, exchange_id, programmes, rules, now=now)
    row = next(r for _, r in begeleider_days(exchange, programme) if r.phase_key == phase_key)
    until = end_of_day_utc(row.starts_on, rules.tz)
    if until > now:
        await outbox.enqueue(
            session,
            user_id=person.id,
            exchange_id=exchange_id,
            kind=MEMBER_ADDED,
            dedupe_key=f"added:{exchange_id}:{phase_key}:{membership.id}",
            payload=MemberAddedPayload(phase=phase_key),
            now=now,
            not_after=until,
        )
    return Added(
        AddOutcome.ADDED,
        person.display_name,
        exchange_id,
        phase_key,
        await _menu_facts(session, person),
    )


# -- members ---------------------------------------------------------------------------------

_ROLE_ORDER = {ROLE_TEACHER: 0, ROLE_BEGELEIDER: 1}


@dataclass(frozen=True)
class ManagedMember:
    membership_id: int
    user_id: int
    name: str
    role: str
    side: str | None
    is_viewer: bool  # the coordinator themselves: not theirs to take out here


def members_of(exchange: Exchange, viewer: User) -> list[ManagedMember]:
    """The pair's teachers (school A, then B) and begeleiders."""
    rows = sorted(
        exchange.memberships,
        key=lambda m: (_ROLE_ORDER.get(m.role, 2), m.side or "", m.user.display_name.lower()),
    )
    return [
        ManagedMember(m.id, m.user_id, m.user.display_name, m.role, m.side, m.user_id == viewer.id)
        for m in rows
    ]


async def member(
    session: AsyncSession, user: User, membership_id: int
) -> tuple[Exchange, ManagedMember] | None:
    """One member of a pair the user may manage, to confirm taking them out; None when the
    membership is gone (auth.NotAllowed when it is not the user's to manage)."""
    found = await session.get(Membership, membership_id)
    if found is None:
        await auth.require(session, user, Action.VIEW_ALL_EXCHANGES)
        return None
    exchange = await pair(session, user, found.exchange_id)
    listed = next((m for m in members_of(exchange, user) if m.membership_id == membership_id), None)
    return (exchange, listed) if listed is not None else None


class RemoveOutcome(StrEnum):
    REMOVED = "removed"
    GONE = "gone"  # taken out before (a second tap, or another coordinator)
    SELF = "self"  # a coordinator does not take themselves out here


@dataclass(frozen=True)
class Removal:
    outcome: RemoveOutcome
    exchange_id: int | None = None
    name: str = ""
    role: str = ""
    side: str | None = None
    menu: MenuFacts | None = None  # the former member's menu, to refresh
    cancelled: int = 0  # their pending messages about the pair that will not go out
    side_empty: bool = False  # the last teacher of their class: it has none now


async def remove_member(
    session: AsyncSession,
    user: User,
    membership_id: int,
    *,
    programmes: Mapping[str, Programme],
    rules: Rules,
    now: datetime,
) -> Removal:
    """Take a teacher or begeleider out of a pair.

    Their messages about it stop (the plan no longer has them; what was queued for them is
    cancelled once they have no role left in the pair), they hear once that they are no
    longer part of it, and the log says who did it. The last teacher of a side may go: the
    overview then flags the pair. auth.NotAllowed when the user may not manage the pair.
    """
    found = await session.get(Membership, membership_id)
    if found is None:
        await auth.require(session, user, Action.VIEW_ALL_EXCHANGES)
        return Removal(RemoveOutcome.GONE)
    exchange_id = found.exchange_id
    await auth.require_exchange(session, user, Action.MANAGE_MEMBERS, exchange_id)
    # Read again now the pair is locked: another coordinator may have just taken them out.
    membership = await session.scalar(
        select(Membership)
        .where(Membership.id == membership_id)
        .execution_options(populate_existing=True)
    )
    if membership is None:
        return Removal(RemoveOutcome.GONE, exchange_id)
    if membership.user_id == user.id:
        return Removal(RemoveOutcome.SELF, exchange_id)
    person = await session.get(User, membership.user_id)
    assert person is not None
    role, side = membership.role, membership.side
    await session.delete(membership)
    await session.flush()
    audit.record(
        session,
        exchange_id=exchange_id,
        user_id=user.id,
        action=audit.MEMBER_REMOVED,
        now=now,
        details={"name": person.display_name, "role": role, "side": side},
    )
    replanned = await outbox.replan_exchange(session, exchange_id, programmes, rules, now=now)
    cancelled = replanned.cancelled
    if not await exchanges.memberships_of(session, person.id, exchange_id):
        # Messages between people queued for them (a date proposal) are not theirs any more.
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.user_id == person.id,
                OutboxMessage.exchange_id == exchange_id,
                OutboxMessage.status == OUTBOX_PENDING,
            )
            .values(status=OUTBOX_CANCELLED, updated_at=now)
        )
        cancelled += rowcount(result)
    await outbox.enqueue(
        session,
        user_id=person.id,
        exchange_id=exchange_id,
        kind=MEMBER_REMOVED,
        dedupe_key=f"removed:{exchange_id}:{membership_id}",
        payload=MemberRemovedPayload(role=role, side=side),
        now=now,
        not_after=now + NOTICE_VALIDITY,
    )
    teachers_left = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.exchange_id == exchange_id,
            Membership.role == ROLE_TEACHER,
            Membership.side == side,
        )
    )
    return Removal(
        RemoveOutcome.REMOVED,
        exchange_id,
        person.display_name,
        role,
        side,
        await _menu_facts(session, person),
        cancelled,
        side_empty=role == ROLE_TEACHER and not teachers_left,
    )


# -- invite links ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenInvite:
    id: int
    role: str
    side: str | None
    uses: int
    max_uses: int
    last_day: date  # the last day it works, local time


def _still_open(exchange_id: int, now: datetime) -> ColumnElement[bool]:
    return and_(
        Invite.exchange_id == exchange_id,
        Invite.revoked_at.is_(None),
        Invite.expires_at > now,
        Invite.uses < Invite.max_uses,
    )


async def open_invites(
    session: AsyncSession, user: User, exchange_id: int, *, now: datetime, tz: tzinfo
) -> list[OpenInvite]:
    """The pair's links that still work, newest first."""
    await auth.require_exchange(session, user, Action.INVITE, exchange_id, lock=False)
    rows = await session.scalars(
        select(Invite).where(_still_open(exchange_id, now)).order_by(Invite.id.desc())
    )
    return [
        OpenInvite(
            i.id,
            i.role,
            i.side,
            i.uses,
            i.max_uses,
            (i.expires_at - timedelta(seconds=1)).astimezone(tz).date(),
        )
        for i in rows
    ]


async def revoke_open_invites(
    session: AsyncSession, user: User, exchange_id: int, *, now: datetime
) -> int:
    """Revoke every link of the pair that still works; how many that were (0 a second time)."""
    await auth.require_exchange(session, user, Action.INVITE, exchange_id)
    ids = list(await session.scalars(select(Invite.id).where(_still_open(exchange_id, now))))
    if not ids:
        return 0
    return await invites.revoke_invites(session, exchange_id, ids, now=now, by=user.id)


# -- the log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who made a change, and as what: a coordinator, or their role in the pair."""

    name: str
    is_coordinator: bool
    role: str | None = None
    side: str | None = None


@dataclass(frozen=True)
class LogPage:
    exchange: Exchange
    entries: tuple[AuditEntry, ...]  # newest first
    actors: Mapping[int, Actor]  # by user id
    older: int | None  # the entry to read on from ("Oudere…"), None when this is the last page


async def log(
    session: AsyncSession, user: User, exchange_id: int, *, before_id: int | None = None
) -> LogPage:
    """A page of the pair's log, newest first (older ones with `before_id`); coordinators only
    (auth.NotAllowed otherwise). A constant number of queries per page."""
    exchange = await pair(session, user, exchange_id, Action.VIEW_AUDIT)
    rows = list(await audit.entries(session, exchange_id, limit=LOG_PAGE + 1, before_id=before_id))
    page, more = rows[:LOG_PAGE], len(rows) > LOG_PAGE
    ids = {e.user_id for e in page if e.user_id is not None}
    actors: dict[int, Actor] = {}
    if ids:
        people = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids)))}
        roles: dict[int, Membership] = {}
        for m in exchange.memberships:
            if m.user_id in ids and (m.user_id not in roles or m.role == ROLE_TEACHER):
                roles[m.user_id] = m
        for user_id, person in people.items():
            held = roles.get(user_id)
            actors[user_id] = Actor(
                person.display_name,
                person.is_coordinator,
                held.role if held is not None else None,
                held.side if held is not None else None,
            )
    return LogPage(exchange, tuple(page), actors, page[-1].id if more and page else None)
