"""Invite deep links: creating, revoking and redeeming them."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.outbox import (
    INVITE_TRIED,
    MEMBER_JOINED,
    InviteTriedPayload,
    MemberPayload,
    Rules,
)
from bot.domain.programme import Programme
from bot.services import audit, exchanges, outbox
from db.models import ROLE_BEGELEIDER, ROLE_TEACHER, Exchange, Invite, Membership, User

TOKEN_BYTES = 16  # 128 bits
MAX_TOKEN_LENGTH = 64  # Telegram's limit for a /start parameter
BAD_TOKEN_WINDOW = timedelta(hours=1)
BAD_TOKEN_FREE_TRIES = 3
BAD_TOKEN_BASE_LOCK = timedelta(minutes=1)
BAD_TOKEN_MAX_LOCK = timedelta(hours=24)
# News for the coordinator (who joined, a link that no longer works) outlasts a long weekend.
NEWS_VALIDITY = timedelta(days=7)

# The three links a coordinator hands out for one exchange.
INVITE_KINDS: tuple[tuple[str, str | None], ...] = (
    (ROLE_TEACHER, "A"),
    (ROLE_TEACHER, "B"),
    (ROLE_BEGELEIDER, None),
)


class InviteProblem(StrEnum):
    # One answer for unknown, expired, used-up and revoked tokens: telling them apart would
    # tell a guesser which tokens exist.
    INVALID = "invalid"
    LOCKED = "locked"


class InviteError(Exception):
    def __init__(
        self,
        problem: InviteProblem,
        retry_after: timedelta | None = None,
        *,
        lapsed: Invite | None = None,
        why: str = "",
    ) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.retry_after = retry_after
        # A real link that no longer works ("expired", "used_up"): its coordinator hears of
        # it. The user is told the same as for any bad link.
        self.lapsed = lapsed
        self.why = why


@dataclass(frozen=True)
class NewInvite:
    invite: Invite
    token: str


@dataclass(frozen=True)
class JoinResult:
    exchange_id: int
    role: str
    side: str | None
    already_member: bool


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


async def create_invites(
    session: AsyncSession,
    exchange: Exchange,
    *,
    created_by: int,
    now: datetime,
    ttl: timedelta,
    tz: tzinfo,
    teacher_uses: int,
    begeleider_uses: int,
) -> list[NewInvite]:
    """One fresh link per role and side; only the hashes are stored.

    Links work up to and including the last day (local time), which is what people read, and
    at least until the end of the exchange's first week: links made well before the start
    still work when people get round to them.
    """
    last_day = max((now.astimezone(tz) + ttl).date(), exchange.start_date + timedelta(days=6))
    expires_at = datetime.combine(last_day + timedelta(days=1), time(0), tz).astimezone(UTC)
    created: list[NewInvite] = []
    for role, side in INVITE_KINDS:
        token = new_token()
        invite = Invite(
            exchange_id=exchange.id,
            role=role,
            side=side,
            token_hash=hash_token(token),
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
            max_uses=teacher_uses if role == ROLE_TEACHER else begeleider_uses,
            uses=0,
        )
        session.add(invite)
        created.append(NewInvite(invite, token))
        audit.record(
            session,
            exchange_id=exchange.id,
            user_id=created_by,
            action=audit.INVITE_MADE,
            now=now,
            details={"role": role, "side": side},
        )
    await session.flush()
    return created


async def revoke_invites(
    session: AsyncSession,
    exchange_id: int,
    invite_ids: list[int],
    *,
    now: datetime,
    by: int | None,
) -> int:
    """Revoke these invites of this exchange (`by` that user); returns how many were still
    open. Each one revoked is written to the exchange's log."""
    still_open = list(
        await session.scalars(
            select(Invite)
            .where(
                Invite.exchange_id == exchange_id,
                Invite.id.in_(invite_ids),
                Invite.revoked_at.is_(None),
            )
            .order_by(Invite.id)
            .with_for_update()
        )
    )
    for invite in still_open:
        invite.revoked_at = now
        audit.record(
            session,
            exchange_id=exchange_id,
            user_id=by,
            action=audit.INVITE_REVOKED,
            now=now,
            details={"role": invite.role, "side": invite.side},
        )
    await session.flush()
    return len(still_open)


def _lock_for(failures: int) -> timedelta:
    extra = failures - BAD_TOKEN_FREE_TRIES
    lock = BAD_TOKEN_BASE_LOCK * (1 << max(0, extra - 1))  # doubled per further try
    return min(lock, BAD_TOKEN_MAX_LOCK)


def _record_failure(user: User, now: datetime) -> None:
    if user.bad_invite_since is None or now - user.bad_invite_since > BAD_TOKEN_WINDOW:
        user.bad_invite_since = now
        user.bad_invite_count = 0
    user.bad_invite_count += 1
    if user.bad_invite_count > BAD_TOKEN_FREE_TRIES:
        user.invite_locked_until = now + _lock_for(user.bad_invite_count)


