"""The invite service on a real database: creating, redeeming and revoking links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.services import exchanges, invites
from bot.services.invites import InviteError, InviteProblem, NewInvite
from db.models import ROLE_BEGELEIDER, ROLE_TEACHER, Invite, Membership, User
from db.session import Database
from tests.fixtures import AMS
from tests.services.world import COORDINATOR, NOW, add_user, count, user, world

NEWCOMER = 5001


async def create(database: Database, exchange_id: int, *, uses: int = 2) -> list[NewInvite]:
    async with database.write() as session:
        exchange = await exchanges.load_exchange(session, exchange_id)
        assert exchange is not None
        add_user(session, NEWCOMER, "Nina")
        return await invites.create_invites(
            session,
            exchange,
            created_by=COORDINATOR,
            now=NOW,
            ttl=timedelta(days=14),
            tz=AMS,
            teacher_uses=uses,
            begeleider_uses=10,
        )


async def redeem(
    database: Database, user_id: int, token: str, *, now: datetime = NOW
) -> invites.JoinResult | InviteProblem:
    """Redeem as the handler does: a failure is committed too (it counts against the user)."""
    async with database.write() as session:
        try:
            return await invites.redeem(session, await user(session, user_id), token, now=now)
        except InviteError as error:
            return error.problem


async def test_three_links_are_stored_as_hashes_until_the_end_of_their_last_day(
    database: Database,
) -> None:
    w = await world(database)
    created = await create(database, w.exchange_id)
    async with database.read() as session:
        rows = list(await session.scalars(select(Invite).order_by(Invite.id)))
    assert [(r.role, r.side, r.max_uses, r.uses) for r in rows] == [
        (ROLE_TEACHER, "A", 2, 0),
        (ROLE_TEACHER, "B", 2, 0),
        (ROLE_BEGELEIDER, None, 10, 0),
    ]
    assert [r.token_hash for r in rows] == [invites.hash_token(c.token) for c in created]
    assert all(c.token not in r.token_hash for c, r in zip(created, rows, strict=True))
    # 12 January + 14 days is 26 January, but the exchange starts on 1 February: the link
    # works through the end of its first week, Sunday 7 February, local time.
    assert {r.expires_at for r in rows} == {datetime(2027, 2, 8, tzinfo=AMS).astimezone(UTC)}


async def test_redeeming_joins_once_and_uses_the_link_once(database: Database) -> None:
    w = await world(database)
    teacher_a, _, _ = await create(database, w.exchange_id)
    joined = await redeem(database, NEWCOMER, teacher_a.token)
    assert joined == invites.JoinResult(w.exchange_id, ROLE_TEACHER, "A", already_member=False)
    again = await redeem(database, NEWCOMER, teacher_a.token)
    assert again == invites.JoinResult(w.exchange_id, ROLE_TEACHER, "A", already_member=True)
    assert await count(database, Membership, Membership.user_id == NEWCOMER) == 1
    async with database.read() as session:
        invite = await session.get(Invite, teacher_a.invite.id)
        assert invite is not None and invite.uses == 1


async def test_used_up_revoked_expired_and_unknown_links_are_one_problem(
    database: Database,
) -> None:
    w = await world(database)
    teacher_a, teacher_b, begeleider = await create(database, w.exchange_id, uses=1)
    assert isinstance(await redeem(database, NEWCOMER, teacher_a.token), invites.JoinResult)
    async with database.write() as session:
        add_user(session, NEWCOMER + 1, "Olga")
        revoked = await invites.revoke_invites(
            session, w.exchange_id, [teacher_b.invite.id], now=NOW, by=None
        )
        assert revoked == 1
        assert (
            await invites.revoke_invites(
                session, w.exchange_id + 1, [begeleider.invite.id], now=NOW, by=None
            )
            == 0
        )  # not that exchange's invite
    other = NEWCOMER + 1
    assert await redeem(database, other, teacher_a.token) == InviteProblem.INVALID  # used up
    assert await redeem(database, other, teacher_b.token) == InviteProblem.INVALID  # revoked
    late = datetime(2027, 2, 8, tzinfo=AMS).astimezone(UTC)
    assert await redeem(database, other, begeleider.token, now=late) == InviteProblem.INVALID
    assert await count(database, Membership, Membership.user_id == other) == 0
    async with database.read() as session:
        person = await session.get(User, other)
        # The expired try came two weeks after the others: the count started again.
        assert person is not None and person.bad_invite_count == 1
        assert person.invite_locked_until is None


async def test_guessing_is_slowed_down(database: Database) -> None:
    w = await world(database)
    _, _, begeleider = await create(database, w.exchange_id)
    for _ in range(3):
        assert await redeem(database, NEWCOMER, "guess") == InviteProblem.INVALID
    assert await redeem(database, NEWCOMER, "guess-4") == InviteProblem.LOCKED
    # Locked: even a valid link waits until the lock is over.
    assert await redeem(database, NEWCOMER, begeleider.token) == InviteProblem.LOCKED
    later = NOW + timedelta(minutes=2)
    joined = await redeem(database, NEWCOMER, begeleider.token, now=later)
    assert isinstance(joined, invites.JoinResult) and joined.role == ROLE_BEGELEIDER


@pytest.mark.parametrize("token", ["", "x" * 65, "bad token!", "é"])
async def test_tokens_that_cannot_be_links_are_refused(database: Database, token: str) -> None:
    await world(database)
    async with database.write() as session:
        add_user(session, NEWCOMER, "Nina")
    assert await redeem(database, NEWCOMER, token) == InviteProblem.INVALID
