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
