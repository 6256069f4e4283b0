"""Users: who is talking to the bot and in which language."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from sqlalchemy import bindparam, exists, literal_column, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from bot.domain.permissions import Action, Role
from bot.services import auth
from bot.services.outbox import user_returned
from db.models import ROLES, CoordinatorChange, Dialog, Membership, User

log = logging.getLogger(__name__)

SUPPORTED = ("nl", "en")
SOURCE_SETTING = "setting"
SOURCE_COMMAND = "command"


@dataclass(frozen=True)
class TelegramPerson:
    """The plain facts of a Telegram user that the services need."""

    id: int
    display_name: str
    username: str | None = None
    language_code: str | None = None


# "Last seen" is kept to this precision: a user's row is not written for every message.
SEEN_PRECISION = timedelta(hours=1)


def initial_language(language_code: str | None, default: str) -> str:
    if language_code and language_code.split("-")[0].lower() == "en":
        return "en"
    return default


def _display_name(person: TelegramPerson, known: str) -> str:
    return person.display_name[:200] or known


def up_to_date(user: User, person: TelegramPerson, *, now: datetime) -> bool:
    """Whether `touch_user` would leave the row as it is (then nothing needs writing).

    It writes when Telegram shows another name or username, when the user had blocked the
    bot or was inactive, and when "last seen" is older than SEEN_PRECISION.
    """
    return (
        user.display_name == _display_name(person, user.display_name)
        and user.username == person.username
        and user.active
        and user.blocked_at is None
        and now - user.last_seen_at < SEEN_PRECISION
    )


@cache
def _create(dialect: str) -> ReturningInsert[User]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the user, built once per database kind."""
    insert = postgresql.insert(User) if dialect == "postgresql" else sqlite.insert(User)
    return (
        insert.values(
            id=bindparam("id"),
            display_name=bindparam("display_name"),
            username=bindparam("username"),
            language=bindparam("language"),
            is_coordinator=bindparam("is_coordinator"),
            coordinator_source=bindparam("coordinator_source"),
            active=True,
            created_at=bindparam("now"),
            last_seen_at=bindparam("now"),
            bad_invite_count=0,
        )
        .on_conflict_do_nothing(index_elements=[User.id])
        .returning(User)
    )


async def create_user(
    session: AsyncSession,
    person: TelegramPerson,
    *,
    now: datetime,
    default_language: str,
    coordinator_ids: Collection[int],
) -> User | None:
    """Insert a user the bot does not know yet; a new user in COORDINATOR_IDS starts as a
    coordinator. None when the row is there already: the same person may write in two chats
    at once (a group and a private chat), and the other chat was first.

    One statement: the user comes back whole, and a conflict needs no savepoint.
    """
    coordinator = person.id in coordinator_ids
    statement = _create(session.get_bind().dialect.name)
    values = {
        "id": person.id,
        "display_name": person.display_name[:200] or str(person.id),
        "username": person.username,
        "language": initial_language(person.language_code, default_language),
        "is_coordinator": coordinator,
        "coordinator_source": SOURCE_SETTING if coordinator else None,
        "now": now,
    }
    user = (await session.scalars(statement, values)).one_or_none()
    if user is not None and coordinator:
        _audit(session, user.id, None, granted=True, source=SOURCE_SETTING, now=now)
    return user


async def touch_user(
    session: AsyncSession,
    person: TelegramPerson,
    *,
    now: datetime,
    default_language: str,
    coordinator_ids: Collection[int],
) -> User:
    """Create or refresh the user; a new user in COORDINATOR_IDS starts as a coordinator.

    The row is not locked (no SELECT … FOR UPDATE): a transaction that holds its own user row
    locked while it writes a row pointing at another user (a proposal's notice, an alert)
    deadlocks on PostgreSQL with the other user's transaction doing the same the other way
    round, because the foreign key check takes a share lock on the referenced user. The plain
    UPDATE at flush takes a lock that such checks do not wait for, and one chat's updates
    are handled one after another anyway. Existing users' rights follow the setting at
    start-up (`sync_coordinators`), not here. Only what changed is written (see `up_to_date`):
    an UPDATE is sent only when a value differs from the row.
    """
    user = await session.get(User, person.id)
    if user is None:
        created = await create_user(
            session,
            person,
            now=now,
            default_language=default_language,
            coordinator_ids=coordinator_ids,
        )
        if created is not None:
            return created
        found = await session.get(User, person.id, populate_existing=True)
        assert found is not None
        return found
    if up_to_date(user, person, now=now):
        return user
    user.display_name = _display_name(person, user.display_name)
    user.username = person.username
    user.last_seen_at = now
    user.active = True
    if user.blocked_at is not None:
        # Writing to the bot means they unblocked it.
        user.blocked_at = None
        await user_returned(session, user.id, now=now)
    return user


@dataclass(frozen=True)
class Sender:
    """The sender of a message and their private chat, as one query finds them."""

    user: User | None  # None: someone the bot does not know yet
    # Their roles in exchanges (a coordinator's rights are on the user).
    member_roles: frozenset[Role]
    dialog: Dialog | None  # the conversation open in the chat


# One row whether or not the user and the conversation exist: both are joined to this.
_ONE_ROW = select(literal_column("1").label("one")).subquery("one_row")
_SENDER = (
    select(
        User,
        Dialog,
        *(
            exists().where(Membership.user_id == bindparam("user_id"), Membership.role == role)
            for role in ROLES
        ),
    )
    .select_from(_ONE_ROW)
    .outerjoin(User, User.id == bindparam("user_id"))
    .outerjoin(Dialog, Dialog.chat_id == bindparam("chat_id"))
)


