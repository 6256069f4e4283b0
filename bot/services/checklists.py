"""Prep checklists: which items apply to whom, and ticks shared per school side."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

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


def side_key(role: str, side: str | None, user_id: int) -> str:
    """Who holds a tick: both teachers of one class share theirs; a begeleider's is their own."""
    return side if role == ROLE_TEACHER and side else f"user:{user_id}"


@dataclass(frozen=True)
class Entry:
    phase: Phase
    item: ChecklistItem
    deadline: date
    done: bool


def entries(
    programme: Programme,
    phases: list[ExchangePhase],
    role: str,
    side: str | None,
    ticked: set[str],
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
                deadline = due_date(item, row.starts_on)
                out.append(Entry(phase, item, deadline, item.key in ticked))
    return out


def current_entries(
    all_entries: list[Entry], phases: list[ExchangePhase], today: date
) -> list[Entry]:
    """What to show now: items of phases not yet over, up to the next two phases."""
    upcoming = [
        p.phase_key for p in sorted(phases, key=lambda p: p.starts_on) if p.ends_on >= today
    ]
    keep = set(upcoming[:2])
    return [e for e in all_entries if e.phase.key in keep or (not e.done and e.deadline >= today)]


async def ticked(session: AsyncSession, exchange_id: int, side: str) -> set[str]:
    rows = await session.scalars(
        select(ChecklistTick.item_key).where(
            ChecklistTick.exchange_id == exchange_id, ChecklistTick.holder == side
        )
    )
    return set(rows)


async def toggle(
    session: AsyncSession,
    exchange_id: int,
    side: str,
    item_key: str,
    *,
    user_id: int,
    now: datetime,
    want: bool | None = None,
) -> bool:
    """Tick or untick an item for the whole side; returns whether it is ticked now.

    With `want`, the item ends up in that state (a press that asks for what is already
    so changes nothing); without, it flips.
    """
    existing = await session.scalar(
        select(ChecklistTick)
        .where(
            ChecklistTick.exchange_id == exchange_id,
            ChecklistTick.holder == side,
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
        # The other teacher of the class may tick the same item at the same moment.
        async with session.begin_nested():
            session.add(
                ChecklistTick(
                    exchange_id=exchange_id,
                    holder=side,
                    item_key=item_key,
                    done_by=user_id,
                    done_at=now,
                )
            )
    except IntegrityError:
        pass
    return True


@dataclass(frozen=True)
class SideProgress:
    side: str
    done: int
    total: int
    open_items: list[Entry]


async def progress(
    session: AsyncSession, exchange: Exchange, programme: Programme
) -> list[SideProgress]:
    """Checklist progress per side (A, B, begeleiders) for coordinators."""
    out = []
    for side in ("A", "B"):
        done = await ticked(session, exchange.id, side)
        found = entries(programme, list(exchange.phases), ROLE_TEACHER, side, done)
        out.append(
            SideProgress(
                side, sum(e.done for e in found), len(found), [e for e in found if not e.done]
            )
        )
    # A begeleiders' item is done when every begeleider of the exchange has ticked it.
    helpers = [m.user_id for m in exchange.memberships if m.role == ROLE_BEGELEIDER]
    by_each = [await ticked(session, exchange.id, f"user:{uid}") for uid in helpers]
    done_by_all = set.intersection(*by_each) if by_each else set()
    found = entries(programme, list(exchange.phases), ROLE_BEGELEIDER, None, done_by_all)
    out.append(
        SideProgress(
            "begeleider", sum(e.done for e in found), len(found), [e for e in found if not e.done]
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
    """Toggle an item for the side the user ticks it for.

    Returns the new state and every item ticked for the user's sides (to redraw buttons), or
    None when the item is not one of the user's. Raises NotAllowed for a foreign exchange
    (auth.Archived for an archived one: it takes the exchange's lock, so ticks of one exchange
    happen one after another).
    """
    exchange = await auth.require_exchange(session, user, Action.TICK_CHECKLIST, exchange_id)
    try:
        _, item = programmes[exchange.programme_key].checklist_item(item_key)
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
        side_key(member.role, member.side, user.id),
        item_key,
        user_id=user.id,
        now=now,
        want=want,
    )
    all_ticked: set[str] = set()
    for m in memberships:
        all_ticked |= await ticked(session, exchange_id, side_key(m.role, m.side, user.id))
    return done, all_ticked
