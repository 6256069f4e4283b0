"""Prep checklists: which items apply to whom, who holds a tick, and what is still to do.

Every item declares in its template whose tick it is (`ChecklistItem.scope`): the pair's (one
tick for both schools, held by "pair"), the class's (both teachers of one school, held by "A" or
"B") or each person's own (held by "user:<id>"). `holder_for` is the one place that says which.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeAlias

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.permissions import Action
from bot.domain.programme import ChecklistItem, Phase, Programme
from bot.domain.timeline import due_date
from bot.services import auth
from db.models import (
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    ChecklistTick,
    Exchange,
    ExchangePhase,
    Membership,
    User,
)

PAIR = "pair"
# A digest offers what is due from its day through the next seven, and at most this many.
DIGEST_DAYS = 7
DIGEST_MAX_ITEMS = 8
# A digest day's reminders are for items due that day or the next (Rules.nag_lead_days).
REMINDED_DAYS = 1
# Whoever ticked an item that is held by (holder, item key), by name; "?" when they are gone.
Ticks: TypeAlias = Mapping[tuple[str, str], str]
GONE = "?"


def holder_for(item: ChecklistItem, role: str, side: str | None, user_id: int) -> str:
    """Who holds the tick of `item` for a member with `role` and `side`."""
    if item.scope == "pair":
        return PAIR
    if item.scope == "class" and role == ROLE_TEACHER and side:
        return side
    return f"user:{user_id}"


@dataclass(frozen=True)
class Entry:
    """One checklist item as someone sees it: its deadline, and who ticked it."""

    phase: Phase
    item: ChecklistItem
    deadline: date
    ends_on: date  # the phase's last day: after it the item is no longer offered
    holder: str
    done_by: str | None = None  # the name of whoever ticked it; None while it is open

    @property
    def done(self) -> bool:
        return self.done_by is not None

    def overdue(self, today: date) -> bool:
        return not self.done and self.deadline < today


def entries(
    programme: Programme,
    phases: Iterable[ExchangePhase],
    role: str,
    side: str | None,
    ticks: Ticks,
    *,
    user_id: int = 0,
) -> list[Entry]:
    """Every checklist item for this role and side, with its deadline from the current dates."""
    out: list[Entry] = []
    for row in sorted(phases, key=lambda p: p.starts_on):
        try:
            phase = programme.phase(row.phase_key)
        except KeyError:
            continue
        for item in phase.checklist:
            if item.applies_to(role, side, row.host):
                holder = holder_for(item, role, side, user_id)
                out.append(
                    Entry(
                        phase,
                        item,
                        due_date(item, row.starts_on),
                        row.ends_on,
                        holder,
                        ticks.get((holder, item.key)),
                    )
                )
    return out


def entries_of(
    programme: Programme,
    phases: Iterable[ExchangePhase],
    memberships: Iterable[Membership],
    ticks: Ticks,
) -> list[Entry]:
    """The items of one person in every role they have in the exchange, each once."""
    phases = list(phases)
    seen: set[str] = set()
    out: list[Entry] = []
    for m in memberships:
        for entry in entries(programme, phases, m.role, m.side, ticks, user_id=m.user_id):
            if entry.item.key not in seen:
                seen.add(entry.item.key)
                out.append(entry)
    return sorted(out, key=lambda e: e.ends_on)  # stable: template order within a phase


def current(all_entries: Iterable[Entry], today: date) -> list[Entry]:
    """The items still offered: those of phases that are not over."""
    return [e for e in all_entries if e.ends_on >= today]


@dataclass(frozen=True)
class ToDo:
    """What a digest offers: open items due soon or overdue, and how many more are open."""

    items: list[Entry]
    more: int


def to_do(
    all_entries: Iterable[Entry],
    today: date,
    *,
    days: int = DIGEST_DAYS,
    limit: int = DIGEST_MAX_ITEMS,
) -> ToDo:
    """The open items due from `today` through `days` days on, and the overdue ones.

    At most `limit`. The ones due today or tomorrow come first: the reminders that would have
    gone out on the digest's day are folded into it (domain/outbox._nags), so it must show
    them. Then the overdue ones, then the rest by deadline. They are returned in order of
    deadline; `more` counts every other open item still offered.
    """
    still_open = [e for e in current(all_entries, today) if not e.done]
    horizon = today + timedelta(days=days)
    reminded = today + timedelta(days=REMINDED_DAYS)
    due = [(n, e) for n, e in enumerate(still_open) if e.deadline <= horizon]
    chosen = sorted(
        due, key=lambda ne: (not today <= ne[1].deadline <= reminded, ne[1].deadline, ne[0])
    )[:limit]
    shown = [e for _, e in sorted(chosen, key=lambda ne: (ne[1].deadline, ne[0]))]
    return ToDo(shown, len(still_open) - len(shown))


async def load_ticks(session: AsyncSession, exchange_id: int) -> dict[tuple[str, str], str]:
    """Every tick of the exchange, with the name of whoever set it."""
    rows = await session.execute(
        select(ChecklistTick.holder, ChecklistTick.item_key, User.display_name)
        .outerjoin(User, User.id == ChecklistTick.done_by)
        .where(ChecklistTick.exchange_id == exchange_id)
    )
    return {(holder, key): name or GONE for holder, key, name in rows}


async def entries_for(
    session: AsyncSession,
    exchange: Exchange,
    programme: Programme,
    memberships: Sequence[Membership],
) -> list[Entry]:
    """One person's items in the exchange (all roles), with the ticks as they are now."""
    ticks = await load_ticks(session, exchange.id)
    return entries_of(programme, exchange.phases, memberships, ticks)


