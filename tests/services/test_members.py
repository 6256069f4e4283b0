"""Managing a pair on a real database: begeleiders per day, adding one from another pair,
taking members out, revoking open links, and the log's pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.domain.permissions import Role
from bot.services import audit, auth, members, outbox
from db.models import (
    OUTBOX_CANCELLED,
    OUTBOX_PENDING,
    ROLE_BEGELEIDER,
    AuditEntry,
    Membership,
    OutboxMessage,
)
from db.session import Database
from tests.services.world import (
    BEGELEIDER,
    COORDINATOR,
    NOW,
    PROGRAMMES,
    RULES,
    STANDARD,
    TEACHER_A,
    TEACHER_B,
    add_exchange,
    add_user,
    count,
    join,
    user,
    world,
)

KEYS = {"programmes": PROGRAMMES, "rules": RULES, "now": NOW}


async def _membership(database: Database, user_id: int, exchange_id: int) -> Membership:
    async with database.read() as session:
        found = await session.scalar(
            select(Membership).where(
                Membership.user_id == user_id, Membership.exchange_id == exchange_id
            )
        )
        assert found is not None
        return found


async def _pending(database: Database, user_id: int, kind: str) -> list[OutboxMessage]:
    async with database.read() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.user_id == user_id,
                OutboxMessage.kind == kind,
                OutboxMessage.status == OUTBOX_PENDING,
            )
        )
        return list(rows)


async def test_day_plans_follow_the_stored_days(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        await outbox.replan_exchange(session, w.exchange_id, PROGRAMMES, RULES, now=NOW)
    ghislaine = await _membership(database, BEGELEIDER, w.exchange_id)
    async with database.write() as session:
        carla = await user(session, COORDINATOR)
        result = await members.set_planned(
            session, carla, ghislaine.id, "exchange_day_1", False, **KEYS
        )
        assert result.changed
        again = await members.set_planned(
            session, carla, ghislaine.id, "exchange_day_1", False, **KEYS
        )
        assert not again.changed
    assert (await _membership(database, BEGELEIDER, w.exchange_id)).days == [
        "exchange_day_2",
        "closing",
    ]
    phases = {r.payload["phase"] for r in await _pending(database, BEGELEIDER, "day_schedule")}
    assert phases == {"exchange_day_2", "closing"}
    # The only begeleider is not coming on day 1: no check-in check for it.
    checks = {r.payload["phase"] for r in await _pending(database, COORDINATOR, "checkin_missing")}
    assert "exchange_day_1" not in checks and "exchange_day_2" in checks
    async with database.read() as session:
        exchange = await members.pair(session, await user(session, COORDINATOR), w.exchange_id)
        plans = members.day_plans(exchange, STANDARD)
    assert [(p.phase.key, [u.id for u in p.planned]) for p in plans] == [
        ("exchange_day_1", []),
        ("exchange_day_2", [BEGELEIDER]),
        ("closing", [BEGELEIDER]),
    ]
    assert await count(database, AuditEntry, AuditEntry.action == audit.BEGELEIDER_DAYS) == 1


async def test_only_begeleider_days_and_coordinators(database: Database) -> None:
    w = await world(database)
    ghislaine = await _membership(database, BEGELEIDER, w.exchange_id)
    anouk = await _membership(database, TEACHER_A, w.exchange_id)
    async with database.write() as session:
        carla = await user(session, COORDINATOR)
        with pytest.raises(auth.NotAllowed):  # the orientation week has no begeleiders
            await members.set_planned(session, carla, ghislaine.id, "orientation", False, **KEYS)
        with pytest.raises(auth.NotAllowed):  # a teacher has no days
            await members.set_planned(session, carla, anouk.id, "exchange_day_1", False, **KEYS)
        with pytest.raises(auth.NotAllowed):
            await members.set_planned(
                session,
                await user(session, TEACHER_A),
                ghislaine.id,
                "exchange_day_1",
                False,
                **KEYS,
            )
        with pytest.raises(auth.NotAllowed):
            await members.manageable(session, await user(session, TEACHER_A))


async def test_known_begeleiders_come_from_the_coordinators_other_pairs(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        add_user(session, 1001, "Dirk", coordinator=True)
        add_user(session, 3002, "Piet")
        await session.flush()
        mine = await add_exchange(session, school_a="Het Kompas", school_b="De Klimop")
        dirks = await add_exchange(
            session, school_a="De Regenboog", school_b="De Zon", created_by=1001
        )
        join(session, 3002, dirks.id, ROLE_BEGELEIDER, None)
    async with database.read() as session:
        carla = await user(session, COORDINATOR)
        known = await members.known_begeleiders(session, carla, mine.id)
        assert [(k.user_id, k.name, k.pairs) for k in known] == [(BEGELEIDER, "Ghislaine", 1)]
        # Already in the pair: not offered again.
        assert await members.known_begeleiders(session, carla, w.exchange_id) == []
    async with database.write() as session:
        carla = await user(session, COORDINATOR)
        with pytest.raises(auth.NotAllowed):  # Dirk's begeleider is not Carla's to ask
            await members.add_begeleider(session, carla, mine.id, "closing", 3002, **KEYS)
        added = await members.add_begeleider(session, carla, mine.id, "closing", BEGELEIDER, **KEYS)
        assert added.outcome is members.AddOutcome.ADDED
        assert added.menu is not None and Role.BEGELEIDER in added.menu.roles
        again = await members.add_begeleider(session, carla, mine.id, "closing", BEGELEIDER, **KEYS)
        assert again.outcome is members.AddOutcome.ALREADY
    assert (await _membership(database, BEGELEIDER, mine.id)).days == ["closing"]
    told = await _pending(database, BEGELEIDER, "member_added")
    assert [r.payload for r in told] == [{"phase": "closing"}]
    assert await count(database, AuditEntry, AuditEntry.exchange_id == mine.id) == 2  # joined, days


async def test_removing_a_member(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        await outbox.replan_exchange(session, w.exchange_id, PROGRAMMES, RULES, now=NOW)
    assert await _pending(database, TEACHER_B, "digest")
    bas = await _membership(database, TEACHER_B, w.exchange_id)
    async with database.write() as session:
        carla = await user(session, COORDINATOR)
        with pytest.raises(auth.NotAllowed):
            await members.remove_member(session, await user(session, TEACHER_A), bas.id, **KEYS)
        removal = await members.remove_member(session, carla, bas.id, **KEYS)
        assert removal.outcome is members.RemoveOutcome.REMOVED
        assert (removal.name, removal.role, removal.side, removal.side_empty) == (
            "Bas",
            "teacher",
            "B",
            True,
        )
        assert removal.menu is not None and removal.menu.roles == frozenset()
        again = await members.remove_member(session, carla, bas.id, **KEYS)
        assert again.outcome is members.RemoveOutcome.GONE
    assert await _pending(database, TEACHER_B, "digest") == []
    assert await count(
        database,
        OutboxMessage,
        OutboxMessage.user_id == TEACHER_B,
        OutboxMessage.status == OUTBOX_CANCELLED,
    )
    told = await _pending(database, TEACHER_B, "member_removed")
    assert [r.payload for r in told] == [{"role": "teacher", "side": "B"}]
    assert await count(database, AuditEntry, AuditEntry.action == audit.MEMBER_REMOVED) == 1


async def test_a_coordinator_does_not_remove_themselves(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        join(session, COORDINATOR, w.exchange_id, ROLE_BEGELEIDER, None)
    own = await _membership(database, COORDINATOR, w.exchange_id)
    async with database.write() as session:
        removal = await members.remove_member(
            session, await user(session, COORDINATOR), own.id, **KEYS
        )
    assert removal.outcome is members.RemoveOutcome.SELF
    assert await _membership(database, COORDINATOR, w.exchange_id)


async def test_open_links_are_revoked_once(database: Database) -> None:
    from datetime import timedelta

    from bot.domain.timeline import AMSTERDAM
    from bot.services import exchanges, invites

    w = await world(database)
    async with database.write() as session:
        exchange = await exchanges.load_exchange(session, w.exchange_id)
        assert exchange is not None
        await invites.create_invites(
            session,
            exchange,
            created_by=COORDINATOR,
            now=NOW,
            ttl=timedelta(days=14),
            tz=AMSTERDAM,
            teacher_uses=2,
            begeleider_uses=5,
        )
    async with database.write() as session:
        carla = await user(session, COORDINATOR)
        links = await members.open_invites(session, carla, w.exchange_id, now=NOW, tz=AMSTERDAM)
        assert sorted((i.role, i.side) for i in links) == [
            ("begeleider", None),
            ("teacher", "A"),
            ("teacher", "B"),
        ]
        assert await members.revoke_open_invites(session, carla, w.exchange_id, now=NOW) == 3
        assert await members.revoke_open_invites(session, carla, w.exchange_id, now=NOW) == 0
        assert (
            await members.open_invites(session, carla, w.exchange_id, now=NOW, tz=AMSTERDAM) == []
        )
    assert await count(database, AuditEntry, AuditEntry.action == audit.INVITE_MADE) == 3
    assert await count(database, AuditEntry, AuditEntry.action == audit.INVITE_REVOKED) == 3


async def test_the_log_pages_newest_first(database: Database) -> None:
    from datetime import timedelta

    w = await world(database)
    async with database.write() as session:
        for n in range(20):
            audit.record(
                session,
                exchange_id=w.exchange_id,
                user_id=TEACHER_A if n % 2 else COORDINATOR,
                action=audit.CLASS_SIZE,
                now=NOW + timedelta(minutes=n),
                details={"side": "A", "old": n, "new": n + 1},
            )
    async with database.read() as session:
        carla = await user(session, COORDINATOR)
        first = await members.log(session, carla, w.exchange_id)
        assert [e.details["old"] for e in first.entries] == list(range(19, 4, -1))
        assert (
            first.actors[TEACHER_A].role == "teacher" and first.actors[COORDINATOR].is_coordinator
        )
        assert first.older is not None
        second = await members.log(session, carla, w.exchange_id, before_id=first.older)
        assert [e.details["old"] for e in second.entries] == [4, 3, 2, 1, 0]
        assert second.older is None
        with pytest.raises(auth.NotAllowed):
            await members.log(session, await user(session, TEACHER_B), w.exchange_id)
