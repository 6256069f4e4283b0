from datetime import date, time, timedelta

import pytest

from bot.domain.programme import ChecklistItem, Programme, Text, load_programmes
from bot.domain.timeline import (
    AgreedDateError,
    PlannedPhase,
    check_agreed_date,
    current_phase,
    due_date,
    is_school_day,
    local_datetime,
    next_phase,
    phase_window,
    plan_phases,
    programme_start,
    timed_schedule,
)

THURSDAY = date(2027, 3, 4)
MONDAY = date(2027, 3, 1)


@pytest.fixture(scope="module")
def programmes() -> dict[str, Programme]:
    return load_programmes()


@pytest.fixture(scope="module")
def standard(programmes) -> Programme:
    return programmes["standaard"]


def test_programme_start_is_the_monday():
    assert programme_start(THURSDAY) == MONDAY
    assert programme_start(MONDAY) == MONDAY
    assert programme_start(date(2027, 3, 7)) == MONDAY  # Sunday


def test_plan_standard_from_a_thursday(standard):
    planned = plan_phases(standard, THURSDAY)
    assert planned == [
        PlannedPhase("orientation", "week", MONDAY, date(2027, 3, 5), None, "both"),
        PlannedPhase(
            "exchange_day_1", "day", date(2027, 3, 10), date(2027, 3, 10), time(8, 45), "A"
        ),
        PlannedPhase(
            "exchange_day_2", "day", date(2027, 3, 17), date(2027, 3, 17), time(8, 45), "B"
        ),
        PlannedPhase("closing", "day", date(2027, 3, 24), date(2027, 3, 24), time(13, 0), "A"),
    ]
    assert date(2027, 3, 10).strftime("%A") == "Wednesday"


def test_plan_with_agreed_dates_and_times(standard):
    planned = plan_phases(
        standard,
        MONDAY,
        agreed_dates={"exchange_day_1": date(2027, 3, 11)},
        agreed_times={"exchange_day_1": time(9, 0), "closing": time(12, 30)},
    )
    by_key = {p.key: p for p in planned}
    assert by_key["exchange_day_1"].starts_on == date(2027, 3, 11)
    assert by_key["exchange_day_1"].start_time == time(9, 0)
    assert by_key["exchange_day_2"].starts_on == date(2027, 3, 17)
    assert by_key["closing"].start_time == time(12, 30)


def test_agreed_date_outside_window(standard):
    with pytest.raises(AgreedDateError) as info:
        plan_phases(standard, MONDAY, agreed_dates={"exchange_day_1": date(2027, 3, 15)})
    assert info.value.reason == "outside_window"
    assert info.value.allowed == (date(2027, 3, 8), date(2027, 3, 12))


def test_agreed_date_on_a_weekend(programmes):
    # the friendship windows span weekends, so the weekend check is reachable
    with pytest.raises(AgreedDateError) as info:
        check_agreed_date(
            programmes["vriendschapsscholen"], "meeting_01", MONDAY, date(2027, 3, 13)
        )
    assert info.value.reason == "not_a_school_day"


def test_agreed_date_for_a_week_phase(standard):
    with pytest.raises(AgreedDateError) as info:
        check_agreed_date(standard, "orientation", MONDAY, MONDAY)
    assert info.value.reason == "not_a_day_phase"


def test_agreed_date_for_an_unknown_phase(standard):
    with pytest.raises(KeyError):
        plan_phases(standard, MONDAY, agreed_times={"exchange_day_9": time(9, 0)})


def test_phase_window(standard):
    assert phase_window(standard, "exchange_day_1", THURSDAY) == (
        date(2027, 3, 8),
        date(2027, 3, 12),
    )
    assert phase_window(standard, "exchange_day_2", THURSDAY) == (
        date(2027, 3, 15),
        date(2027, 3, 19),
    )
    assert phase_window(standard, "closing", THURSDAY) == (date(2027, 3, 22), date(2027, 3, 26))
    assert phase_window(standard, "orientation", THURSDAY) == (MONDAY, MONDAY)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2027, 2, 28), None),  # Sunday before
        (date(2027, 3, 1), "orientation"),
        (date(2027, 3, 7), "orientation"),  # Sunday of week 1
        (date(2027, 3, 8), "exchange_day_1"),  # Monday before the Wednesday
        (date(2027, 3, 12), "exchange_day_1"),
        (date(2027, 3, 15), "exchange_day_2"),
        (date(2027, 3, 24), "closing"),
        (date(2027, 3, 28), "closing"),  # Sunday after the closing
        (date(2027, 3, 29), None),
    ],
)
def test_current_phase(standard, today, expected):
    phase = current_phase(plan_phases(standard, THURSDAY), today)
    assert (phase.key if phase else None) == expected


def test_current_phase_between_friendship_meetings(programmes):
    planned = plan_phases(programmes["vriendschapsscholen"], MONDAY)
    three_weeks_in = MONDAY + timedelta(days=14)
    assert current_phase(planned, three_weeks_in) is None
    assert next_phase(planned, three_weeks_in).key == "meeting_02"
    assert next_phase(planned, date(2028, 1, 1)) is None


def test_current_phase_prefers_the_one_that_started():
    week = PlannedPhase("week", "week", MONDAY, date(2027, 3, 5), None, "both")
    day = PlannedPhase("day", "day", date(2027, 3, 3), date(2027, 3, 3), time(9), "A")
    assert current_phase([week, day], MONDAY).key == "week"
    assert current_phase([week, day], date(2027, 3, 4)).key == "day"


def item(due: int) -> ChecklistItem:
    return ChecklistItem("x", "teacher", Text("x", "x"), due)


def test_due_date():
    wednesday = date(2027, 3, 10)
    assert due_date(item(0), wednesday) == wednesday
    assert due_date(item(2), wednesday) == date(2027, 3, 8)
    assert due_date(item(5), wednesday) == date(2027, 3, 5)  # Friday
    assert due_date(item(3), wednesday) == date(2027, 3, 5)  # Sunday moves back to Friday
    assert due_date(item(-4), MONDAY) == date(2027, 3, 5)
    assert is_school_day(wednesday)
    assert not is_school_day(date(2027, 3, 6))


def test_timed_schedule(standard):
    day1 = standard.phase("exchange_day_1")
    timed = timed_schedule(day1)
    assert (timed[0].starts_at, timed[0].ends_at) == (time(8, 45), time(9, 5))
    assert timed[-1].ends_at == time(13, 15)
    assert timed_schedule(day1, time(9, 0))[0].ends_at == time(9, 20)
    assert timed_schedule(standard.phase("orientation")) == []


def test_local_datetime_across_daylight_saving():
    # Summer time starts on 28 March 2027: the same wall-clock time is an hour earlier in UTC.
    before = local_datetime(date(2027, 3, 24), time(8, 45))
    after = local_datetime(date(2027, 3, 31), time(8, 45))
    assert before.utcoffset() == timedelta(hours=1)
    assert after.utcoffset() == timedelta(hours=2)
