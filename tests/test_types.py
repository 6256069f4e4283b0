"""UTCDateTime: aware UTC datetimes in, aware UTC datetimes out, on SQLite as text that is
exactly SQLAlchemy's own DATETIME text (so that rows compare and sort as their moments do)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from db.types import UTCDateTime

DIALECT = sqlite.dialect()  # type: ignore[no-untyped-call]
AMS = ZoneInfo("Europe/Amsterdam")
MOMENTS = [
    datetime(2027, 2, 1, 8, 0, tzinfo=AMS),
    datetime(2027, 3, 28, 2, 30, 5, 17, tzinfo=AMS),  # the night the clocks go forward
    datetime(2027, 10, 31, 2, 30, tzinfo=AMS, fold=1),  # the second 02:30 of that night
    datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
]


def _as_sqlalchemy_stores(value: datetime) -> str:
    plain = DateTime(timezone=True).dialect_impl(DIALECT).bind_processor(DIALECT)
    assert plain is not None
    return str(plain(value.astimezone(UTC).replace(tzinfo=None)))


@pytest.mark.parametrize("moment", MOMENTS)
def test_sqlite_text_is_sqlalchemys_own_and_reads_back_as_the_same_moment(
    moment: datetime,
) -> None:
    column = UTCDateTime()
    bind = column.bind_processor(DIALECT)
    read = column.result_processor(DIALECT, None)
    assert bind is not None and read is not None
    text = bind(moment)
    assert text == _as_sqlalchemy_stores(moment)
    back = read(text)
    assert back == moment.astimezone(UTC) and back.tzinfo is UTC


def test_the_two_half_past_twos_of_the_night_the_clocks_go_back_stay_apart() -> None:
    bind = UTCDateTime().bind_processor(DIALECT)
    assert bind is not None
    first = datetime(2027, 10, 31, 2, 30, tzinfo=AMS)
    second = first.replace(fold=1)
    assert first == second  # in their own zone; an hour apart in fact
    assert bind(first) == "2027-10-31 00:30:00.000000"
    assert bind(second) == "2027-10-31 01:30:00.000000"


def test_equal_moments_in_other_zones_are_stored_alike() -> None:
    bind = UTCDateTime().bind_processor(DIALECT)
    assert bind is not None
    moment = datetime(2027, 2, 1, 8, 0, tzinfo=AMS)
    assert bind(moment) == bind(moment.astimezone(UTC)) == "2027-02-01 07:00:00.000000"


def test_text_without_fractions_or_time_reads_too() -> None:
    read = UTCDateTime().result_processor(DIALECT, None)
    assert read is not None
    assert read("2027-02-01 07:00:00") == datetime(2027, 2, 1, 7, 0, tzinfo=UTC)
    assert read("2027-02-01") == datetime(2027, 2, 1, tzinfo=UTC)
    assert read(None) is None


def test_a_naive_datetime_is_refused_every_time() -> None:
    bind = UTCDateTime().bind_processor(DIALECT)
    assert bind is not None
    for _ in range(2):  # not remembered as if it had been stored
        with pytest.raises(ValueError, match="naive"):
            bind(datetime(2027, 2, 1, 8, 0))
    assert bind(None) is None
