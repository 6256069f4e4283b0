"""/vandaag: today's programme, or when the next exchange day is."""

from __future__ import annotations

from datetime import datetime

from tests.fixtures import AMS, said
from tests.flows import joined_exchange
from tests.harness import Harness


async def test_vandaag_and_the_next_day(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    reply = (await h.send(p.begeleider, "/vandaag"))[-1].text
    assert reply.startswith(said("today.nothing", next=""))
    assert "Uitwisselingsdag 1: woensdag 10 februari, 08:45" in reply
    h.clock.set(datetime(2027, 2, 10, 10, 0, tzinfo=AMS))
    reply = (await h.send(p.begeleider, "/vandaag"))[-1].text
    assert reply.startswith("Uitwisselingsdag 1 · woensdag 10 februari")
    assert "Speurtocht" in reply or "speurtocht" in reply
    h.clock.set(datetime(2027, 3, 1, 10, 0, tzinfo=AMS))
    assert (await h.send(p.begeleider, "/vandaag"))[-1].text == said("today.nothing_left")


async def test_vandaag_gives_both_addresses_and_whom_to_call(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)  # school B's address is not filled in
    h.clock.set(datetime(2027, 2, 10, 10, 0, tzinfo=AMS))
    place = said("schools.place_line", school="De Avonturijn", address="Kolenkitbuurt 12")
    for user, address_b in (
        (p.begeleider, said("schools.no_address")),
        (p.teacher_a, said("schools.no_address")),
        # Whoever can fill the missing address in is told how.
        (p.teacher_b, said("schools.no_address_hint")),
        (p.coordinator, said("schools.no_address_hint")),
    ):
        reply = (await h.send(user, "/vandaag"))[-1].text
        other = said("schools.school_line", school="De Odyssee", address=address_b)
        assert place in reply and other in reply, (user.first_name, reply)
        assert reply.index(place) < reply.index(other)
        # The coordinator is reachable through Telegram; no number shared yet.
        assert "Carla (@carla_wimw)" in reply
        assert said("schools.phones_none") in reply
