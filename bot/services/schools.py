"""A school's address, and the phone numbers people share for the exchange days."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.permissions import Action
from bot.services import auth
from db.models import ExchangeSide, School, User

MAX_ADDRESS = 300


async def set_address(
    session: AsyncSession, user: User, exchange_id: int, side: str, address: str | None
) -> School:
    """Set (or, with None, clear) the address of the school on `side` of the exchange: a
    coordinator, or a teacher of that class. auth.NotAllowed (or Archived) otherwise.

    The caller has checked the text (bot.domain.exchange_input); the school is shared by
    every exchange it takes part in, so each of them shows the new address.
    """
    await auth.require_side(session, user, Action.EDIT_SCHOOL, exchange_id, side)
    row = await session.scalar(
        select(ExchangeSide).where(
            ExchangeSide.exchange_id == exchange_id, ExchangeSide.side == side
        )
    )
    if row is None:
        raise auth.NotAllowed(Action.EDIT_SCHOOL, exchange_id)
    school = await session.get(School, row.school_id, with_for_update=True)
    if school is None:
        raise auth.NotAllowed(Action.EDIT_SCHOOL, exchange_id)
    school.address = address
    return school
