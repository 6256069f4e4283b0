"""Which moment of the day `/aanwezig 24 22` counts for (pure)."""

from __future__ import annotations

import pytest

from bot.domain.headcounts import MOMENTS, next_moment


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
