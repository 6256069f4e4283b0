"""The demo a sandbox starts with: its people, its pairs, and what they see of them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.sandbox.runtime import Sandbox
from db.models import Exchange
from tests.fixtures import said, said_any
from tests.sandbox.support import persona, running_sandbox, said_to

pytestmark = pytest.mark.asyncio(loop_scope="module")

PEOPLE = [
    ("Sanne", "coordinator"),
    ("Juf Anna", "teacher"),
    ("Meester Bram", "teacher"),
    ("Juf Carmen", "teacher"),
    ("Meester Driss", "teacher"),
    ("Eva", "begeleider"),
    ("Fatima", "begeleider"),
]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    async with running_sandbox(tmp_path_factory.mktemp("demo")) as running:
        yield running


async def test_the_demo_has_its_people_coordinator_first(sandbox: Sandbox) -> None:
    people = sandbox.personas()
    assert [(p.name, p.role) for p in people] == PEOPLE
    assert all(p.description and p.language_code == "nl" for p in people)
    assert persona(sandbox, "Juf Anna").description == said(
        "sandbox.demo.teacher", class_name="groep 8", school="De Regenboog", city="Utrecht"
    )
    assert "De Vlinder – Al Amal" in persona(sandbox, "Eva").description
    assert sandbox.clock.is_real


async def test_everyone_gets_an_answer_to_start_and_help(sandbox: Sandbox) -> None:
    for person in sandbox.personas():
        greeting = await said_to(sandbox, person, "/start")
        key = "start.coordinator" if person.role == "coordinator" else "start.member"
        assert any(said_any(key).search(m.text or "") for m in greeting), person.name
        help_text = await said_to(sandbox, person, "/help")
        assert any("/help" in (m.text or "") for m in help_text), person.name


async def test_the_coordinator_overview_shows_both_pairs(sandbox: Sandbox) -> None:
    replies = await said_to(sandbox, persona(sandbox, "Sanne"), "/overzicht")
    text = "\n".join(m.text or "" for m in replies)
    assert "De Regenboog – Het Kompas" in text
    assert "De Vlinder – Al Amal" in text


async def test_the_running_pair_has_its_history(sandbox: Sandbox) -> None:
    carmen = sandbox.tg.messages(persona(sandbox, "Juf Carmen").id)
    texts = [m.text or "" for m in carmen]
    assert any(said_any("join.welcome_teacher").search(t) for t in texts)
    assert any(said_any("digest.title").search(t) for t in texts)
    # Every dated message carries the time it was due, none "sent later than planned".
    late = said("digest.late")
    for person in sandbox.personas():
        assert not any(late in (m.text or "") for m in sandbox.tg.messages(person.id))
    sanne = [m.text or "" for m in sandbox.tg.messages(persona(sandbox, "Sanne").id)]
    assert sum(said_any("invites.links").search(t) is not None for t in sanne) == 2


async def test_the_coming_pair_waits_for_dates_and_a_begeleider(sandbox: Sandbox) -> None:
    anna = [m.text or "" for m in sandbox.tg.messages(persona(sandbox, "Juf Anna").id)]
    assert any(said_any("join.welcome_teacher").search(t) for t in anna)
    assert any(said("join.agree_ask") in t for t in anna)
    assert persona(sandbox, "Eva").description.endswith("(Utrecht)")
    assert "De Regenboog" not in persona(sandbox, "Eva").description
    assert sandbox.next_exchange_day() is not None
    assert sandbox.context is not None
    async with sandbox.context.db.read() as session:
        pairs = await session.scalar(select(func.count()).select_from(Exchange))
    assert pairs == 2


async def test_a_new_persona_joins_with_an_invite_link(sandbox: Sandbox) -> None:
    sanne = persona(sandbox, "Sanne")
    links = await said_to(sandbox, sanne, "/uitnodigen 2")
    token = links[-1].text.split("?start=")[1].split()[0] if links[-1].text else ""
    newcomer = await sandbox.add_persona("  Juf  Iris ")
    assert (newcomer.name, newcomer.role) == ("Juf Iris", "new")
    assert newcomer.id >= 9100
    welcome = await said_to(sandbox, newcomer, f"/start {token}")
    assert any(said_any("join.welcome_teacher").search(m.text or "") for m in welcome)
    assert persona(sandbox, "Juf Iris").role == "teacher"
