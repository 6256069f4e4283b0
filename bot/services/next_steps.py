"""Where someone stands in each of their exchanges: what comes next, what is open on their
checklist, which dates are still to agree. Read only: the answer to free text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.agreement import open_days
from bot.domain.programme import Programme
from bot.services import checklists, exchanges
from db.models import ROLE_BEGELEIDER, ROLE_TEACHER, Exchange, User


@dataclass(frozen=True)
class Standing:
    """One member's place in one exchange."""

    exchange: Exchange
    programme: Programme
    role: str  # "teacher" when they teach in it, else "begeleider"
    open_items: int  # checklist items to do now (as /checklist shows them), not ticked
    open_dates: tuple[str, ...]  # for a teacher: day phases whose date is still to agree


async def standings(
    session: AsyncSession, user: User, programmes: Mapping[str, Programme], today: date
) -> list[Standing]:
    """The user's standing in every active exchange they are a member of, soonest first."""
    found = []
    for exchange in await exchanges.member_exchanges(session, user):
        programme = programmes.get(exchange.programme_key)
        if programme is None:
            continue
        mine = [m for m in exchange.memberships if m.user_id == user.id]
        current = checklists.current(
            await checklists.entries_for(session, exchange, programme, mine), today
        )
        open_items = sum(1 for entry in current if not entry.done)
        teaches = any(m.role == ROLE_TEACHER for m in mine)
        found.append(
            Standing(
                exchange,
                programme,
                ROLE_TEACHER if teaches else ROLE_BEGELEIDER,
                open_items,
                tuple(open_days(programme, exchange.phases, today)) if teaches else (),
            )
        )
    return found


def without_dates(
    coordinated: Sequence[Exchange], programmes: Mapping[str, Programme], today: date
) -> list[Exchange]:
    """The exchanges among `coordinated` with a day whose date is still to agree."""
    return [
        e
        for e in coordinated
        if e.programme_key in programmes and open_days(programmes[e.programme_key], e.phases, today)
    ]
