"""The audit log: every change to a pair's plan or people leaves an entry, and coordinators
read them per pair, newest first, fifteen at a time."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from bot.services import audit
from db.models import AuditEntry
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import said
from tests.flows import joined_exchange, only
from tests.harness import Harness

TITLE = "De Avonturijn – De Odyssee"


async def _actions(h: Harness) -> Counter[str]:
    assert h.db is not None
    async with h.db.read() as session:
        return Counter(await session.scalars(select(AuditEntry.action)))


async def _log(h: Harness, coordinator: FakeUser) -> BotMessage:
    menu = only(await h.send(coordinator, "/beheer"))
    return only(await h.press(coordinator, menu, said("manage.btn_log")))


async def test_each_kind_of_change_leaves_an_entry(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)  # created, three links made, three people joined
    c = p.coordinator
    # /wijzig: another name for school A.
    menu = only(await h.send(c, "/wijzig"))
    question = only(await h.press(c, menu, said("new_exchange.field_school", side="A")))
    assert question.text
    _, menu = await h.send(c, "De Avonturijn Oost")
    await h.press(c, menu, said("edit_exchange.btn_done"))
    # /klas: the size of a class.
    await h.send(c, f"/klas {p.exchange_id} B 23")
    # /school: a teacher fills in their school's address.
    view = (await h.send(p.teacher_b, "/school"))[-1]
    await h.press(p.teacher_b, view, said("schools.btn_address"))
    await h.send(p.teacher_b, "Javaplein 2")
    # /datum: the coordinator moves day 1; the teachers agree on the closing.
    question = only(await h.send(c, "/datum"))
    days = only(await h.press(c, question, "Uitwisselingsdag 1"))
    only(await h.press(c, days, "donderdag 11 februari"))
    await h.send(c, "09:00")
    question = only(await h.send(p.teacher_a, "/datum"))
    days = only(await h.press(p.teacher_a, question, "Afsluiting"))
    only(await h.press(p.teacher_a, days, "donderdag 25 februari"))
    await h.send(p.teacher_a, "13:00")
    await h.dispatch()
    proposal = h.tg.last_message(p.teacher_b.id)
    assert proposal is not None
    await h.press(p.teacher_b, proposal, said("date_agreement.btn_accept"))
    # /beheer: a begeleider planned out of a day, links revoked, a member taken out.
    manage = only(await h.send(c, "/beheer"))
    days_view = only(await h.press(c, manage, said("manage.btn_days")))
    day = only(await h.press(c, days_view, days_view.button_texts[0]))
    await h.press(c, day, "✅ Ghislaine")
    links = only(await h.press(c, manage, said("manage.btn_invites")))
    await h.press(c, links, links.button_texts[1])
    listed = only(await h.press(c, manage, said("manage.btn_members")))
    confirm = only(await h.press(c, listed, "✖️ Ghislaine (begeleider)"))
    await h.press(c, confirm, said("manage.btn_remove_yes"))

    found = await _actions(h)
    assert found == {
        audit.EXCHANGE_CREATED: 1,
        audit.INVITE_MADE: 3,
        audit.MEMBER_JOINED: 3,
        audit.EXCHANGE_EDITED: 1,
        audit.CLASS_SIZE: 1,
        audit.SCHOOL_ADDRESS: 1,
        audit.DATE_SET: 1,
        audit.DATE_AGREED: 1,
        audit.BEGELEIDER_DAYS: 1,
        audit.INVITE_REVOKED: 3,
        audit.MEMBER_REMOVED: 1,
    }

    # The log, newest first, with who did it and as what.
    first = await _log(h, c)
    lines = first.text.splitlines()
    assert lines[0] == "📜 Logboek · #1 De Avonturijn Oost – De Odyssee"
    assert lines[1] == (
        "ma 11 jan 09:00 · Carla (coördinator): Ghislaine (begeleider) uit het koppel gehaald"
    )
    assert (
        "ma 11 jan 09:00 · Carla (coördinator): Uitwisselingsdag 1 verzet naar donderdag "
        "11 februari, 09:00 (was woensdag 10 februari)"
    ) in lines
    assert (
        "ma 11 jan 09:00 · Bas (leerkracht van De Odyssee): Afsluiting afgesproken door de "
        "leerkrachten: donderdag 25 februari, 13:00"
    ) in lines
    assert (
        "ma 11 jan 09:00 · Bas (leerkracht van De Odyssee): Adres van De Odyssee: Javaplein 2"
    ) in lines
    assert "Carla (coördinator): Aantal leerlingen van De Odyssee: 22 → 23" in first.text
    assert "Naam van school A gewijzigd: De Avonturijn → De Avonturijn Oost" in first.text
    assert "Ghislaine ingepland voor: Uitwisselingsdag 2, Afsluiting" in first.text
    assert len(lines) == 1 + 15
    assert first.button_texts == [said("audit.btn_older")]

    older = only(await h.press(c, first, said("audit.btn_older")))
    rest = older.text.splitlines()
    assert rest[0].startswith("📜 Logboek, eerder")
    assert len(rest) == 1 + sum(found.values()) - 15
    assert (
        rest[-1]
        == "ma 11 jan 09:00 · Carla (coördinator): Koppel aangemaakt, start maandag 1 februari"
    )
    assert "Carla (coördinator): Nieuwe uitnodigingslink voor leerkracht van" in older.text
    assert "Anouk (leerkracht van De Avonturijn Oost): Anouk doet mee als leerkracht" in first.text
    assert older.button_texts == []

    # Archiving is the last entry; the log stays readable afterwards.
    menu = only(await h.send(c, "/beheer"))
    asked = only(await h.press(c, menu, said("manage.btn_archive")))
    await h.press(c, asked, said("archive.btn_confirm"))
    mark = h.tg.last_message_id(c.id)
    data = f"lg:{p.exchange_id}"
    archived_log = only(await h.press_data(c, mark, data, force=True))
    assert archived_log.text.splitlines()[1].endswith("Koppel gearchiveerd")


async def test_only_coordinators_read_the_log(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    mark = h.tg.last_message_id(p.teacher_a.id)
    assert await h.press_data(p.teacher_a, mark, f"lg:{p.exchange_id}", force=True) == []
    assert h.tg.callback_answers[-1]["text"] == said("auth.not_allowed")


async def test_the_log_shows_every_kind_of_entry_and_later_times(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    assert h.db is not None
    later = h.clock.now() + timedelta(days=29, hours=5, minutes=5)  # Tuesday 9 February, 14:05
    async with h.db.write() as session:
        audit.record(
            session,
            exchange_id=p.exchange_id,
            user_id=None,
            action=audit.GROUP_LINKED,
            now=later,
            details={"title": "Groep 8 Avonturijn"},
        )
        audit.record(
            session,
            exchange_id=p.exchange_id,
            user_id=None,
            action=audit.GROUP_UNLINKED,
            now=later,
            details={"title": "Groep 8 Avonturijn", "why": "removed"},
        )
        audit.record(
            session,
            exchange_id=p.exchange_id,
            user_id=p.coordinator.id,
            action=audit.BEGELEIDER_DAYS,
            now=later,
            details={"name": "Ghislaine", "days": None},
        )
    log = await _log(h, p.coordinator)
    lines = log.text.splitlines()
    assert lines[1] == "di 9 feb 14:05 · Carla (coördinator): Ghislaine ingepland voor alle dagen"
    assert lines[2] == (
        "di 9 feb 14:05 · automatisch: Telegramgroep Groep 8 Avonturijn losgekoppeld "
        "(de bot is uit de groep gehaald)"
    )
    assert lines[3] == "di 9 feb 14:05 · automatisch: Telegramgroep Groep 8 Avonturijn gekoppeld"
    # In English too.
    await h.send(p.coordinator, "/taal")
    lang = h.tg.last_message(p.coordinator.id)
    assert lang is not None
    await h.press(p.coordinator, lang, "English")
    menu = only(await h.send(p.coordinator, "/manage"))
    english = only(await h.press(p.coordinator, menu, said("manage.btn_log", "en")))
    assert "Tue 9 Feb 14:05 · Carla (coordinator): Ghislaine planned for every day" in english.text
    assert TITLE in english.text
