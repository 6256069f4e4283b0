"""/agenda: the dates as an .ics file with stable UIDs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.calendar import event_sequence
from fake_telegram import FakeUser
from tests.fixtures import AMS, said
from tests.flows import joined_exchange, only
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


def _events(content: bytes) -> dict[str, Any]:
    import icalendar

    calendar = icalendar.Calendar.from_ical(content)
    return {str(e["UID"]).split("-", 3)[-1].split("@")[0]: e for e in calendar.walk("VEVENT")}


async def _agenda(h: Harness, user: FakeUser) -> dict[str, Any]:
    only(await h.send(user, "/agenda"))
    document = h.tg.messages(user.id)[-1].document
    assert document is not None
    return _events(document.content)


async def test_provisional_dates_are_tentative_and_an_agreed_one_confirmed(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    before = await _agenda(h, p.teacher_a)
    for key in ("exchange_day_1", "exchange_day_2", "closing"):
        assert str(before[key]["STATUS"]) == "TENTATIVE", key
    # The orientation week is no date to agree.
    assert str(before["orientation"]["STATUS"]) == "CONFIRMED"

    # The coordinator fixes day 1 on the day it already had: only its status changes, and
    # the calendar must still take the new version over the old.
    question = (await h.send(p.coordinator, "/datum"))[-1]
    question = only(await h.press(p.coordinator, question, "Uitwisselingsdag 1"))
    question = only(await h.press(p.coordinator, question, "woensdag 10 februari"))
    await h.send(p.coordinator, "8.45")
    after = await _agenda(h, p.teacher_a)
    assert str(after["exchange_day_1"]["STATUS"]) == "CONFIRMED"
    assert int(after["exchange_day_1"]["SEQUENCE"]) > int(before["exchange_day_1"]["SEQUENCE"])
    assert after["exchange_day_1"]["UID"] == before["exchange_day_1"]["UID"]
    assert str(after["exchange_day_2"]["STATUS"]) == "TENTATIVE"


async def test_after_a_date_moves_the_members_get_a_button_for_the_updated_file(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    before = await _agenda(h, p.begeleider)
    question = (await h.send(p.coordinator, "/datum"))[-1]
    question = only(await h.press(p.coordinator, question, "Uitwisselingsdag 1"))
    question = only(await h.press(p.coordinator, question, "donderdag 11 februari"))
    await h.send(p.coordinator, "9.15")
    marks = {u.id: h.tg.last_message_id(u.id) for u in (p.teacher_a, p.begeleider)}
    await h.dispatch()
    for user in (p.teacher_a, p.begeleider):
        notice = only(h.tg.messages_since(user.id, marks[user.id]))
        assert said("calendar.changed") in notice.text
        assert notice.button_texts == ["🗓 Agenda bijwerken"]
    notice = only(h.tg.messages_since(p.begeleider.id, marks[p.begeleider.id]))
    sent = only(await h.press(p.begeleider, notice, "🗓 Agenda bijwerken"))
    assert sent.document is not None
    after = _events(sent.document.content)
    day = after["exchange_day_1"]
    assert day["UID"] == before["exchange_day_1"]["UID"]
    assert day.decoded("DTSTART") == datetime(2027, 2, 11, 9, 15, tzinfo=AMS)
    assert str(day["STATUS"]) == "CONFIRMED"
    assert int(day["SEQUENCE"]) > int(before["exchange_day_1"]["SEQUENCE"])
    h.tg.assert_no_errors()


def test_the_sequence_rises_with_every_new_version_of_a_day() -> None:
    versions = [(0, False), (0, True), (1, True), (2, False), (2, True), (3, True)]
    sequences = [event_sequence(revision, agreed) for revision, agreed in versions]
    assert sequences == sorted(set(sequences))
