"""Users: who is talking to the bot and in which language."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.permissions import Role
from bot.services.outbox import user_returned
from db.models import Membership, User

SUPPORTED = ("nl", "en")


@dataclass(frozen=True)
class TelegramPerson:
    """The plain facts of a Telegram user that the services need."""

    id: int
    display_name: str
    username: str | None = None
    language_code: str | None = None


def initial_language(language_code: str | None, default: str) -> str:
    if language_code and language_code.split("-")[0].lower() == "en":
        return "en"
    return default


async def touch_user(
    session: AsyncSession,
    person: TelegramPerson,
    *,
    now: datetime,
    default_language: str,
    coordinator_ids: Collection[int],
) -> User:
    """Create or refresh the user; users in COORDINATOR_IDS are coordinators."""
    user = await session.get(User, person.id, with_for_update=True)
    if user is None:
        user = User(
            id=person.id,
            display_name=person.display_name[:200] or str(person.id),
            username=person.username,
            language=initial_language(person.language_code, default_language),
            is_coordinator=person.id in coordinator_ids,
            active=True,
            created_at=now,
            last_seen_at=now,
            bad_invite_count=0,
        )
        session.add(user)
        await session.flush()
        return user
    user.display_name = person.display_name[:200] or user.display_name
    user.username = person.username
    user.last_seen_at = now
    user.active = True
    if user.blocked_at is not None:
        # Writing to the bot means they unblocked it.
        user.blocked_at = None
        await user_returned(session, user.id, now=now)
    if person.id in coordinator_ids:
        user.is_coordinator = True
    return user


async def set_language(session: AsyncSession, user_id: int, language: str) -> None:
    if language not in SUPPORTED:
        raise ValueError(language)
    user = await session.get(User, user_id, with_for_update=True)
    if user is not None:
        user.language = language


async def roles_of(session: AsyncSession, user: User) -> set[Role]:
    """Every role the user has anywhere (for menus and /help)."""
    rows = await session.scalars(
        select(Membership.role).where(Membership.user_id == user.id).distinct()
    )
    roles = {Role(r) for r in rows}
    if user.is_coordinator:
        roles.add(Role.COORDINATOR)
    return roles


async def coordinators(session: AsyncSession) -> list[User]:
    rows = await session.scalars(
        select(User).where(User.is_coordinator.is_(True), User.active.is_(True)).order_by(User.id)
    )
    return list(rows)
