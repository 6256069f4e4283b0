"""The one place that decides whether a user may act on an exchange.

Every change to an exchange goes through `require_exchange` (or `may`, its yes/no form): the role
table in bot/domain/permissions.py, membership, and the exchange's state. An archived exchange is
read-only for everyone; coordinators may still look at it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.permissions import Action, changes_something, is_allowed
from db.models import ROLE_TEACHER, STATUS_ARCHIVED, Exchange, Membership, User


class NotAllowed(Exception):
    """The user may not do this; the handler answers with `key` (`auth.not_allowed`)."""

    key = "auth.not_allowed"

    def __init__(self, action: Action, exchange_id: int | None = None) -> None:
        super().__init__(f"{action} on {exchange_id}")
        self.action = action
        self.exchange_id = exchange_id


class Archived(NotAllowed):
    """The exchange is archived: nothing about it may change any more."""

    key = "auth.archived"


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
    session: AsyncSession, user: User, action: Action, exchange_id: int, *, lock: bool = True
) -> Exchange:
    """The exchange, if the user may perform `action` on it; else NotAllowed (or Archived).

    An exchange that does not exist is refused in the same way as one that belongs to
    somebody else, so forged ids reveal nothing. A change to an archived exchange is refused
    for everyone, with its own message once the user may otherwise act on it.
    """
    writes = changes_something(action)
    lock = lock and writes
    # A change locks the exchange's row (FOR NO KEY UPDATE on PostgreSQL; SQLite writes one at a
    # time anyway) before anything else of the exchange: changes to one exchange then happen one
    # after another, always taking their locks in the same order, and none can slip in
    # between this check and an archiving. Foreign-key checks of rows pointing at the exchange
    # do not wait for this kind of lock.
    exchange = await session.get(
        Exchange, exchange_id, with_for_update={"key_share": True} if lock else None
    )
    if exchange is None:
        raise NotAllowed(action, exchange_id)
    if user.is_coordinator and is_allowed(action, is_coordinator=True, roles_in_exchange=()):
        # A coordinator may do this in any exchange whatever their role in it, so it is not
        # looked up: a coordinator's lists check every pair, and a query each would add up.
        roles: set[str] = set()
    else:
        roles = await exchange_roles(session, user.id, exchange_id)
    archived = exchange.status == STATUS_ARCHIVED
    if archived and not user.is_coordinator and not roles:
        raise NotAllowed(action, exchange_id)
    if archived and writes:
        raise Archived(action, exchange_id)
    if archived and not user.is_coordinator:
        # Members lose sight of an archived exchange; coordinators keep it for the record.
        raise NotAllowed(action, exchange_id)
    if not is_allowed(action, is_coordinator=user.is_coordinator, roles_in_exchange=roles):
        raise NotAllowed(action, exchange_id)
    return exchange


async def teaching_side(session: AsyncSession, user_id: int, exchange_id: int) -> str | None:
    """The class ("A" or "B") the user teaches in the exchange, if they are one of its teachers."""
    found: str | None = await session.scalar(
        select(Membership.side)
        .where(
            Membership.user_id == user_id,
            Membership.exchange_id == exchange_id,
            Membership.role == ROLE_TEACHER,
        )
        .limit(1)
    )
    return found


async def require_side(
    session: AsyncSession,
    user: User,
    action: Action,
    exchange_id: int,
    side: str,
    *,
    own: bool = True,
) -> Exchange:
    """`require_exchange`, and for anyone but a coordinator: the user teaches class `side`
    (`own`), or the other class (not `own`: a class does not answer its own proposal)."""
    exchange = await require_exchange(session, user, action, exchange_id)
    if user.is_coordinator:
        return exchange
    teaches = await teaching_side(session, user.id, exchange_id)
    if teaches is None or (teaches == side) != own:
        raise NotAllowed(action, exchange_id)
    return exchange


async def may(session: AsyncSession, user: User, action: Action, exchange_id: int) -> bool:
    """Whether `require_exchange` would let the user perform `action` (for yes/no checks).

    It takes no lock: it also filters lists (today's exchange days of a coordinator).
    """
    try:
        await require_exchange(session, user, action, exchange_id, lock=False)
    except NotAllowed:
        return False
    return True


def may_everywhere(user: User, action: Action) -> bool:
    """Whether the user may perform `action` on any exchange whatever their part in it (a
    coordinator's field work, say): lists then need no membership filter."""
    return is_allowed(action, is_coordinator=user.is_coordinator, roles_in_exchange=())


def roles_that_may(action: Action, roles: tuple[str, ...]) -> list[str]:
    """Which of these roles in an exchange allow `action` there, for a query that filters
    exchanges by the user's memberships as `may` would."""
    return [r for r in roles if is_allowed(action, is_coordinator=False, roles_in_exchange=(r,))]
