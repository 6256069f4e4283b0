"""Planning the coordinators' Monday summaries on a real database: one row per coordinator
per week however many pairs they run, none once every pair is archived, and what goes out
(or why not) when one is due."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select, update

from bot.domain.outbox import COORDINATOR_WEEK, MEMBER_JOINED, MemberPayload
from bot.services import exchanges, outbox, summary
from bot.services.outbox import Claimed
from db.models import (
    OUTBOX_CANCELLED,
    OUTBOX_PENDING,
    OUTBOX_SKIPPED,
    OutboxMessage,
    User,
)
from db.session import Database
from tests.services.world import (
    COORDINATOR,
    NOW,
    PROGRAMMES,
    RULES,
    TEACHER_A,
    add_exchange,
    add_user,
    at,
    user,
    world,
)

# The standard programme from Monday 1 February, made on 12 January: the weeks in which
# people join (from the Monday after it was made), then week 1 to its closing week.
WEEKS = ["2027-01-18", "2027-01-25", "2027-02-01", "2027-02-08", "2027-02-15", "2027-02-22"]


async def replan(database: Database, exchange_id: int) -> None:
    async with database.write() as session:
        await outbox.replan_exchange(session, exchange_id, PROGRAMMES, RULES, now=NOW)


async def summaries(database: Database, status: str = OUTBOX_PENDING) -> list[tuple[int, str]]:
    """(coordinator, week) of the summary rows with this status, in order."""
    async with database.read() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == COORDINATOR_WEEK, OutboxMessage.status == status)
            .order_by(OutboxMessage.user_id, OutboxMessage.due_at)
        )
        return [(r.user_id, r.payload["week"]) for r in rows]


async def test_one_summary_a_week_for_two_pairs_of_the_same_coordinator(
    database: Database,
) -> None:
    first = await world(database)
    await replan(database, first.exchange_id)
    assert await summaries(database) == [(COORDINATOR, week) for week in WEEKS]
    async with database.write() as session:
        second = await add_exchange(
            session, school_a="De Klimop", school_b="Het Anker", start=date(2027, 2, 8)
        )
    await replan(database, second.id)
    # The weeks the two share have one row; the second pair adds the week it runs alone.
    assert await summaries(database) == [(COORDINATOR, week) for week in [*WEEKS, "2027-03-01"]]
    # Planning again changes nothing.
    await replan(database, first.exchange_id)
    await replan(database, second.id)
    assert len(await summaries(database)) == len(WEEKS) + 1
    async with database.read() as session:
        row = await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.dedupe_key == f"coordinator_week:{COORDINATOR}:2027-02-08"
            )
        )
    assert row is not None and row.exchange_id is None
    assert row.due_at == at(date(2027, 2, 8), 9, 0)  # after the teachers' digests at 08:00


async def test_no_summaries_once_every_pair_is_archived(database: Database) -> None:
    first = await world(database)
    async with database.write() as session:
        second = await add_exchange(session, school_a="De Klimop", school_b="Het Anker")
    await replan(database, first.exchange_id)
    await replan(database, second.id)
    for exchange_id in (first.exchange_id, second.id):
        async with database.write() as session:
            coordinator = await user(session, COORDINATOR)
            await exchanges.archive(
                session, coordinator, exchange_id, programmes=PROGRAMMES, rules=RULES, now=NOW
            )
        if exchange_id == first.exchange_id:
            # The other pair still runs: its weeks stay.
            assert await summaries(database) == [(COORDINATOR, week) for week in WEEKS]
    assert await summaries(database) == []
    assert len(await summaries(database, OUTBOX_CANCELLED)) == len(WEEKS)


async def test_a_pair_without_its_coordinator_is_every_coordinators(database: Database) -> None:
    await world(database)
    async with database.write() as session:
        add_user(session, 1001, "Dirk", coordinator=True)
        add_user(session, 4001, "Former")
        await session.flush()
        orphan = await add_exchange(
            session, school_a="De Klimop", school_b="Het Anker", created_by=4001
        )
    await replan(database, orphan.id)
    planned = await summaries(database)
    assert {who for who, _ in planned} == {COORDINATOR, 1001}
    # Someone who is no longer a coordinator gets none: their weeks are cancelled.
    async with database.write() as session:
        dirk = await user(session, 1001)
        dirk.is_coordinator = False
    await replan(database, orphan.id)
    assert {who for who, _ in await summaries(database)} == {COORDINATOR}


async def test_only_future_weeks_are_planned(database: Database) -> None:
    first = await world(database)
    async with database.write() as session:
        await outbox.replan_exchange(
            session, first.exchange_id, PROGRAMMES, RULES, now=at(date(2027, 2, 8), 9, 0)
        )
    assert await summaries(database) == [(COORDINATOR, "2027-02-15"), (COORDINATOR, "2027-02-22")]


def test_a_monday_holiday_moves_the_summary_to_tuesday() -> None:
    easter_monday = date(2027, 3, 29)
    assert summary.due_at(easter_monday) == at(easter_monday + timedelta(days=1), 9, 0)
    assert summary.due_at(date(2027, 3, 22)) == at(date(2027, 3, 22), 9, 0)
    # In summer time too: 09:00 in Amsterdam.
    assert summary.due_at(date(2027, 6, 7)) == at(date(2027, 6, 7), 9, 0)


async def test_notices_are_gathered_only_while_a_summary_is_coming(database: Database) -> None:
    first = await world(database)
    async with database.write() as session:
        coordinator = await user(session, COORDINATOR)
        coordinator.gather_notices = True
    async with database.read() as session:
        # No summary planned yet: a notice would never be read, so it comes at once.
        assert not await summary.gathers(session, COORDINATOR, MEMBER_JOINED, due_at=NOW)
    await replan(database, first.exchange_id)
    async with database.read() as session:
        assert await summary.gathers(session, COORDINATOR, MEMBER_JOINED, due_at=NOW)
        assert await summary.gathers(session, COORDINATOR, "date_agreed", due_at=NOW)
        # Incidents and alarms never wait.
        for kind in ("incident_alert", "incident_repeat", "checkin_missing", "absence_news"):
            assert not await summary.gathers(session, COORDINATOR, kind, due_at=NOW)
        # Only for a coordinator who chose it.
        assert not await summary.gathers(session, TEACHER_A, MEMBER_JOINED, due_at=NOW)
        # A notice whose next summary is more than a week away comes at once.
        assert not await summary.gathers(
            session, COORDINATOR, MEMBER_JOINED, due_at=NOW - timedelta(days=10)
        )


async def _claimed_summary(database: Database, week: str, now: datetime | None = None) -> Claimed:
    """Claim the summary of `week` as the dispatcher does at its due time (or at `now`)."""
    due = now or at(date.fromisoformat(week), 9, 0)
    if now is not None:
        async with database.write() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.dedupe_key == f"coordinator_week:{COORDINATOR}:{week}")
                .values(next_attempt_at=now)
            )
    async with database.write() as session:
        claims = await outbox.claim_due(session, now=due, limit=50, rules=RULES)
    found = [c for c in claims.to_send if c.kind == COORDINATOR_WEEK]
    assert len(found) == 1
    return found[0]


async def test_a_summary_with_nothing_in_it_is_not_sent(database: Database) -> None:
    first = await world(database)
    await replan(database, first.exchange_id)
    # The first week after the pair was made: no days that week, nothing late yet, nobody
    # missing, nothing gathered.
    claimed = await _claimed_summary(database, "2027-01-18")
    async with database.read() as session:
        assert await summary.load(session, claimed, PROGRAMMES) == summary.NOTHING_TO_SAY


async def test_gathered_notices_are_listed_once(database: Database) -> None:
    first = await world(database)
    await replan(database, first.exchange_id)
    async with database.write() as session:
        row = await outbox.enqueue(
            session,
            user_id=COORDINATOR,
            exchange_id=first.exchange_id,
            kind=MEMBER_JOINED,
            dedupe_key="joined:test",
            payload=MemberPayload(user=TEACHER_A, role="teacher", side="A"),
            now=NOW,
        )
        assert row is not None
        row.status = OUTBOX_SKIPPED
        row.last_error = summary.GATHERED
    claimed = await _claimed_summary(database, "2027-02-01")
    async with database.read() as session:
        found = await summary.load(session, claimed, PROGRAMMES)
    assert isinstance(found, summary.Summary)
    assert [(n.kind, n.member, n.side) for n in found.gathered] == [(MEMBER_JOINED, "Anouk", "A")]
    async with database.write() as session:
        await outbox.mark_sent(session, claimed.id, now=at(date(2027, 2, 1), 9, 0), message_id=1)
    claimed = await _claimed_summary(database, "2027-02-08")
    async with database.read() as session:
        found = await summary.load(session, claimed, PROGRAMMES)
    assert not isinstance(found, summary.Summary) or found.gathered == ()


async def test_no_summary_for_who_is_no_longer_a_coordinator(database: Database) -> None:
    first = await world(database)
    await replan(database, first.exchange_id)
    claimed = await _claimed_summary(database, "2027-02-01")
    async with database.write() as session:
        coordinator = await session.get(User, COORDINATOR)
        assert coordinator is not None
        coordinator.is_coordinator = False
    async with database.read() as session:
        assert await summary.load(session, claimed, PROGRAMMES) == summary.NOT_COORDINATOR


async def test_two_pairs_planned_at_the_same_moment_share_their_weeks(database: Database) -> None:
    """Two replans in parallel (two processes, or two teachers joining two pairs at once) add
    each week once, and neither fails on the other's row."""
    import asyncio

    first = await world(database)
    async with database.write() as session:
        second = await add_exchange(session, school_a="De Klimop", school_b="Het Anker")
    other = Database(database.engine.url.render_as_string(hide_password=False))
    try:

        async def plan(db: Database, exchange_id: int) -> None:
            async with db.write() as session:
                await outbox.replan_exchange(session, exchange_id, PROGRAMMES, RULES, now=NOW)

        await asyncio.gather(plan(database, first.exchange_id), plan(other, second.id))
    finally:
        await other.dispose()
    assert await summaries(database) == [(COORDINATOR, week) for week in WEEKS]
