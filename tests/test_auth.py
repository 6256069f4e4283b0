"""The one authorization place against a real database: own, another or no exchange."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.domain.exchange_input import ExchangeInput, SideInput
from bot.domain.permissions import Action
from bot.domain.programme import load_programmes
from bot.services import auth, exchanges
from db.models import ROLE_BEGELEIDER, ROLE_TEACHER, STATUS_ARCHIVED, Membership, User
from db.session import Database
from tests.fixtures import START

# Who, for each action: (coordinator, teacher of this exchange, begeleider of this exchange,
# teacher of another exchange, someone in no exchange at all).
EXPECTED = {
    Action.VIEW_EXCHANGE: (True, True, True, False, False),
    Action.TICK_CHECKLIST: (False, True, True, False, False),
    Action.PROPOSE_DATE: (False, True, False, False, False),
    Action.SET_DATE: (True, False, False, False, False),
    Action.FIELD_WORK: (True, True, True, False, False),
    Action.HANDLE_INCIDENT: (True, True, False, False, False),
    Action.INVITE: (True, False, False, False, False),
    Action.ARCHIVE: (True, False, False, False, False),
}
PEOPLE = ("coordinator", "teacher", "begeleider", "foreign_teacher", "stranger")


def _exchange_input(school_a: str, school_b: str) -> ExchangeInput:
    return ExchangeInput(
        programme_key="standaard",
        city="Amsterdam",
        start_date=date(2027, 2, 1),
        sides=[
            SideInput(school_a, None, "groep 8", 24),
            SideInput(school_b, None, "groep 8", 22),
        ],
        region="noord",
    )


async def _setup(database: Database) -> tuple[int, dict[str, User]]:
    programme = load_programmes()["standaard"]
    async with database.write() as session:
        people = {
            name: User(
                id=100 + number,
                display_name=name,
                language="nl",
                is_coordinator=name == "coordinator",
                active=True,
                created_at=START,
                last_seen_at=START,
                bad_invite_count=0,
            )
            for number, name in enumerate(PEOPLE)
        }
        session.add_all(people.values())
        await session.flush()
        ours = await exchanges.create_exchange(
            session,
            _exchange_input("De Avonturijn", "De Odyssee"),
            programme,
            created_by=100,
            now=START,
        )
        theirs = await exchanges.create_exchange(
            session, _exchange_input("De Klimop", "Het Anker"), programme, created_by=100, now=START
        )
        session.add_all(
            [
                Membership(
                    user_id=people["teacher"].id,
                    exchange_id=ours.id,
                    role=ROLE_TEACHER,
                    side="A",
                    joined_at=START,
                ),
                Membership(
                    user_id=people["begeleider"].id,
                    exchange_id=ours.id,
                    role=ROLE_BEGELEIDER,
                    side=None,
                    joined_at=START,
                ),
                Membership(
                    user_id=people["foreign_teacher"].id,
                    exchange_id=theirs.id,
                    role=ROLE_TEACHER,
                    side="A",
                    joined_at=START,
                ),
            ]
        )
        return ours.id, people


@pytest.mark.parametrize("action", list(EXPECTED))
async def test_each_person_may_do_what_the_table_says(database: Database, action: Action) -> None:
    exchange_id, people = await _setup(database)
    async with database.read() as session:
        allowed = tuple(
            [await auth.may(session, people[name], action, exchange_id) for name in PEOPLE]
        )
    assert allowed == EXPECTED[action]


async def test_an_archived_exchange_refuses_every_change_and_a_missing_one_says_nothing(
    database: Database,
) -> None:
    exchange_id, people = await _setup(database)
    async with database.write() as session:
        exchange = await exchanges.load_exchange(session, exchange_id)
        assert exchange is not None
        exchange.status = STATUS_ARCHIVED
    async with database.write() as session:
        with pytest.raises(auth.Archived):
            await auth.require_exchange(
                session, people["coordinator"], Action.SET_DATE, exchange_id
            )
        with pytest.raises(auth.Archived):
            await auth.require_exchange(
                session, people["teacher"], Action.TICK_CHECKLIST, exchange_id
            )
        # A coordinator still sees it; its members and strangers do not.
        await auth.require_exchange(
            session, people["coordinator"], Action.VIEW_EXCHANGE, exchange_id
        )
        for name in ("teacher", "stranger"):
            with pytest.raises(auth.NotAllowed) as refused:
                await auth.require_exchange(
                    session, people[name], Action.VIEW_EXCHANGE, exchange_id
                )
            assert type(refused.value) is auth.NotAllowed
        # An id that does not exist is refused like somebody else's exchange.
        with pytest.raises(auth.NotAllowed) as missing:
            await auth.require_exchange(session, people["teacher"], Action.VIEW_EXCHANGE, 99_999)
        assert type(missing.value) is auth.NotAllowed


def test_only_the_authorization_place_reads_the_permission_table() -> None:
    """Handlers and other services ask bot/services/auth.py; none consults the table itself."""
    root = Path(__file__).resolve().parents[1] / "bot"
    readers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "is_allowed(" in path.read_text(encoding="utf-8")
    )
    assert readers == ["domain/permissions.py", "services/auth.py"]
