"""/agenda: the dates as an .ics file with stable UIDs."""

from __future__ import annotations

from datetime import datetime

from tests.fixtures import AMS
from tests.flows import joined_exchange
from tests.harness import Harness


async def test_agenda_is_an_ics_file_with_stable_uids(harness: Harness) -> None:
    import icalendar

    h = harness
    p = await joined_exchange(h)
    await h.send(p.teacher_a, "/agenda")
    document = h.tg.messages(p.teacher_a.id)[-1].document
    assert document is not None and document.filename == "uitwisseling-1.ics"
    calendar = icalendar.Calendar.from_ical(document.content)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {
        f"wijkbot-exchange-1-{k}@wijkbot"
        for k in ("orientation", "exchange_day_1", "exchange_day_2", "closing")
    }
    day1 = events["wijkbot-exchange-1-exchange_day_1@wijkbot"]
    assert day1.decoded("DTSTART") == datetime(2027, 2, 10, 8, 45, tzinfo=AMS)
    assert "Kolenkitbuurt 12" in str(day1["LOCATION"])
