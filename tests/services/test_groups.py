"""The groups service on a real database: codes, linking, moving, unlinking, what groups hear."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.domain.outbox import DAY_SCHEDULE, GROUP_INCIDENT, UNDELIVERED, USER_BLOCKED
from bot.services import audit, auth, exchanges, groups, incidents, invites, outbox
from db.models import (
    OUTBOX_BLOCKED,
    OUTBOX_CANCELLED,
    OUTBOX_PENDING,
    AuditEntry,
    GroupLink,
    Invite,
    OutboxMessage,
    User,
)
from db.session import Database
from tests.fixtures import AMS
from tests.services.world import (
    ACK_WINDOW,
    BEGELEIDER,
    COORDINATOR,
    NOW,
    PROGRAMMES,
    RULES,
    STRANGER,
    TEACHER_A,
    add_exchange,
    count,
    user,
    world,
)

GROUP = -4001
OTHER_GROUP = -4002


async def make_code(database: Database, exchange_id: int, *, by: int = COORDINATOR) -> str:
    async with database.write() as session:
        made = await groups.make_code(
            session, await user(session, by), exchange_id, now=NOW, tz=AMS
        )
        return made.code


async def link(
    database: Database,
    code: str,
    *,
    by: int = TEACHER_A,
    chat_id: int = GROUP,
    title: str = "Groep 8 en 7/8",
    now: datetime = NOW,
) -> groups.Linked | groups.LinkProblem:
    async with database.write() as session:
        try:
            return await groups.link(
                session,
                await user(session, by),
                chat_id=chat_id,
                title=title,
                code=code,
                now=now,
                programmes=PROGRAMMES,
                rules=RULES,
                language="nl",
            )
        except groups.LinkError as refused:
            return refused.problem


async def group_rows(database: Database, chat_id: int = GROUP) -> list[tuple[str, str]]:
    async with database.read() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.user_id == chat_id)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
        )
        return [(row.kind, row.status) for row in rows]


async def log(database: Database) -> list[tuple[int | None, str, dict[str, object]]]:
    async with database.read() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.exchange_id, r.action, dict(r.details)) for r in rows]


async def test_only_coordinators_make_codes_kept_as_hashes(database: Database) -> None:
    w = await world(database)
    code = await make_code(database, w.exchange_id)
    async with database.read() as session:
        invite = await session.scalar(select(Invite).where(Invite.role == groups.ROLE_GROUP))
    assert invite is not None
    assert invite.token_hash != code and (invite.max_uses, invite.uses) == (1, 0)
    # Up to and including the seventh day: NOW is Tuesday 12 January.
    assert invite.expires_at == datetime(2027, 1, 20, 0, 0, tzinfo=AMS)
    for refused in (TEACHER_A, BEGELEIDER, STRANGER):
        with pytest.raises(auth.NotAllowed):
            await make_code(database, w.exchange_id, by=refused)
    # A second code asked for at once is a double tap: the first one stands.
    with pytest.raises(groups.JustMade):
        await make_code(database, w.exchange_id)


async def test_a_teacher_links_a_group_and_it_gets_the_day_schedules(database: Database) -> None:
    w = await world(database)
    code = await make_code(database, w.exchange_id)
    linked = await link(database, code)
    assert isinstance(linked, groups.Linked) and not linked.already
    async with database.read() as session:
        group = await session.get(User, GROUP)
        found = await session.get(GroupLink, GROUP)
        invite = await session.scalar(select(Invite).where(Invite.role == groups.ROLE_GROUP))
    assert group is not None and group.is_group and group.display_name == "Groep 8 en 7/8"
    assert (group.language, group.is_coordinator) == ("nl", False)
    assert found is not None and (found.exchange_id, found.linked_by) == (w.exchange_id, TEACHER_A)
    assert invite is not None and invite.uses == 1
    # Every exchange day's schedule, like the teachers get them; nothing else is planned.
    assert await group_rows(database) == [(DAY_SCHEDULE, OUTBOX_PENDING)] * 3
    assert await log(database) == [
        (w.exchange_id, audit.GROUP_LINKED, {"title": "Groep 8 en 7/8"}),
    ]
    # The code is used up: it links nothing else.
    assert await link(database, code, chat_id=OTHER_GROUP) is groups.LinkProblem.BAD_CODE


async def test_refusals_change_nothing(database: Database) -> None:
    w = await world(database)
    code = await make_code(database, w.exchange_id)
    assert await link(database, "nonsense") is groups.LinkProblem.BAD_CODE
    assert await link(database, "x" * 300) is groups.LinkProblem.BAD_CODE
    assert await link(database, code, by=BEGELEIDER) is groups.LinkProblem.NOT_ALLOWED
    assert await link(database, code, by=STRANGER) is groups.LinkProblem.NOT_ALLOWED
    later = datetime(2027, 1, 20, 0, 0, tzinfo=AMS)
    assert await link(database, code, now=later) is groups.LinkProblem.BAD_CODE
    assert await count(database, GroupLink) == 0
    assert await count(database, User, User.is_group.is_(True)) == 0
    assert await log(database) == []
    # The refusals did not use the code up.
    assert isinstance(await link(database, code, by=COORDINATOR), groups.Linked)


async def test_a_group_moves_to_another_exchange_and_leaves_the_first(database: Database) -> None:
    w = await world(database)
    await link(database, await make_code(database, w.exchange_id))
    async with database.write() as session:
        other = await add_exchange(session, school_a="De Klimop", school_b="Het Anker")
        other_id = other.id
    moved = await link(database, await make_code(database, other_id), by=COORDINATOR)
    assert isinstance(moved, groups.Linked)
    assert moved.moved_from is not None and moved.moved_from.id == w.exchange_id
    async with database.read() as session:
        found = await session.get(GroupLink, GROUP)
        rows = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == GROUP))
        )
    assert found is not None and found.exchange_id == other_id
    pending = {r.exchange_id for r in rows if r.status == OUTBOX_PENDING}
    cancelled = {r.exchange_id for r in rows if r.status == OUTBOX_CANCELLED}
    assert (pending, cancelled) == ({other_id}, {w.exchange_id})
    assert [(e, a, d.get("why")) for e, a, d in await log(database)] == [
        (w.exchange_id, audit.GROUP_LINKED, None),
        (w.exchange_id, audit.GROUP_UNLINKED, groups.MOVED),
        (other_id, audit.GROUP_LINKED, None),
    ]


async def test_linking_twice_to_the_same_exchange_keeps_the_code(database: Database) -> None:
    w = await world(database)
    await link(database, await make_code(database, w.exchange_id))
    async with database.write() as session:
        made = await groups.make_code(
            session,
            await user(session, COORDINATOR),
            w.exchange_id,
            now=NOW + timedelta(minutes=1),
            tz=AMS,
        )
    again = await link(database, made.code)
    assert isinstance(again, groups.Linked) and again.already
    async with database.read() as session:
        unused = await session.scalar(
            select(Invite.uses).where(Invite.token_hash == invites.hash_token(made.code))
        )
    assert unused == 0
    assert await count(database, AuditEntry) == 1


async def test_removal_unlinks_and_cancels_what_was_waiting(database: Database) -> None:
    w = await world(database)
    await link(database, await make_code(database, w.exchange_id))
    async with database.write() as session:
        assert await groups.removed(session, GROUP, now=NOW)
    assert await count(database, GroupLink) == 0
    assert {status for _, status in await group_rows(database)} == {OUTBOX_CANCELLED}
    assert (await log(database))[-1] == (
        w.exchange_id,
        audit.GROUP_UNLINKED,
        {"title": "Groep 8 en 7/8", "why": groups.REMOVED},
    )
    # Removed again (or never linked): nothing to do.
    async with database.write() as session:
        assert not await groups.removed(session, GROUP, now=NOW)
    # A later replan of the exchange plans nothing for the group any more.
    async with database.write() as session:
        await outbox.replan_exchange(session, w.exchange_id, PROGRAMMES, RULES, now=NOW)
    assert {status for _, status in await group_rows(database)} == {OUTBOX_CANCELLED}


async def test_a_403_for_a_group_unlinks_it_instead_of_blocking(database: Database) -> None:
    w = await world(database)
    await link(database, await make_code(database, w.exchange_id))
    async with database.read() as session:
        first = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.user_id == GROUP).limit(1)
        )
    assert first is not None
    async with database.write() as session:
        await outbox.mark_user_blocked(session, GROUP, first, now=NOW)
    async with database.read() as session:
        row = await session.get(OutboxMessage, first)
        group = await session.get(User, GROUP)
        notices = await session.scalar(
            select(OutboxMessage.id)
            .where(OutboxMessage.kind.in_((USER_BLOCKED, UNDELIVERED)))
            .limit(1)
        )
    assert row is not None and (row.status, row.last_error) == (
        OUTBOX_BLOCKED,
        groups.REMOVED_ERROR,
    )
    assert group is not None and group.blocked_at is None  # not a person who blocked the bot
    assert await count(database, GroupLink) == 0
    assert notices is None  # nobody is told a "blocked the bot" story
    assert (await log(database))[-1][2]["why"] == groups.REMOVED


async def test_unlink_by_command_needs_the_right(database: Database) -> None:
    w = await world(database)
    await link(database, await make_code(database, w.exchange_id))
    async with database.write() as session:
        with pytest.raises(groups.LinkError):
            await groups.unlink_by_command(session, await user(session, BEGELEIDER), GROUP, now=NOW)
    async with database.write() as session:
        exchange = await groups.unlink_by_command(
            session, await user(session, TEACHER_A), GROUP, now=NOW
        )
        assert exchange.id == w.exchange_id
    async with database.write() as session:
        with pytest.raises(LookupError):
            await groups.unlink_by_command(session, await user(session, TEACHER_A), GROUP, now=NOW)
    assert [(a, d["why"]) for _, a, d in await log(database) if a == audit.GROUP_UNLINKED] == [
        (audit.GROUP_UNLINKED, groups.COMMAND)
    ]


async def test_an_incident_gives_the_group_one_notice_without_details(database: Database) -> None:
    w = await world(database)
    await link(database, await make_code(database, w.exchange_id))
    async with database.write() as session:
        exchange = await exchanges.load_exchange(session, w.exchange_id)
        assert exchange is not None
        incident = await incidents.report(
            session,
            exchange,
            reported_by=BEGELEIDER,
            category="conflict",
            severity="high",
            team_number=3,
            description="Ruzie bij de speurtocht",
            photo_file_id=None,
            now=NOW,
            ack_window=ACK_WINDOW,
        )
        incident_id = incident.id
    async with database.read() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.user_id == GROUP, OutboxMessage.kind == GROUP_INCIDENT
                )
            )
        )
        exchange = await exchanges.load_exchange(session, w.exchange_id)
        assert exchange is not None
        notice = await groups.incident_notice(session, exchange, GROUP, rows[0].payload)
    assert [(r.payload, r.urgent) for r in rows] == [({"incident": incident_id}, False)]
    assert notice is not None
    assert (notice.category, notice.teachers_told) == ("conflict", True)
    # Unlinked before it went out: nothing is written for the group.
    async with database.write() as session:
        await groups.removed(session, GROUP, now=NOW)
    async with database.read() as session:
        assert await groups.incident_notice(session, exchange, GROUP, rows[0].payload) is None
