"""Telegram groups linked to an exchange: the code, linking, unlinking, what groups hear.

A coordinator makes a one-time code (an `Invite` with role "group": only its hash is kept);
a coordinator or teacher of the exchange sends `/groep <code>` in the group. The group then
is a `User` row (`is_group`, id = the group's chat id) with a `GroupLink`, and gets the
exchange's day schedules (planned from the snapshot's `groups`) and a one-line notice of
each new incident through the outbox like a person. Removing the bot from the group, a 403
when sending to it, or `/groep los` unlinks it: its link goes, its pending rows are cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.incidents import URGENT_SEVERITIES
from bot.domain.outbox import GROUP_INCIDENT, IncidentPayload, Rules, read_payload
from bot.domain.permissions import Action
from bot.domain.programme import Programme
from bot.services import audit, auth, exchanges, outbox
from bot.services.invites import MAX_TOKEN_LENGTH, hash_token, new_token
from db.models import (
    OUTBOX_BLOCKED,
    OUTBOX_CANCELLED,
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    Exchange,
    GroupLink,
    Incident,
    Invite,
    OutboxMessage,
    User,
)

ROLE_GROUP = "group"
# A code is made to be used soon, in a group the coordinator or a teacher has at hand.
CODE_VALIDITY = timedelta(days=7)
# A second code asked for this soon after the first is a double tap, not a second group.
DOUBLE_TAP = timedelta(seconds=10)
# The notice is news on the day; a group that hears of it a day later has missed nothing.
NOTICE_VALIDITY = timedelta(days=1)
MAX_TITLE = 200
# Why a group was unlinked (audit GROUP_UNLINKED `why`).
REMOVED = "removed"  # the bot was taken out of the group (or Telegram says it was)
COMMAND = "command"  # /groep los
MOVED = "moved"  # linked to another exchange with a code of that one
# last_error of the row whose send showed that the bot is no longer in the group.
REMOVED_ERROR = "the bot was removed from the group"


class LinkProblem(StrEnum):
    # One answer for unknown, expired, used and revoked codes, as for invite links.
    BAD_CODE = "bad_code"
    NOT_ALLOWED = "not_allowed"
    ARCHIVED = "archived"


class JustMade(Exception):
    """The same coordinator got a code for this exchange a moment ago: a double tap."""


class LinkError(Exception):
    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class GroupCode:
    exchange: Exchange
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class Linked:
    """The group now belongs to `exchange`; `moved_from` is the exchange it left for it."""

    exchange: Exchange
    language: str
    moved_from: Exchange | None = None
    already: bool = False


@dataclass(frozen=True)
class GroupState:
    """What `/groep` in a group says: the exchange it is linked to, if any."""

    exchange: Exchange | None


async def make_code(
    session: AsyncSession, user: User, exchange_id: int, *, now: datetime, tz: tzinfo
) -> GroupCode:
    """A fresh one-time code linking a group to the exchange; coordinators only
    (auth.NotAllowed or Archived otherwise). Only the code's hash is stored, so a code
    asked for twice in a moment (JustMade) cannot be shown again: the first one stands."""
    await auth.require_exchange(session, user, Action.INVITE, exchange_id)
    recent = await session.scalar(
        select(Invite.id).where(
            Invite.exchange_id == exchange_id,
            Invite.role == ROLE_GROUP,
            Invite.created_by == user.id,
            Invite.created_at > now - DOUBLE_TAP,
            Invite.uses == 0,
        )
    )
    if recent is not None:
        raise JustMade(exchange_id)
    exchange = await exchanges.load_exchange(session, exchange_id)
    assert exchange is not None
    code = new_token()
    invite = Invite(
        exchange_id=exchange_id,
        role=ROLE_GROUP,
        side=None,
        token_hash=hash_token(code),
        created_by=user.id,
        created_at=now,
        expires_at=_end_of_last_day(now, tz),
        max_uses=1,
        uses=0,
    )
    session.add(invite)
    await session.flush()
    return GroupCode(exchange, code, invite.expires_at)


def _end_of_last_day(now: datetime, tz: tzinfo) -> datetime:
    """A code works up to and including its last day (local time), which is what people read."""
    last_day = (now.astimezone(tz) + CODE_VALIDITY).date()
    return datetime.combine(last_day + timedelta(days=1), time(0), tz).astimezone(UTC)


async def _valid_code(session: AsyncSession, code: str, *, now: datetime) -> Invite:
    """The unused group code, locked until commit (two groups cannot both use it)."""
    invite = None
    if 0 < len(code) <= MAX_TOKEN_LENGTH:
        invite = await session.scalar(
            select(Invite)
            .where(Invite.token_hash == hash_token(code), Invite.role == ROLE_GROUP)
            .with_for_update()
        )
    if (
        invite is None
        or invite.revoked_at is not None
        or invite.expires_at <= now
        or invite.uses >= invite.max_uses
    ):
        raise LinkError(LinkProblem.BAD_CODE)
    return invite


async def _group_user(
    session: AsyncSession, chat_id: int, title: str, *, now: datetime, language: str
) -> User:
    """The group's row, made on first link; a group that had the bot removed starts afresh."""
    group = await session.get(User, chat_id)
    name = title.strip()[:MAX_TITLE] or str(chat_id)
    if group is None:
        group = User(
            id=chat_id,
            display_name=name,
            username=None,
            language=language,
            is_coordinator=False,
            is_group=True,
            active=True,
            created_at=now,
            last_seen_at=now,
            bad_invite_count=0,
        )
        session.add(group)
        await session.flush()
        return group
    group.display_name = name
    group.active = True
    group.blocked_at = None
    group.last_seen_at = now
    return group