def _fail(user: User, now: datetime, lapsed: Invite | None = None, why: str = "") -> NoReturn:
    _record_failure(user, now)
    if user.invite_locked_until is not None and user.invite_locked_until > now:
        raise InviteError(InviteProblem.LOCKED, user.invite_locked_until - now)
    raise InviteError(InviteProblem.INVALID, lapsed=lapsed, why=why)


def _looks_like_token(token: str) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return 0 < len(token) <= MAX_TOKEN_LENGTH and set(token) <= allowed


async def redeem(session: AsyncSession, user: User, token: str, *, now: datetime) -> JoinResult:
    """Join the user to the invite's exchange with its role, or raise InviteError.

    A failure is counted against the user (so guessing slows down); the caller commits
    that count even though the join did not happen. Nothing but time clears the count.
    """
    if user.invite_locked_until is not None and user.invite_locked_until > now:
        raise InviteError(InviteProblem.LOCKED, user.invite_locked_until - now)
    invite = None
    if _looks_like_token(token):
        invite = await session.scalar(
            select(Invite).where(Invite.token_hash == hash_token(token)).with_for_update()
        )
    if invite is None or invite.revoked_at is not None:
        _fail(user, now)
    if invite.expires_at <= now:
        _fail(user, now, invite, "expired")
    exchange = await session.get(Exchange, invite.exchange_id)
    existing = await session.scalar(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.exchange_id == invite.exchange_id,
            Membership.role == invite.role,
        )
    )
    if existing is not None:
        # Tapping the same link twice is harmless and uses nothing up. It does not clear the
        # count of bad tokens either: otherwise a guesser could reset the throttle with their
        # own valid link between guesses.
        return JoinResult(invite.exchange_id, existing.role, existing.side, already_member=True)
    if exchange is None or exchange.status != "active":
        _fail(user, now)
    if invite.uses >= invite.max_uses:
        _fail(user, now, invite, "used_up")
    invite.uses += 1
    session.add(
        Membership(
            user_id=user.id,
            exchange_id=invite.exchange_id,
            role=invite.role,
            side=invite.side,
            invite_id=invite.id,
            joined_at=now,
        )
    )
    # A successful join leaves the bad-token count alone for the same reason: guessing is
    # slowed per user whatever else they do; the count lapses only with its time window.
    await session.flush()
    return JoinResult(invite.exchange_id, invite.role, invite.side, already_member=False)


async def join(
    session: AsyncSession,
    user: User,
    token: str,
    *,
    programmes: Mapping[str, Programme],
    rules: Rules,
    now: datetime,
) -> JoinResult:
    """Join with an invite link: the member's messages are planned and the coordinator hears
    who joined. A real link that expired or is used up is refused like any bad link, and its
    coordinator hears that someone tried it (once a day per link), to send a new one."""
    try:
        joined = await redeem(session, user, token, now=now)
    except InviteError as problem:
        if problem.lapsed is not None:
            await _tell_lapsed(session, problem.lapsed, problem.why, now=now)
        raise
    if joined.already_member:
        return joined
    audit.record(
        session,
        exchange_id=joined.exchange_id,
        user_id=user.id,
        action=audit.MEMBER_JOINED,
        now=now,
        details={"name": user.display_name, "role": joined.role, "side": joined.side},
    )
    await outbox.replan_exchange(session, joined.exchange_id, programmes, rules, now=now)
    exchange = await exchanges.load_exchange(session, joined.exchange_id)
    assert exchange is not None
    await outbox.tell(
        session,
        [c.id for c in await exchanges.coordinators_of(session, exchange)],
        exchange_id=exchange.id,
        kind=MEMBER_JOINED,
        payload=MemberPayload(user=user.id, role=joined.role, side=joined.side),
        dedupe_key=lambda c: f"joined:{exchange.id}:{user.id}:{joined.role}:{c}",
        now=now,
        not_after=now + NEWS_VALIDITY,
    )
    return joined


async def _tell_lapsed(session: AsyncSession, invite: Invite, why: str, *, now: datetime) -> None:
    exchange = await exchanges.load_exchange(session, invite.exchange_id)
    if exchange is None or exchange.status != "active":
        return
    await outbox.tell(
        session,
        [c.id for c in await exchanges.coordinators_of(session, exchange)],
        exchange_id=exchange.id,
        kind=INVITE_TRIED,
        payload=InviteTriedPayload(invite=invite.id, why=why),
        dedupe_key=lambda c: f"tried:{invite.id}:{now.date().isoformat()}:{c}",
        now=now,
        not_after=now + NEWS_VALIDITY,
    )
