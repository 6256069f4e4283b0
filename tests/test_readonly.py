"""Read-only is read-only: a command that changes nothing opens no write transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.users import SEEN_PRECISION
from db.models import User
from db.session import Database
from tests.fixtures import AMS, said
from tests.flows import JoinedExchange, joined_exchange
from tests.harness import Harness

READ_ONLY = ["/help", "/programma", "/vandaag", "/incidenten", "/agenda", "/berichten"]
WRITES = ("INSERT", "UPDATE", "DELETE")
DAY_1 = datetime(2027, 2, 10, 8, 20, tzinfo=AMS)  # exchange day 1 of `joined_exchange`


class Writes:
    """Counts the write transactions opened and the rows written through one Database."""

    def __init__(self, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.transactions = 0
        self.statements: list[str] = []
        opened = database.write

        @asynccontextmanager
        async def write() -> AsyncIterator[AsyncSession]:
            self.transactions += 1
            async with opened() as session:
                yield session

        monkeypatch.setattr(database, "write", write)
        event.listen(database.engine.sync_engine, "before_cursor_execute", self._statement)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in WRITES:
            self.statements.append(statement)

    def reset(self) -> None:
        self.transactions = 0
        self.statements.clear()

    @property
    def none(self) -> bool:
        return self.transactions == 0 and not self.statements


@pytest.fixture
async def known(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> tuple[JoinedExchange, Writes]:
    """An exchange whose members have all written to the bot, and a counter of what is written."""
    members = await joined_exchange(harness)
    assert harness.db is not None
    return members, Writes(harness.db, monkeypatch)


async def _name_of(h: Harness, user_id: int) -> str | None:
    assert h.db is not None
    async with h.db.read() as session:
        return await session.scalar(select(User.display_name).where(User.id == user_id))


async def test_read_only_commands_write_nothing(
    harness: Harness, known: tuple[JoinedExchange, Writes]
) -> None:
    h = harness
    members, writes = known
    for user in (members.coordinator, members.teacher_a, members.begeleider):
        for command in [*READ_ONLY, "/bestaatniet", "hallo"]:
            answers = await h.send(user, command)
            assert answers, command
            assert writes.none, (user.first_name, command, writes.transactions, writes.statements)


async def test_greeting_and_asking_write_nothing(
    harness: Harness, known: tuple[JoinedExchange, Writes]
) -> None:
    h = harness
    members, writes = known
    # /start without a token greets; /archiveren only asks (its button archives); /taal
    # without a choice offers the languages; /klas without numbers shows the sizes.
    for command in ["/start", f"/archiveren {members.exchange_id}", "/taal", "/klas"]:
        assert await h.send(members.coordinator, command), command
        assert writes.none, (command, writes.transactions, writes.statements)


async def test_last_seen_is_kept_once_an_hour(
    harness: Harness, known: tuple[JoinedExchange, Writes]
) -> None:
    h = harness
    members, writes = known
    h.clock.set(h.clock.now() + SEEN_PRECISION + timedelta(minutes=1))
    await h.send(members.teacher_a, "/help")
    assert writes.transactions == 1
    assert any(s.lstrip().upper().startswith("UPDATE USERS") for s in writes.statements)
    writes.reset()
    await h.send(members.teacher_a, "/help")
    assert writes.none


async def test_a_new_name_is_written(
    harness: Harness, known: tuple[JoinedExchange, Writes]
) -> None:
    h = harness
    members, writes = known
    renamed = h.user(members.teacher_a.id, "Anouk", last_name="de Vries")
    await h.send(renamed, "/vandaag")
    assert writes.transactions == 1
    assert await _name_of(h, renamed.id) == "Anouk de Vries"
    writes.reset()
    await h.send(renamed, "/vandaag")
    assert writes.none


async def test_a_first_message_writes_the_user(
    harness: Harness, known: tuple[JoinedExchange, Writes]
) -> None:
    h = harness
    _members, writes = known
    stranger = h.user(4001, "Sam")
    await h.send(stranger, "hallo")
    assert writes.transactions == 1
    assert await _name_of(h, stranger.id) == "Sam"
    writes.reset()
    await h.send(stranger, "/help")
    assert writes.none


async def test_a_change_keeps_its_one_write(
    harness: Harness, known: tuple[JoinedExchange, Writes]
) -> None:
    h = harness
    members, writes = known
    await h.send(members.teacher_a, "/taal en")
    assert writes.transactions == 1
    assert any("language" in s for s in writes.statements)


async def test_a_lapsed_report_is_ended_in_one_write(
    harness: Harness, known: tuple[JoinedExchange, Writes]
) -> None:
    h = harness
    members, writes = known
    await h.run_until(DAY_1)
    assert "Schade" in (await h.send(members.begeleider, "/incident"))[-1].button_texts
    h.clock.set(h.clock.now() + timedelta(minutes=31))
    writes.reset()
    lapsed = await h.send(members.begeleider, "Er is iets gebeurd")
    assert "duurde te lang" in lapsed[-1].text
    assert writes.transactions == 1
    assert any(s.lstrip().upper().startswith("DELETE FROM DIALOGS") for s in writes.statements)
    writes.reset()
    again = await h.send(members.begeleider, "Er is iets gebeurd")
    assert "duurde te lang" not in again[-1].text
    assert writes.none


async def test_cancelling_nothing_writes_nothing(
    harness: Harness, known: tuple[JoinedExchange, Writes]
) -> None:
    h = harness
    members, writes = known
    reply = await h.send(members.coordinator, "/annuleren")
    assert reply[-1].text == said("common.nothing_to_cancel")
    assert writes.none, (writes.transactions, writes.statements)
    # With a conversation to stop, one write stops it.
    await h.send(members.coordinator, "/nieuw")
    writes.reset()
    assert (await h.send(members.coordinator, "/annuleren"))[-1].text == said("common.cancelled")
    assert writes.transactions == 1


FIELD_COMMANDS = ["/incident", "/aanwezig", "/aanwezig 24 22", "/checkin", "/checkout"]


async def test_field_commands_on_another_day_write_nothing(
    harness: Harness, known: tuple[JoinedExchange, Writes]
) -> None:
    h = harness
    members, writes = known
    # The exchange's first exchange day is weeks away: each command only says so.
    for command in FIELD_COMMANDS:
        assert await h.send(members.begeleider, command), command
        assert writes.none, (command, writes.transactions, writes.statements)


async def test_field_commands_on_the_day_write_once(
    harness: Harness, known: tuple[JoinedExchange, Writes]
) -> None:
    h = harness
    members, writes = known
    await h.run_until(DAY_1)
    await h.send(members.begeleider, "/help")  # "last seen" is brought up to date first
    # Before checking in there is nothing to check out: that only reads.
    writes.reset()
    assert await h.send(members.begeleider, "/checkout")
    assert writes.none, (writes.transactions, writes.statements)
    for command in ["/checkin", "/checkout", "/incident", "/aanwezig"]:
        writes.reset()
        assert await h.send(members.begeleider, command), command
        assert writes.transactions == 1, (command, writes.transactions)