async def _may_link(session: AsyncSession, user: User, exchange_id: int) -> Exchange:
    """The exchange, if `user` may link or unlink its group (a coordinator, or a teacher of
    it, while it is not archived); LinkError otherwise."""
    try:
        await auth.require_exchange(session, user, Action.LINK_GROUP, exchange_id)
    except auth.Archived as refused:
        raise LinkError(LinkProblem.ARCHIVED) from refused
    except auth.NotAllowed as refused:
        raise LinkError(LinkProblem.NOT_ALLOWED) from refused
    exchange = await exchanges.load_exchange(session, exchange_id)
    assert exchange is not None
    return exchange


async def link(
    session: AsyncSession,
    user: User,
    *,
    chat_id: int,
    title: str,
    code: str,
    now: datetime,
    programmes: Mapping[str, Programme],
    rules: Rules,
    language: str,
) -> Linked:
    """Link the group `chat_id` to the code's exchange, sent there by `user`.

    LinkError when the code is no good (unknown, expired, used, revoked) or `user` is not a
    coordinator or teacher of its exchange; nothing changes then. The code is used up. A
    group already linked to another exchange moves: it leaves that one (and its pending
    messages of it); linked again to the same exchange nothing changes and the code is kept.
    """
    if chat_id >= 0:
        raise ValueError("only a group chat (negative id) can be linked")
    invite = await _valid_code(session, code, now=now)
    exchange = await _may_link(session, user, invite.exchange_id)
    group = await _group_user(session, chat_id, title, now=now, language=language)
    current = await session.get(GroupLink, chat_id, with_for_update=True)
    if current is not None and current.exchange_id == exchange.id:
        current.title = group.display_name
        return Linked(exchange, group.language, already=True)
    moved_from: Exchange | None = None
    if current is not None:
        moved_from = await exchanges.load_exchange(session, current.exchange_id)
        await _unlink(session, current, why=MOVED, user_id=user.id, now=now)
    invite.uses += 1
    session.add(
        GroupLink(
            chat_id=chat_id,
            exchange_id=exchange.id,
            title=group.display_name,
            linked_by=user.id,
            linked_at=now,
        )
    )
    audit.record(
        session,
        exchange_id=exchange.id,
        user_id=user.id,
        action=audit.GROUP_LINKED,
        now=now,
        details={"title": group.display_name},
    )
    await session.flush()
    await outbox.replan_exchange(session, exchange.id, programmes, rules, now=now)
    return Linked(exchange, group.language, moved_from=moved_from)


