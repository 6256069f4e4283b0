"""/help asks the database once: the command's first look finds the user, their roles and their
chat's conversation, and the handler answers from that. What it found serves its own update
only: roles taken away or given show at the very next command, a new user is written once,
and "last seen" is kept as before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, event, select, update

from bot.services.users import SEEN_PRECISION
from db.models import CoordinatorChange, Membership, User
from db.session import Database
from fake_telegram import FakeUser
from tests.fixtures import COORDINATOR_ID
from tests.flows import JoinedExchange, joined_exchange, only
from tests.harness import Harness

KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE")


class Statements:
    """The SELECTs and writes run through one Database (not BEGIN, COMMIT, ROLLBACK)."""

    def __init__(self, database: Database) -> None:
        self.seen: list[str] = []
        event.listen(database.engine.sync_engine, "before_cursor_execute", self._statement)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        kind = statement.lstrip().split(None, 1)[0].upper()
        if kind in KINDS:
            self.seen.append(kind)

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


async def _help(h: Harness, user: FakeUser) -> str:
    text = only(await h.send(user, "/help")).text
    assert text is not None
    return text


async def test_help_of_a_known_user_is_one_query(harness: Harness) -> None:
    h = harness
    members = await joined_exchange(h)
    assert h.db is not None
    statements = Statements(h.db)
    text = await _help(h, members.teacher_a)
    assert "/klas" in text and "/nieuw" not in text
    assert statements.take() == ["SELECT"]


async def test_a_new_user_is_written_once_and_read_once(harness: Harness) -> None:
    h = harness
    assert h.db is not None
    statements = Statements(h.db)
    stranger = h.user(4001, "Sam", username="sam")
    text = await _help(h, stranger)
    assert "/start" in text and "/klas" not in text and "/nieuw" not in text
    assert statements.take() == ["SELECT", "INSERT"]
    async with h.db.read() as session:
        user = await session.get(User, stranger.id)
        assert user is not None
        assert (user.display_name, user.username, user.language) == ("Sam", "sam", "nl")
        assert not user.is_coordinator and user.last_seen_at == h.clock.now()
    statements.take()
    # Known now: the next /help reads once and writes nothing.
    assert await _help(h, stranger) == text
    assert statements.take() == ["SELECT"]


async def test_a_new_coordinator_from_the_settings_is_one(harness: Harness) -> None:
    h = harness
    assert h.db is not None
    text = await _help(h, h.user(COORDINATOR_ID, "Carla"))
    assert "/nieuw" in text
    async with h.db.read() as session:
        granted = await session.scalars(
            select(CoordinatorChange.granted).where(CoordinatorChange.user_id == COORDINATOR_ID)
        )
        assert list(granted) == [True]


async def test_roles_taken_away_or_given_show_at_the_next_command(harness: Harness) -> None:
    h = harness
    members: JoinedExchange = await joined_exchange(h)
    assert h.db is not None
    teacher = members.teacher_a
    assert "/klas" in await _help(h, teacher)
    async with h.db.write() as session:
        await session.execute(delete(Membership).where(Membership.user_id == teacher.id))
    text = await _help(h, teacher)
    assert "/klas" not in text and "/nieuw" not in text
    async with h.db.write() as session:
        await session.execute(
            update(User)
            .where(User.id == teacher.id)
            .values(is_coordinator=True, coordinator_source="command")
        )
    assert "/nieuw" in await _help(h, teacher)
    async with h.db.write() as session:
        await session.execute(
            update(User)
            .where(User.id == teacher.id)
            .values(is_coordinator=False, coordinator_source=None)
        )
    assert "/nieuw" not in await _help(h, teacher)


async def test_last_seen_is_brought_up_to_date_and_the_roles_kept(harness: Harness) -> None:
    h = harness
    members = await joined_exchange(h)
    assert h.db is not None
    statements = Statements(h.db)
    h.clock.set(h.clock.now() + SEEN_PRECISION + timedelta(minutes=1))
    text = await _help(h, members.begeleider)
    assert "/checkin" in text and "/klas" not in text
    assert statements.take() == ["SELECT", "SELECT", "UPDATE"]
    async with h.db.read() as session:
        seen = await session.scalar(
            select(User.last_seen_at).where(User.id == members.begeleider.id)
        )
    assert seen == h.clock.now()


async def test_each_user_gets_their_own_help(harness: Harness) -> None:
    h = harness
    members = await joined_exchange(h)
    coordinator, begeleider = members.coordinator, members.begeleider
    for _ in range(2):
        assert "/nieuw" in await _help(h, coordinator)
        text = await _help(h, begeleider)
        assert "/checkin" in text and "/nieuw" not in text
