"""/school: a school's address filled in later, and phone numbers shared only by consent;
the day schedule, /vandaag and /programma show both addresses and the shared numbers, and
say to each side of a visit what it does."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from bot.services import exchanges, schools
from db.models import ExchangeSide, School, User
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, said, said_any
from tests.flows import JoinedExchange, create_exchange, joined_exchange
from tests.harness import Harness
from tests.test_readonly import Writes

DAY_1 = datetime(2027, 2, 10, 10, 0, tzinfo=AMS)  # exchange day 1, at De Avonturijn (A)


async def _address(h: Harness, exchange_id: int, side: str) -> str | None:
    assert h.db is not None
    async with h.db.read() as session:
        found: str | None = await session.scalar(
            select(School.address)
            .join(ExchangeSide, ExchangeSide.school_id == School.id)
            .where(ExchangeSide.exchange_id == exchange_id, ExchangeSide.side == side)
        )
        return found


async def _phone(h: Harness, user: FakeUser) -> tuple[str | None, bool]:
    assert h.db is not None
    async with h.db.read() as session:
        row = await session.get(User, user.id)
        assert row is not None
        return row.phone, row.phone_shared_at is not None


async def _give_phone(h: Harness, user: FakeUser, typed: str) -> list[BotMessage]:
    view = (await h.send(user, "/school"))[-1]
    label = next(t for t in view.button_texts if t.startswith("Telefoonnummer"))
    asked = (await h.press(user, view, label))[-1]
    assert asked.text == said("schools.ask_phone")
    return await h.send(user, typed)


async def test_a_teacher_fills_in_their_schools_address_later(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)  # school B's address was left "Later invullen" in /nieuw
    view = (await h.send(p.teacher_b, "/school"))[-1]
    assert "De Odyssee: " + said("schools.no_address") in view.text
    assert "Adres van" not in " ".join(view.button_texts)  # only their own school
    asked = (await h.press(p.teacher_b, view, said("schools.btn_address")))[-1]
    assert asked.text.startswith(said("schools.ask_address", school="De Odyssee", current="x")[:30])
    assert asked.button_texts == [said("schools.btn_cancel")]

    # Too short: explained, asked again, nothing stored.
    answers = await h.send(p.teacher_b, "abc")
    assert answers[0].text == said("input.name_too_short", min=5)
    assert said_any("schools.ask_address").match(answers[-1].text)
    assert await _address(h, p.exchange_id, "B") is None

    answers = await h.send(p.teacher_b, "Javaplein 2,  Amsterdam")
    assert answers[0].text == said(
        "schools.address_saved", school="De Odyssee", address="Javaplein 2, Amsterdam"
    )
    assert "De Odyssee: Javaplein 2, Amsterdam" in answers[-1].text
    assert await _address(h, p.exchange_id, "B") == "Javaplein 2, Amsterdam"
    # Everyone of the pair sees it in /programma.
    timeline = (await h.send(p.begeleider, "/programma"))[-1].text
    assert "Javaplein 2, Amsterdam" in timeline
    # The conversation is over: free text is no address any more.
    await h.send(p.teacher_b, "Kerkstraat 1")
    assert await _address(h, p.exchange_id, "B") == "Javaplein 2, Amsterdam"


async def test_cancel_changes_nothing(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    view = (await h.send(p.teacher_a, "/school"))[-1]
    asked = (await h.press(p.teacher_a, view, said("schools.btn_address")))[-1]
    answers = await h.press(p.teacher_a, asked, said("schools.btn_cancel"))
    assert answers[0].text == said("schools.unchanged")
    assert await _address(h, p.exchange_id, "A") == "Kolenkitbuurt 12"


async def test_a_teacher_cannot_change_the_other_school(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    view = (await h.send(p.teacher_a, "/school"))[-1]
    # A forged button for school B is refused and starts nothing.
    await h.press_data(p.teacher_a, view.message_id, f"sca:B:{p.exchange_id}", force=True)
    assert h.tg.messages(p.teacher_a.id)[-1].text == said("auth.not_allowed")
    await h.send(p.teacher_a, "Nepstraat 1, Nergens")
    assert await _address(h, p.exchange_id, "B") is None
    # A begeleider looks after no school: pointed to where addresses and numbers are.
    assert (await h.send(p.begeleider, "/school"))[-1].text == said("schools.only_teachers")


async def test_school_view_is_read_only(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness
    p = await joined_exchange(h)
    for user in (p.coordinator, p.teacher_a, p.begeleider):
        await h.send(user, "/help")  # up to date, so reading writes nothing
    assert h.db is not None
    writes = Writes(h.db, monkeypatch)
    for user in (p.coordinator, p.teacher_a, p.begeleider):
        assert await h.send(user, "/school")
        assert writes.none, (user.first_name, writes.statements)


async def test_numbers_are_seen_only_after_consent(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    answers = await _give_phone(h, p.teacher_a, "12345")
    assert answers[0].text == said("schools.phone_invalid")
    answers = await h.send(p.teacher_a, "+32 470 12 34 56")
    assert answers[0].text == said("schools.phone_foreign")
    assert await _phone(h, p.teacher_a) == (None, False)
    answers = await h.send(p.teacher_a, "06-1234 5678")
    assert answers[0].text == said("schools.phone_saved", phone="06 12345678")
    assert await _phone(h, p.teacher_a) == ("+31612345678", False)
    view = answers[-1]
    assert said("schools.phone_not_shared", phone="06 12345678") in view.text

    # Stored, not shared: nobody else sees it.
    h.clock.set(DAY_1)
    today = (await h.send(p.begeleider, "/vandaag"))[-1].text
    assert "06 12345678" not in today
    assert said("schools.phones_none") in today
    assert "06 12345678" not in (await h.send(p.teacher_b, "/programma"))[-1].text

    answers = await h.press(p.teacher_a, view, said("schools.btn_share"))
    assert answers[0].text == said("schools.shared")
    assert await _phone(h, p.teacher_a) == ("+31612345678", True)
    line = said("schools.phone_teacher", name="Anouk", school="De Avonturijn", phone="06 12345678")
    assert line in (await h.send(p.begeleider, "/vandaag"))[-1].text
    assert line in (await h.send(p.teacher_b, "/programma"))[-1].text
    # A coordinator's /vandaag lists the pair; its button gives the day with the numbers.
    listed = (await h.send(p.coordinator, "/vandaag"))[-1]
    assert line in (await h.press(p.coordinator, listed, f"#{p.exchange_id}"))[-1].text

    # Stop sharing: gone for the others, kept for the teacher.
    view = (await h.send(p.teacher_a, "/school"))[-1]
    answers = await h.press(p.teacher_a, view, said("schools.btn_stop_sharing"))
    assert answers[0].text == said("schools.stopped")
    assert await _phone(h, p.teacher_a) == ("+31612345678", False)
    assert "06 12345678" not in (await h.send(p.begeleider, "/vandaag"))[-1].text

    # Forgetting the number also ends sharing; sharing without a number is explained.
    view = answers[-1]
    answers = await h.press(p.teacher_a, view, said("schools.btn_forget"))
    assert answers[0].text == said("schools.forgotten")
    assert await _phone(h, p.teacher_a) == (None, False)
    await h.press_data(p.teacher_a, answers[-1].message_id, "sca:share", force=True)
    assert h.tg.messages(p.teacher_a.id)[-2].text == said("schools.share_without_phone")
    assert await _phone(h, p.teacher_a) == (None, False)


async def test_numbers_stay_inside_the_pair(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await _give_phone(h, p.teacher_a, "020 123 4567")
    view = (await h.send(p.teacher_a, "/school"))[-1]
    await h.press(p.teacher_a, view, said("schools.btn_share"))
    assert h.db is not None
    async with h.db.read() as session:
        exchange = await exchanges.load_exchange(session, p.exchange_id)
        assert exchange is not None
        member = await session.get(User, p.begeleider.id)
        assert member is not None
        outsider = User(id=9999, display_name="Vreemde", language="nl", is_coordinator=False)
        coordinators = await exchanges.coordinators_of(session, exchange)
        seen = schools.phone_book(exchange, member, coordinators)
        assert [(c.name, c.phone) for c in seen] == [("Anouk", "+31201234567")]
        assert schools.phone_book(exchange, outsider, coordinators) == ()


async def test_coordinator_edits_every_pair_and_shares_their_number(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    view = (await h.send(p.coordinator, "/school"))[-1]
    assert set(view.button_texts) >= {
        said("schools.btn_address_of", school="De Avonturijn"),
        said("schools.btn_address_of", school="De Odyssee"),
    }
    await h.press(p.coordinator, view, said("schools.btn_address_of", school="De Odyssee"))
    await h.send(p.coordinator, "Javaplein 2, Amsterdam")
    assert await _address(h, p.exchange_id, "B") == "Javaplein 2, Amsterdam"

    answers = await _give_phone(h, p.coordinator, "+31 (0)6 87654321")
    await h.press(p.coordinator, answers[-1], said("schools.btn_share"))
    line = said("schools.phone_coordinator", name="Carla", phone="06 87654321")
    assert line in (await h.send(p.teacher_b, "/programma"))[-1].text

    # With several pairs the coordinator chooses one; their own number comes first.
    second = await create_exchange(h, p.coordinator, school_a="Het Palet", school_b="De Kolibrie")
    replies = await h.send(p.coordinator, "/school")
    assert said("schools.phone_shared", phone="06 87654321") in replies[0].text
    chooser = replies[-1]
    assert chooser.text == said("schools.choose", count=2)
    shown = (await h.press(p.coordinator, chooser, f"#{second} Het Palet – De Kolibrie"))[-1]
    assert said("schools.btn_address_of", school="Het Palet") in shown.button_texts


async def _schedule_of(h: Harness, user: FakeUser) -> str:
    return next(m.text for m in h.tg.messages(user.id) if m.text and "08:45–09:05" in m.text)


async def _digest_of(h: Harness, user: FakeUser, week: int) -> str:
    head = said("digest.title", week=week, weeks=4, title="De Avonturijn – De Odyssee")
    return next(m.text for m in h.tg.messages(user.id) if m.text and m.text.startswith(head))


async def test_each_side_of_a_visit_reads_what_it_does(harness: Harness) -> None:
    h = harness
    p: JoinedExchange = await joined_exchange(h)
    await h.run_until(datetime(2027, 2, 10, 7, 45, tzinfo=AMS))
    where = said("day.at_address", school="De Avonturijn", address="Kolenkitbuurt 12")
    guest = said("day.visit_guest", where=where, time="08:45")
    host = said("day.visit_host", school="De Odyssee", time="08:45")
    neutral = said("day.visit_neutral", guest="De Odyssee", where=where)

    visitors, hosts = await _schedule_of(h, p.teacher_b), await _schedule_of(h, p.teacher_a)
    begeleider = await _schedule_of(h, p.begeleider)
    assert guest in visitors and host not in visitors
    assert host in hosts and guest not in hosts
    assert neutral in begeleider
    # Both addresses, the host school's (the place) first; the missing one says so, with the
    # hint only for the teacher of that school.
    place = said("schools.place_line", school="De Avonturijn", address="Kolenkitbuurt 12")
    missing = said("schools.school_line", school="De Odyssee", address=said("schools.no_address"))
    hint = said("schools.school_line", school="De Odyssee", address=said("schools.no_address_hint"))
    assert visitors.index(place) < visitors.index(hint)
    assert place in begeleider and missing in begeleider and hint not in begeleider
    assert hint not in hosts and missing in hosts
    for text in (visitors, hosts, begeleider):
        assert "komt op bezoek. In gemengde" not in text

    # The week-2 digest says the same to each side.
    assert guest in await _digest_of(h, p.teacher_b, 2)
    assert host in await _digest_of(h, p.teacher_a, 2)
    assert neutral in await _digest_of(h, p.begeleider, 2)

    # /vandaag on the day speaks to the reader's side too.
    h.clock.set(DAY_1)
    assert guest in (await h.send(p.teacher_b, "/vandaag"))[-1].text
    assert host in (await h.send(p.teacher_a, "/vandaag"))[-1].text


async def test_day_two_turns_the_visit_around(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    view = (await h.send(p.teacher_b, "/school"))[-1]
    await h.press(p.teacher_b, view, said("schools.btn_address"))
    await h.send(p.teacher_b, "Javaplein 2, Amsterdam")
    await h.run_until(datetime(2027, 2, 15, 9, 0, tzinfo=AMS))
    where = said("day.at_address", school="De Odyssee", address="Javaplein 2, Amsterdam")
    assert said("day.visit_guest", where=where, time="08:45") in await _digest_of(h, p.teacher_a, 3)
    assert said("day.visit_host", school="De Avonturijn", time="08:45") in await _digest_of(
        h, p.teacher_b, 3
    )