async def _unlink(
    session: AsyncSession, current: GroupLink, *, why: str, user_id: int | None, now: datetime
) -> None:
    """Delete the link and cancel every message still waiting for the group."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.user_id == current.chat_id,
            OutboxMessage.status == OUTBOX_PENDING,
        )
        .values(status=OUTBOX_CANCELLED, updated_at=now)
    )
    audit.record(
        session,
        exchange_id=current.exchange_id,
        user_id=user_id,
        action=audit.GROUP_UNLINKED,
        now=now,
        details={"title": current.title, "why": why},
    )
    await session.delete(current)
    await session.flush()


async def unlink_by_command(
    session: AsyncSession, user: User, chat_id: int, *, now: datetime
) -> Exchange:
    """`/groep los` in the group: a coordinator or teacher of its exchange unlinks it.

    LinkError for anyone else (or while the exchange is archived: remove the bot instead),
    LookupError when the group is not linked.
    """
    current = await session.get(GroupLink, chat_id, with_for_update=True)
    if current is None:
        raise LookupError(chat_id)
    exchange = await _may_link(session, user, current.exchange_id)
    await _unlink(session, current, why=COMMAND, user_id=user.id, now=now)
    return exchange


async def removed(session: AsyncSession, chat_id: int, *, now: datetime) -> bool:
    """The bot was taken out of the group: unlink it. False when it was not linked."""
    current = await session.get(GroupLink, chat_id, with_for_update=True)
    if current is None:
        return False
    await _unlink(session, current, why=REMOVED, user_id=None, now=now)
    return True


async def bot_removed(session: AsyncSession, group: User, row_id: int, *, now: datetime) -> None:
    """A send to the group answered 403 (the bot was removed): the row ends there, and the
    group is unlinked, instead of the story of a person who blocked the bot."""
    row = await session.get(OutboxMessage, row_id, with_for_update=True)
    if row is not None and row.status in (OUTBOX_PENDING, OUTBOX_SENDING):
        row.status = OUTBOX_BLOCKED
        row.last_error = REMOVED_ERROR
        row.updated_at = now
    await removed(session, group.id, now=now)


async def migrated(
    session: AsyncSession,
    old_chat_id: int,
    new_chat_id: int,
    *,
    now: datetime,
    programmes: Mapping[str, Programme],
    rules: Rules,
) -> bool:
    """The group became a supergroup, which has a new chat id: the link follows it.

    Messages still waiting go to the new id; the day schedules are planned for it again.
    False when the old group was not linked.
    """
    current = await session.get(GroupLink, old_chat_id, with_for_update=True)
    if current is None or new_chat_id >= 0:
        return False
    old = await session.get(User, old_chat_id)
    language = old.language if old is not None else "nl"
    await _group_user(session, new_chat_id, current.title, now=now, language=language)
    exchange_id = current.exchange_id
    session.add(
        GroupLink(
            chat_id=new_chat_id,
            exchange_id=exchange_id,
            title=current.title,
            linked_by=current.linked_by,
            linked_at=current.linked_at,
        )
    )
    await session.delete(current)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.user_id == old_chat_id, OutboxMessage.status == OUTBOX_PENDING)
        .values(user_id=new_chat_id, updated_at=now)
    )
    await session.flush()
    # The day schedules' keys name the chat: the old ones are cancelled, new ones planned.
    await outbox.replan_exchange(session, exchange_id, programmes, rules, now=now)
    return True


async def state(session: AsyncSession, chat_id: int) -> GroupState:
    """The exchange the group is linked to (read only)."""
    current = await session.get(GroupLink, chat_id)
    if current is None:
        return GroupState(None)
    return GroupState(await exchanges.load_exchange(session, current.exchange_id))


async def linked_to(session: AsyncSession, chat_id: int, exchange_id: int) -> bool:
    """Whether the group `chat_id` is linked to the exchange (a person's id never is)."""
    if chat_id >= 0:
        return False
    found = await session.scalar(
        select(GroupLink.chat_id).where(
            GroupLink.chat_id == chat_id, GroupLink.exchange_id == exchange_id
        )
    )
    return found is not None


async def tell_incident(
    session: AsyncSession, exchange_id: int, incident_id: int, *, now: datetime
) -> None:
    """Queue the one-line notice of a new incident for each group linked to the exchange."""
    chats = await session.scalars(
        select(GroupLink.chat_id)
        .where(GroupLink.exchange_id == exchange_id)
        .order_by(GroupLink.chat_id)
    )
    await outbox.tell(
        session,
        list(chats),
        exchange_id=exchange_id,
        kind=GROUP_INCIDENT,
        payload=IncidentPayload(incident=incident_id),
        dedupe_key=lambda chat_id: f"{GROUP_INCIDENT}:{incident_id}:{chat_id}",
        now=now,
        not_after=now + NOTICE_VALIDITY,
    )


@dataclass(frozen=True)
class IncidentNotice:
    """What a group hears of an incident: the pair, the category, who knows. No details."""

    exchange: Exchange
    category: str
    teachers_told: bool  # high and urgent incidents reach the teachers too


async def incident_notice(
    session: AsyncSession, exchange: Exchange, chat_id: int, stored: Mapping[str, object]
) -> IncidentNotice | None:
    """The notice a group row is written from; None when the group or the incident is gone."""
    incident_id = read_payload(IncidentPayload, stored)["incident"]
    if not await linked_to(session, chat_id, exchange.id):
        return None
    incident = await session.get(Incident, incident_id)
    if incident is None or incident.exchange_id != exchange.id:
        return None
    return IncidentNotice(exchange, incident.category, incident.severity in URGENT_SEVERITIES)