async def sender(session: AsyncSession, user_id: int, chat_id: int) -> Sender:
    """The user, their roles in exchanges and the chat's open conversation, in one query."""
    row = (await session.execute(_SENDER, {"user_id": user_id, "chat_id": chat_id})).one()
    user, dialog, *held = row
    roles = frozenset(Role(role) for role, has in zip(ROLES, held, strict=True) if has)
    return Sender(user, roles, dialog)


async def language_of(session: AsyncSession, user_id: int, *, default: str) -> str:
    """The user's language, or `default` for someone the bot does not know yet."""
    language = await session.scalar(select(User.language).where(User.id == user_id))
    return language or default


async def set_language(session: AsyncSession, user_id: int, language: str) -> None:
    if language not in SUPPORTED:
        raise ValueError(language)
    await session.execute(update(User).where(User.id == user_id).values(language=language))


# -- coordinator rights -------------------------------------------------------------------


def _audit(
    session: AsyncSession,
    user_id: int,
    changed_by: int | None,
    *,
    granted: bool,
    source: str,
    now: datetime,
) -> None:
    session.add(
        CoordinatorChange(
            user_id=user_id, changed_by=changed_by, granted=granted, source=source, at=now
        )
    )
    log.info(
        "Coordinator rights %s user %s by %s",
        "granted to" if granted else "taken from",
        user_id,
        f"user {changed_by}" if changed_by is not None else "COORDINATOR_IDS",
    )


async def sync_coordinators(
    session: AsyncSession, coordinator_ids: Collection[int], *, now: datetime
) -> list[User]:
    """Make the rights from the setting match COORDINATOR_IDS; returns the users changed.

    Someone in the list is a coordinator; someone whose rights came from the list and who is
    no longer in it loses them. Rights granted with /aanstellen are kept.
    """
    wanted = set(coordinator_ids)
    rows = await session.scalars(
        select(User)
        .where(or_(User.is_coordinator.is_(True), User.id.in_(wanted)))
        .order_by(User.id)
    )
    changed: list[User] = []
    for user in rows:
        if user.id in wanted and not user.is_coordinator:
            user.is_coordinator = True
            user.coordinator_source = SOURCE_SETTING
            _audit(session, user.id, None, granted=True, source=SOURCE_SETTING, now=now)
            changed.append(user)
        elif user.id in wanted and user.coordinator_source is None:
            user.coordinator_source = SOURCE_SETTING
        elif user.id not in wanted and user.coordinator_source != SOURCE_COMMAND:
            user.is_coordinator = False
            user.coordinator_source = None
            _audit(session, user.id, None, granted=False, source=SOURCE_SETTING, now=now)
            changed.append(user)
    await session.flush()
    return changed


class RightsProblem(StrEnum):
    UNKNOWN_USER = "unknown_user"
    ALREADY = "already"
    NOT_COORDINATOR = "not_coordinator"
    FROM_SETTING = "from_setting"
    NOT_YOURS = "not_yours"
    SELF = "self"


class RightsError(Exception):
    def __init__(self, problem: RightsProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


async def grant_coordinator(
    session: AsyncSession, by: User, user_id: int, *, now: datetime
) -> User:
    """`by` (a coordinator) makes `user_id` a coordinator; RightsError says why not.

    auth.NotAllowed when `by` may not appoint anyone.
    """
    await auth.require(session, by, Action.APPOINT_COORDINATOR)
    target = await session.get(User, user_id)
    if target is None:
        raise RightsError(RightsProblem.UNKNOWN_USER)
    if target.is_coordinator:
        raise RightsError(RightsProblem.ALREADY)
    target.is_coordinator = True
    target.coordinator_source = SOURCE_COMMAND
    _audit(session, target.id, by.id, granted=True, source=SOURCE_COMMAND, now=now)
    await session.flush()
    return target


async def revoke_coordinator(
    session: AsyncSession, by: User, user_id: int, *, now: datetime
) -> User:
    """`by` takes back rights they granted with the command; RightsError says why not.

    auth.NotAllowed when `by` may not appoint anyone.
    """
    await auth.require(session, by, Action.APPOINT_COORDINATOR)
    if user_id == by.id:
        raise RightsError(RightsProblem.SELF)
    target = await session.get(User, user_id)
    if target is None:
        raise RightsError(RightsProblem.UNKNOWN_USER)
    if not target.is_coordinator:
        raise RightsError(RightsProblem.NOT_COORDINATOR)
    if target.coordinator_source != SOURCE_COMMAND:
        raise RightsError(RightsProblem.FROM_SETTING)
    granted_by = await session.scalar(
        select(CoordinatorChange.changed_by)
        .where(CoordinatorChange.user_id == target.id, CoordinatorChange.granted.is_(True))
        .order_by(CoordinatorChange.at.desc(), CoordinatorChange.id.desc())
        .limit(1)
    )
    if granted_by != by.id:
        raise RightsError(RightsProblem.NOT_YOURS)
    target.is_coordinator = False
    target.coordinator_source = None
    _audit(session, target.id, by.id, granted=False, source=SOURCE_COMMAND, now=now)
    await session.flush()
    return target


def all_roles(member_roles: Collection[Role], user: User) -> set[Role]:
    """The roles in exchanges, and coordinator when the user is one."""
    roles = set(member_roles)
    if user.is_coordinator:
        roles.add(Role.COORDINATOR)
    return roles


async def roles_of(session: AsyncSession, user: User) -> set[Role]:
    """Every role the user has anywhere (for menus and /help)."""
    rows = await session.scalars(
        select(Membership.role).where(Membership.user_id == user.id).distinct()
    )
    return all_roles([Role(r) for r in rows], user)


async def coordinators(session: AsyncSession) -> list[User]:
    rows = await session.scalars(
        select(User).where(User.is_coordinator.is_(True), User.active.is_(True)).order_by(User.id)
    )
    return list(rows)
