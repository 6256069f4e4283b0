"""/vandaag: today's programme, or when the next exchange day is; for a coordinator, a short
list of today's pairs, a page at a time, with each pair's full day a tap away."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update

from db.models import ExchangePhase
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, said
from tests.flows import joined_exchange, only
from tests.harness import Harness
from tests.test_safety_delivery import import_exchanges

DAY_1 = datetime(2027, 2, 10, 10, 0, tzinfo=AMS)  # exchange day 1 of joined_exchange


def current(h: Harness, user: FakeUser, message: BotMessage) -> BotMessage:
    """The message as it is now (a page button edits it in place)."""
    return next(m for m in h.tg.messages(user.id) if m.message_id == message.message_id)


def pair_buttons(message: BotMessage) -> list[str]:
    return [t for t in message.button_texts if t.startswith("#")]


async def test_vandaag_and_the_next_day(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    reply = (await h.send(p.begeleider, "/vandaag"))[-1].text
    assert reply.startswith(said("today.nothing", next=""))
    assert "Uitwisselingsdag 1: woensdag 10 februari, 08:45" in reply
    h.clock.set(DAY_1)
    reply = (await h.send(p.begeleider, "/vandaag"))[-1].text
    assert reply.startswith("Uitwisselingsdag 1 · woensdag 10 februari")
    assert "Speurtocht" in reply or "speurtocht" in reply
    h.clock.set(datetime(2027, 3, 1, 10, 0, tzinfo=AMS))
    assert (await h.send(p.begeleider, "/vandaag"))[-1].text == said("today.nothing_left")


async def test_vandaag_gives_both_addresses_and_whom_to_call(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)  # school B's address is not filled in
    h.clock.set(DAY_1)
    place = said("schools.place_line", school="De Avonturijn", address="Kolenkitbuurt 12")
    # The coordinator's /vandaag lists the pair; its button gives the same full day.
    listed = only(await h.send(p.coordinator, "/vandaag"))
    coordinator_day = only(await h.press(p.coordinator, listed, f"#{p.exchange_id}")).text
    for user, address_b in (
        (p.begeleider, said("schools.no_address")),
        (p.teacher_a, said("schools.no_address")),
        # Whoever can fill the missing address in is told how.
        (p.teacher_b, said("schools.no_address_hint")),
        (p.coordinator, said("schools.no_address_hint")),
    ):
        if user is p.coordinator:
            reply = coordinator_day
        else:
            reply = (await h.send(user, "/vandaag"))[-1].text
        other = said("schools.school_line", school="De Odyssee", address=address_b)
        assert place in reply and other in reply, (user.first_name, reply)
        assert reply.index(place) < reply.index(other)
        # The coordinator is reachable through Telegram; no number shared yet. She herself
        # is not told to call herself.
        if user is p.coordinator:
            assert "Carla (@carla_wimw)" not in reply
        else:
            assert "Carla (@carla_wimw)" in reply
        assert said("schools.phones_none") in reply


async def test_a_coordinator_sees_todays_pairs_in_short(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    h.clock.set(DAY_1)
    entry = dict(
        time="08:45",
        id=p.exchange_id,
        title="De Avonturijn – De Odyssee",
        phase="Uitwisselingsdag 1",
        place="bij De Avonturijn",
    )
    listed = only(await h.send(p.coordinator, "/vandaag"))
    assert listed.text.startswith(said("today.heading", date="woensdag 10 februari"))
    assert said("today.pairs_today_one") in listed.text
    waiting = said("today.checked_in_none_one")
    assert said("today.pair", checked_in=waiting, **entry) in listed.text
    assert listed.text.endswith(said("today.hint"))
    # Not the day itself: that is a tap away, and there is no second page.
    assert "Speurtocht" not in listed.text
    assert listed.button_texts == [f"#{p.exchange_id}"]

    # The begeleider checks in: the list says so.
    await h.send(p.begeleider, "/checkin")
    listed = only(await h.send(p.coordinator, "/vandaag"))
    there = said("today.checked_in_all_one")
    assert said("today.pair", checked_in=there, **entry) in listed.text

    # The pair's button: its full day as a message of its own; the list stays as it was.
    day = only(await h.press(p.coordinator, listed, f"#{p.exchange_id}"))
    assert day.message_id != listed.message_id
    assert day.text.startswith("Uitwisselingsdag 1 · woensdag 10 februari")
    assert "Speurtocht" in day.text and "Ghislaine" in day.text
    assert current(h, p.coordinator, listed).text == listed.text

    # Teachers and begeleiders keep their full day.
    mine = (await h.send(p.teacher_a, "/vandaag"))[-1]
    assert mine.text.startswith("Uitwisselingsdag 1 · woensdag 10 februari")
    assert not pair_buttons(mine)


async def test_a_coordinator_without_exchange_days_today_hears_the_next_ones(
    harness: Harness,
) -> None:
    h = harness
    coordinator = h.user(1000, "Carla", username="carla_wimw")
    await h.send(coordinator, "/start")
    assert only(await h.send(coordinator, "/vandaag")).text == said("programme.none_coordinator")

    p = await joined_exchange(h)
    h.clock.set(datetime(2027, 2, 3, 10, 0, tzinfo=AMS))  # a week of lessons, no day
    reply = only(await h.send(p.coordinator, "/vandaag"))
    days = "\n".join(
        said("today.next_day", date=d, pairs=said("today.pairs_one"))
        for d in ("woensdag 10 februari", "woensdag 17 februari", "woensdag 24 februari")
    )
    assert reply.text == said("today.coordinator_nothing", days=days)
    assert not reply.button_texts

    h.clock.set(datetime(2027, 3, 1, 10, 0, tzinfo=AMS))
    assert only(await h.send(p.coordinator, "/vandaag")).text == said("today.nothing_left")


async def test_a_coordinator_pages_through_many_pairs_earliest_first(harness: Harness) -> None:
    h = harness
    coordinator = h.user(1000, "Carla", username="carla_wimw")
    await h.send(coordinator, "/start")
    ids = await import_exchanges(h, 23, date(2027, 2, 1))
    async with h.db.write() as session:  # type: ignore[union-attr]
        day = await session.scalar(
            select(ExchangePhase.starts_on).where(
                ExchangePhase.exchange_id == ids[0], ExchangePhase.phase_key == "exchange_day_1"
            )
        )
        assert day is not None
        # One pair starts earlier than the rest: it comes first.
        await session.execute(
            update(ExchangePhase)
            .where(ExchangePhase.exchange_id == ids[5], ExchangePhase.starts_on == day)
            .values(start_time=time(8, 0))
        )
    h.clock.set(datetime.combine(day, time(10, 0), tzinfo=AMS))

    view = only(await h.send(coordinator, "/vandaag"))
    assert said("today.pairs_today_many", count=23) in view.text
    assert said("today.page", first=1, last=10, count=23) in view.text
    first = pair_buttons(view)
    assert len(first) == 10 and first[0] == f"#{ids[5]}"
    assert "08:00 · " in view.text.split("\n\n")[1]
    assert said("today.btn_more") in view.button_texts
    assert said("today.btn_previous") not in view.button_texts

    # 'Meer…' and 'Vorige' change the same message.
    assert await h.press(coordinator, view, said("today.btn_more")) == []
    second = current(h, coordinator, view)
    assert said("today.page", first=11, last=20, count=23) in second.text
    assert await h.press(coordinator, second, said("today.btn_more")) == []
    third = current(h, coordinator, view)
    assert said("today.page", first=21, last=23, count=23) in third.text
    assert said("today.btn_more") not in third.button_texts
    shown = [*first, *pair_buttons(second), *pair_buttons(third)]
    assert sorted(shown) == sorted(f"#{i}" for i in ids)
    await h.press(coordinator, third, said("today.btn_previous"))
    back = current(h, coordinator, view)
    assert pair_buttons(back) == pair_buttons(second)

    # A pair on a later page opens like any other.
    last = only(await h.press(coordinator, back, pair_buttons(back)[-1]))
    assert last.text.startswith("Uitwisselingsdag 1 · ")


async def test_the_buttons_are_no_way_in_for_others(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    h.clock.set(DAY_1)
    own = only(await h.send(p.begeleider, "/vandaag"))
    stranger = h.user(4001, "Sam")
    await h.send(stranger, "/start")
    # A begeleider has no coordinator's list to page; a stranger sees no pair's day.
    assert await h.press_data(p.begeleider, own.message_id, "td:+0", force=True) == []
    assert current(h, p.begeleider, own).text == own.text
    mark = h.tg.last_message_id(stranger.id)
    assert await h.press_data(stranger, mark, f"td:{p.exchange_id}", force=True) == []
    # The pair's own begeleider may open its day.
    day = only(await h.press_data(p.begeleider, own.message_id, f"td:{p.exchange_id}", force=True))
    assert day.text.startswith("Uitwisselingsdag 1 · woensdag 10 februari")


async def test_in_english(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.send(p.coordinator, "/taal en")
    h.clock.set(DAY_1 + timedelta(minutes=5))
    listed = only(await h.send(p.coordinator, "/vandaag"))
    assert said("today.heading", "en", date="Wednesday 10 February") in listed.text
    assert said("today.pairs_today_one", "en") in listed.text
    assert said("today.hint", "en") in listed.text
