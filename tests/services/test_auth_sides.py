"""Rights that depend on the class: a teacher changes their own class, answers the other's."""

from __future__ import annotations

import pytest

from bot.domain.permissions import Action
from bot.services import auth, exchanges
from db.models import ExchangeSide
from db.session import Database
from tests.services.world import (
    BEGELEIDER,
    COORDINATOR,
    NOW,
    STRANGER,
    TEACHER_A,
    TEACHER_B,
    user,
    world,
)


async def _size(database: Database, exchange_id: int, side: str) -> int:
    async with database.read() as session:
        exchange = await exchanges.load_exchange(session, exchange_id)
        assert exchange is not None
        return exchanges.side_of(exchange, side).class_size


@pytest.mark.parametrize(
    ("who", "side", "allowed"),
    [
        (TEACHER_A, "A", True),
        (TEACHER_A, "B", False),
        (TEACHER_B, "B", True),
        (COORDINATOR, "A", True),
        (COORDINATOR, "B", True),
        (BEGELEIDER, "A", False),
        (STRANGER, "A", False),
    ],
)
async def test_a_class_size_is_changed_by_its_own_teacher_or_a_coordinator(
    database: Database, who: int, side: str, allowed: bool
) -> None:
    w = await world(database)
    before = await _size(database, w.exchange_id, side)
    async with database.write() as session:
        person = await user(session, who)
        if allowed:
            row = await exchanges.set_class_size(
                session, person, w.exchange_id, side, before + 3, now=NOW
            )
            assert isinstance(row, ExchangeSide)
        else:
            with pytest.raises(auth.NotAllowed):
                await exchanges.set_class_size(
                    session, person, w.exchange_id, side, before + 3, now=NOW
                )
    assert await _size(database, w.exchange_id, side) == (before + 3 if allowed else before)


async def test_only_the_other_class_answers_a_proposal(database: Database) -> None:
    w = await world(database)
    async with database.write() as session:
        a, b = await user(session, TEACHER_A), await user(session, TEACHER_B)
        assert await auth.teaching_side(session, TEACHER_A, w.exchange_id) == "A"
        assert await auth.teaching_side(session, BEGELEIDER, w.exchange_id) is None
        await auth.require_side(session, b, Action.PROPOSE_DATE, w.exchange_id, "A", own=False)
        with pytest.raises(auth.NotAllowed):
            await auth.require_side(session, a, Action.PROPOSE_DATE, w.exchange_id, "A", own=False)
