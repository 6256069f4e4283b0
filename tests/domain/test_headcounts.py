"""Which moment of the day `/aanwezig 24 22` counts for (pure)."""

from __future__ import annotations

from datetime import time

import pytest

from bot.domain.headcounts import (
    MOMENTS,
    day_moments,
    likely_moment,
    moment_times,
    next_moment,
    offered_moments,
)
from bot.domain.programme import load_programmes


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        ([], "arrival"),
        (["arrival", "arrival"], "departure"),
        (["arrival", "arrival", "departure", "departure"], "back"),
        # A moment left out is not gone back to: after "terug" comes the end of the day.
        (["arrival", "arrival", "back", "back"], "end"),
        (["back", "back"], "end"),
        (["departure"], "back"),  # one side counted, the other not: the day has moved on
        (["arrival", "arrival", "end", "end"], "free"),
        (["arrival", "departure", "back", "end"], "free"),
        # Counts taken "tussendoor" do not move the day on.
        (["arrival", "arrival", "free", "free"], "departure"),
        (["free", "free"], "arrival"),
        (["arrival", "back", "free"], "end"),
        # Unclear: counted out of the order of the day, or a moment the bot does not know.
        (["back", "back", "arrival", "arrival"], "free"),
        (["arrival", "lunch"], "free"),
    ],
)
def test_the_moment_after_the_latest_one_counted(recorded: list[str], expected: str) -> None:
    assert next_moment(recorded) == expected


def test_every_answer_is_a_moment() -> None:
    for recorded in ([], ["arrival"], ["end"], ["x"]):
        assert next_moment(recorded) in MOMENTS


def test_each_day_has_its_own_moments() -> None:
    standard = load_programmes()["standaard"]
    day_1, closing = standard.phase("exchange_day_1"), standard.phase("closing")
    assert day_moments(day_1) == ("arrival", "departure", "back", "end")
    assert day_moments(closing) == ("arrival", "end")  # no speurtocht at the closing
    for programme in load_programmes().values():
        for phase in programme.phases:
            if phase.kind == "day":
                assert set(day_moments(phase)) <= set(MOMENTS)
    assert moment_times(day_1, time(8, 45)) == {
        "arrival": time(8, 45),
        "departure": time(10, 0),  # the walk through the neighbourhood that leads to it
        "back": time(12, 0),
        "end": time(13, 15),
    }


@pytest.mark.parametrize(
    ("now", "likely"),
    [
        (time(8, 30), "arrival"),
        (time(9, 50), "departure"),
        (time(11, 45), "back"),  # not "einde van de dag", as the shortcut once guessed
        (time(15, 30), "end"),
    ],
)
def test_the_likely_moment_is_the_nearest_by_the_schedule(now: time, likely: str) -> None:
    day_1 = load_programmes()["standaard"].phase("exchange_day_1")
    assert likely_moment(day_1, None, ["arrival", "arrival"], now) == likely
    offered = offered_moments(day_1, likely)
    assert offered[0] == likely and offered[-1] == "free" and len(offered) == 5


def test_the_closing_never_offers_the_speurtocht() -> None:
    closing = load_programmes()["standaard"].phase("closing")
    assert offered_moments(closing, "end") == ("end", "arrival", "free")
    assert likely_moment(closing, time(13, 0), [], time(12, 55)) == "arrival"
