"""The one place that decides whether a user may act on an exchange."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.permissions import Action, is_allowed
from db.models import STATUS_ARCHIVED, Exchange, Membership, User


class NotAllowed(Exception):
    """The user may not do this; the handler answers with `auth.not_allowed`."""

    def __init__(self, action: Action, exchange_id: int | None = None) -> None:
        super().__init__(f"{action} on {exchange_id}")
        self.action = action
        self.exchange_id = exchange_id


async def exchange_roles(session: AsyncSession, user_id: int, exchange_id: int) -> set[str]:
    rows = await session.scalars(
        select(Membership.role).where(
            Membership.user_id == user_id, Membership.exchange_id == exchange_id
        )
    )
    return set(rows)


async def require(session: AsyncSession, user: User, action: Action) -> None:
    """Raise NotAllowed unless the user may perform a global action."""
    if not is_allowed(action, is_coordinator=user.is_coordinator, roles_in_exchange=()):
        raise NotAllowed(action)


async def require_exchange(
    session: AsyncSession, user: User, action: Action, exchange_id: int
) -> Exchange:
    """The exchange, if the user may perform `action` on it; else NotAllowed.

    An exchange that does not exist is refused in the same way as one that belongs to
    somebody else, so forged ids reveal nothing.
    """
    exchange = await session.get(Exchange, exchange_id)
    if exchange is None or (exchange.status == STATUS_ARCHIVED and not user.is_coordinator):
        raise NotAllowed(action, exchange_id)
    roles = await exchange_roles(session, user.id, exchange_id)
    if not is_allowed(action, is_coordinator=user.is_coordinator, roles_in_exchange=roles):
        raise NotAllowed(action, exchange_id)
    return exchange
