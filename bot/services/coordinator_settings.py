"""/instellingen: a coordinator's own choices about what reaches them and when.

For now one choice: routine notices (someone joined, a date was agreed) come one by one, as
they happen (the default), or are gathered into the Monday summary (bot/services/summary.py).
Incidents and alarms always come at once, whatever is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.permissions import Action
from bot.services import auth
from db.models import User


@dataclass(frozen=True)
class CoordinatorSettings:
    gather_notices: bool


async def settings_of(session: AsyncSession, user: User) -> CoordinatorSettings:
    """The coordinator's settings; auth.NotAllowed for anyone else."""
    await auth.require(session, user, Action.COORDINATOR_SETTINGS)
    return CoordinatorSettings(gather_notices=bool(user.gather_notices))


async def set_gather_notices(
    session: AsyncSession, user: User, gather: bool
) -> CoordinatorSettings:
    """Gather routine notices into the Monday summary (True) or send them at once (False).

    Setting what is already set changes nothing (a second tap on the same button). Notices
    already gathered stay in the next summary; those still waiting to go out follow the new
    choice.
    """
    await auth.require(session, user, Action.COORDINATOR_SETTINGS)
    if user.gather_notices != gather:
        user.gather_notices = gather
        await session.flush()
    return CoordinatorSettings(gather_notices=gather)