async def toggle(
    session: AsyncSession,
    exchange_id: int,
    holder: str,
    item_key: str,
    *,
    user_id: int,
    now: datetime,
    want: bool | None = None,
) -> bool:
    """Tick or untick an item for its holder; returns whether it is ticked now.

    With `want`, the item ends up in that state (a press that asks for what is already
    so changes nothing); without, it flips.
    """
    existing = await session.scalar(
        select(ChecklistTick)
        .where(
            ChecklistTick.exchange_id == exchange_id,
            ChecklistTick.holder == holder,
            ChecklistTick.item_key == item_key,
        )
        .with_for_update()
    )
    if want is None:
        want = existing is None
    if existing is not None and want:
        return True
    if existing is not None:
        await session.execute(delete(ChecklistTick).where(ChecklistTick.id == existing.id))
        return False
    if not want:
        return False
    try:
        # Someone else who holds the same tick may tick it at the same moment.
        async with session.begin_nested():
            session.add(
                ChecklistTick(
                    exchange_id=exchange_id,
                    holder=holder,
                    item_key=item_key,
                    done_by=user_id,
                    done_at=now,
                )
            )
    except IntegrityError:
        pass
    return True


@dataclass(frozen=True)
class Progress:
    """How far one group is, for coordinators.

    `group` is "pair" (the items both schools tick once), "A" or "B" (a class's items) or
    "person" (one member's own items; `name` and `role` say whose).
    """

    group: str
    done: int
    total: int
    current: list[Entry]  # items of phases not over: open ones first, by deadline, then done
    name: str | None = None
    role: str | None = None
    side: str | None = None


def _progress(
    group: str,
    found: list[Entry],
    today: date,
    *,
    name: str | None = None,
    role: str | None = None,
    side: str | None = None,
) -> Progress:
    shown = current(found, today)
    shown = [e for e in shown if not e.done] + [e for e in shown if e.done]
    return Progress(group, sum(e.done for e in found), len(found), shown, name, role, side)


async def progress(
    session: AsyncSession, exchange: Exchange, programme: Programme, today: date
) -> list[Progress]:
    """Checklist progress for coordinators: the pair's items once, each class's, and each
    member's own items (the begeleiders')."""
    ticks = await load_ticks(session, exchange.id)
    phases = list(exchange.phases)
    out: list[Progress] = []
    pair = [
        e
        for role in (ROLE_TEACHER, ROLE_BEGELEIDER)
        for e in entries(programme, phases, role, None, ticks)
        if e.item.scope == "pair"
    ]
    if pair:
        out.append(_progress(PAIR, pair, today))
    for side in ("A", "B"):
        found = entries(programme, phases, ROLE_TEACHER, side, ticks)
        found = [e for e in found if e.item.scope == "class"]
        if found:
            out.append(_progress(side, found, today, side=side))
    members = sorted(
        exchange.memberships, key=lambda m: (m.role != ROLE_TEACHER, m.side or "", m.id)
    )
    for m in members:
        found = entries(programme, phases, m.role, m.side, ticks, user_id=m.user_id)
        found = [e for e in found if e.item.scope == "person"]
        if found:
            out.append(
                _progress(
                    "person", found, today, name=m.user.display_name, role=m.role, side=m.side
                )
            )
    return out


async def toggle_for(
    session: AsyncSession,
    user: User,
    exchange_id: int,
    item_key: str,
    programmes: Mapping[str, Programme],
    *,
    now: datetime,
    want: bool | None = None,
) -> tuple[bool, set[str]] | None:
    """Tick or untick an item for whoever holds it (the pair, the class or the user).

    Returns the new state and every item ticked for the user (to redraw buttons), or None when
    the item is not one of the user's. Raises NotAllowed for a foreign exchange (auth.Archived
    for an archived one: it takes the exchange's lock, so ticks of one exchange happen one
    after another).
    """
    exchange = await auth.require_exchange(session, user, Action.TICK_CHECKLIST, exchange_id)
    programme = programmes[exchange.programme_key]
    try:
        _, item = programme.checklist_item(item_key)
    except KeyError:
        return None
    memberships = list(
        await session.scalars(
            select(Membership).where(
                Membership.user_id == user.id, Membership.exchange_id == exchange_id
            )
        )
    )
    member = next((m for m in memberships if m.role == item.role), None)
    if member is None:
        return None
    done = await toggle(
        session,
        exchange_id,
        holder_for(item, member.role, member.side, user.id),
        item_key,
        user_id=user.id,
        now=now,
        want=want,
    )
    ticks = await load_ticks(session, exchange_id)
    mine = {
        each.key
        for phase in programme.phases
        for each in phase.checklist
        for m in memberships
        if m.role == each.role and (holder_for(each, m.role, m.side, user.id), each.key) in ticks
    }
    return done, mine
