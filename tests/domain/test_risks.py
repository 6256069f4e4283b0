"""Risk flags of one pair, from a plain snapshot: each flag, and the edge where it is gone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.domain import risks
from bot.domain.programme import Text
from bot.domain.risks import (
    Begeleider,
    ChecklistLine,
    CheckOut,
    IncidentState,
    PhaseDates,
    Snapshot,
    Teacher,
)

# The standard programme from Monday 1 February 2027: orientation in week 1, exchange day 1
# on Wednesday 10 February, day 2 on Wednesday 17 February, the closing on 24 February.
WEEK1_END = date(2027, 2, 5)
ORIENTATION = PhaseDates(
    "orientation", "week", Text("Oriëntatie", "Orientation"), date(2027, 2, 1), WEEK1_END, False
)
DAY_1 = PhaseDates(
    "exchange_day_1",
    "day",
    Text("Uitwisselingsdag 1", "Exchange day 1"),
    date(2027, 2, 10),
    date(2027, 2, 10),
    True,
    needs_begeleider=True,
)
DAY_2 = replace(
    DAY_1,
    key="exchange_day_2",
    name=Text("Uitwisselingsdag 2", "Exchange day 2"),
    starts_on=date(2027, 2, 17),
    ends_on=date(2027, 2, 17),
)
CLOSING = replace(
    DAY_1,
    key="closing",
    name=Text("Afsluiting", "Closing"),
    starts_on=date(2027, 2, 24),
    ends_on=date(2027, 2, 24),
)
GHISLAINE = Begeleider(3001, "Ghislaine")


def snapshot(**changes: object) -> Snapshot:
    """A pair with nothing wrong: dates agreed, a begeleider for every day, both teachers in."""
    base = Snapshot(
        phases=(ORIENTATION, DAY_1, DAY_2, CLOSING),
        week1_end=WEEK1_END,
        schools={"A": "De Avonturijn", "B": "De Odyssee"},
        begeleiders=(GHISLAINE,),
        teachers=(Teacher("A", "Anouk"), Teacher("B", "Bas")),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def keys(found: Snapshot, today: date) -> list[str]:
    return [f.key for f in risks.flags(found, today)]


def only(found: Snapshot, today: date) -> risks.Flag:
    flags = risks.flags(found, today)
    assert len(flags) == 1, flags
    return flags[0]


def test_a_pair_with_nothing_wrong_has_no_flags_and_no_score() -> None:
    assessment = risks.assess(snapshot(), date(2027, 2, 8))
    assert assessment.flags == ()
    assert assessment.score == 0


# -- dates --------------------------------------------------------------------------------


def open_dates() -> Snapshot:
    return snapshot(phases=(ORIENTATION, replace(DAY_1, agreed=False), DAY_2, CLOSING))


def test_dates_open_after_week_1() -> None:
    flag = only(open_dates(), date(2027, 2, 8))
    assert flag.key == risks.DATES_OPEN
    assert flag.detail["count"] == 1
    assert flag.detail["phases"] == (DAY_1.name,)


def test_dates_open_is_no_flag_during_week_1() -> None:
    assert keys(open_dates(), WEEK1_END) == []


def test_agreed_dates_are_no_flag() -> None:
    assert keys(snapshot(), date(2027, 2, 8)) == []


def test_a_day_that_is_over_is_not_asked_for_any_more() -> None:
    assert keys(open_dates(), date(2027, 2, 11)) == []


def test_a_week_phase_needs_no_agreed_date() -> None:
    assert keys(snapshot(), date(2027, 2, 8)) == []  # orientation is not agreed in the snapshot


# -- checklist ----------------------------------------------------------------------------


def test_overdue_items_count_and_give_the_oldest_deadline() -> None:
    lines = (
        ChecklistLine("A", "consent", date(2027, 2, 3), date(2027, 2, 10), False),
        ChecklistLine("B", "consent", date(2027, 2, 4), date(2027, 2, 10), False),
        ChecklistLine("pair", "teams", date(2027, 2, 2), date(2027, 2, 10), True),  # done
        ChecklistLine("A", "photo", date(2027, 2, 9), date(2027, 2, 10), False),  # not yet due
    )
    flag = only(snapshot(checklist=lines), date(2027, 2, 8))
    assert flag.key == risks.OVERDUE
    assert flag.detail == {"count": 2, "oldest": date(2027, 2, 3)}


def test_an_item_due_today_is_not_overdue_yet() -> None:
    lines = (ChecklistLine("A", "consent", date(2027, 2, 8), date(2027, 2, 10), False),)
    assert keys(snapshot(checklist=lines), date(2027, 2, 8)) == []


def test_items_of_a_phase_that_is_over_are_no_flag() -> None:
    lines = (ChecklistLine("A", "consent", date(2027, 2, 1), date(2027, 2, 5), False),)
    assert keys(snapshot(checklist=lines), date(2027, 2, 8)) == []


# -- begeleiders --------------------------------------------------------------------------


def test_no_begeleider_for_a_day_within_two_weeks() -> None:
    flag = only(snapshot(begeleiders=()), date(2027, 2, 8))
    assert flag.key == risks.NO_BEGELEIDER
    # Day 1 (in 2 days) and day 2 (in 9); the closing is more than 14 days away.
    assert flag.detail == {"phase": DAY_1.name, "day": DAY_1.starts_on, "count": 2}


def test_a_day_further_than_two_weeks_is_no_flag_yet() -> None:
    assert keys(snapshot(begeleiders=()), date(2027, 1, 26)) == []


def test_a_day_that_is_past_is_no_flag() -> None:
    today = date(2027, 2, 25)  # after the closing
    assert keys(snapshot(begeleiders=()), today) == []


def test_the_day_itself_still_counts() -> None:
    flag = only(snapshot(begeleiders=()), DAY_1.starts_on)
    assert flag.detail["day"] == DAY_1.starts_on


def test_a_begeleider_planned_for_other_days_does_not_count() -> None:
    only_day_2 = replace(GHISLAINE, days=("exchange_day_2", "closing"))
    flag = only(snapshot(begeleiders=(only_day_2,)), date(2027, 2, 8))
    assert flag.detail == {"phase": DAY_1.name, "day": DAY_1.starts_on, "count": 1}
    none_at_all = replace(GHISLAINE, days=())
    assert only(snapshot(begeleiders=(none_at_all,)), date(2027, 2, 8)).detail["count"] == 2


def test_a_begeleider_who_cannot_come_does_not_count() -> None:
    absent = replace(GHISLAINE, absent=frozenset({("exchange_day_2", DAY_2.starts_on)}))
    flag = only(snapshot(begeleiders=(absent,)), date(2027, 2, 8))
    assert flag.detail == {"phase": DAY_2.name, "day": DAY_2.starts_on, "count": 1}
    # Another begeleider who comes fills the day.
    other = Begeleider(3002, "Gijs", days=("exchange_day_2",))
    assert keys(snapshot(begeleiders=(absent, other)), date(2027, 2, 8)) == []


def test_an_absence_for_a_day_that_moved_no_longer_counts() -> None:
    moved = replace(GHISLAINE, absent=frozenset({("exchange_day_2", date(2027, 2, 16))}))
    assert keys(snapshot(begeleiders=(moved,)), date(2027, 2, 8)) == []


def test_a_day_that_needs_no_begeleider_is_no_flag() -> None:
    online = tuple(replace(p, needs_begeleider=False) for p in snapshot().phases)
    assert keys(snapshot(phases=online, begeleiders=()), date(2027, 2, 8)) == []


def test_planned_for() -> None:
    assert risks.planned_for(None, "closing")
    assert risks.planned_for(["closing"], "closing")
    assert not risks.planned_for(["exchange_day_1"], "closing")
    assert not risks.planned_for([], "closing")


# -- incidents ----------------------------------------------------------------------------

AT = datetime(2027, 2, 10, 10, 0, tzinfo=UTC)


def test_an_unacknowledged_incident_is_a_flag() -> None:
    found = (
        IncidentState(1, "open", "medium", AT),
        IncidentState(2, "open", "urgent", AT + timedelta(minutes=5)),
        IncidentState(3, "acknowledged", "high", AT - timedelta(hours=1)),
    )
    flag = only(snapshot(incidents=found), date(2027, 2, 10))
    assert flag.key == risks.INCIDENT_OPEN
    assert flag.detail == {"count": 2, "severity": "urgent", "since": AT}


def test_an_acknowledged_incident_is_no_flag() -> None:
    found = (IncidentState(3, "acknowledged", "high", AT),)
    assert keys(snapshot(incidents=found), date(2027, 2, 10)) == []


# -- teachers -----------------------------------------------------------------------------


def test_a_class_without_a_teacher_who_joined() -> None:
    flag = only(snapshot(teachers=(Teacher("A", "Anouk"),)), date(2027, 2, 8))
    assert flag.key == risks.TEACHER_MISSING
    assert flag.detail == {"schools": ("De Odyssee",), "blocked": ()}


def test_a_teacher_who_blocked_the_bot() -> None:
    teachers = (Teacher("A", "Anouk", blocked=True), Teacher("B", "Bas"))
    flag = only(snapshot(teachers=teachers), date(2027, 2, 8))
    assert flag.detail == {"schools": (), "blocked": ("Anouk",)}


def test_a_second_teacher_of_a_class_fills_it() -> None:
    teachers = (Teacher("A", "Anouk"), Teacher("B", "Bas"), Teacher("B", "Bea"))
    assert keys(snapshot(teachers=teachers), date(2027, 2, 8)) == []


# -- tension ------------------------------------------------------------------------------


def test_tension_at_the_last_check_out() -> None:
    outs = (CheckOut(DAY_1.starts_on, True), CheckOut(DAY_1.starts_on, False))
    flag = only(snapshot(checkouts=outs), date(2027, 2, 11))
    assert flag.key == risks.TENSION
    assert flag.detail == {"day": DAY_1.starts_on, "count": 1}


def test_a_later_day_without_tension_clears_it() -> None:
    outs = (CheckOut(DAY_1.starts_on, True), CheckOut(DAY_2.starts_on, False))
    assert keys(snapshot(checkouts=outs), date(2027, 2, 18)) == []


def test_no_tension_reported_is_no_flag() -> None:
    outs = (CheckOut(DAY_1.starts_on, False),)
    assert keys(snapshot(checkouts=outs), date(2027, 2, 11)) == []


def test_tension_long_ago_is_no_flag_any_more() -> None:
    outs = (CheckOut(DAY_1.starts_on, True),)
    assert keys(snapshot(checkouts=outs), DAY_1.starts_on + timedelta(days=15)) == []


# -- order and score ----------------------------------------------------------------------


def test_flags_come_in_a_fixed_order_and_incidents_weigh_most() -> None:
    today = date(2027, 2, 8)
    everything = snapshot(
        phases=open_dates().phases,
        begeleiders=(),
        teachers=(),
        incidents=(IncidentState(1, "open", "low", AT),),
        checkouts=(CheckOut(date(2027, 2, 5), True),),
        checklist=(ChecklistLine("A", "consent", date(2027, 2, 3), date(2027, 2, 10), False),),
    )
    assert keys(everything, today) == list(risks.FLAG_KEYS)
    incident = risks.assess(snapshot(incidents=everything.incidents), today).score
    bare = risks.assess(snapshot(begeleiders=()), today).score
    rest = risks.assess(replace(everything, incidents=(), begeleiders=(GHISLAINE,)), today).score
    assert incident > bare > rest > 0


def test_a_bare_day_sooner_weighs_more() -> None:
    sooner = risks.assess(snapshot(begeleiders=()), date(2027, 2, 9)).score
    later = risks.assess(snapshot(begeleiders=()), date(2027, 2, 3)).score
    assert sooner > later


def test_phase_now_and_next_day() -> None:
    phases = snapshot().phases
    assert risks.phase_now(phases, date(2027, 1, 25)) == risks.BEFORE
    assert risks.phase_now(phases, date(2027, 2, 2)) == "orientation"
    assert risks.phase_now(phases, date(2027, 2, 8)) == "exchange_day_1"
    assert risks.phase_now(phases, date(2027, 3, 15)) == risks.AFTER
    assert risks.next_day(phases, date(2027, 2, 11)) == DAY_2
    assert risks.next_day(phases, date(2027, 2, 25)) is None


def test_progress_counts_the_holders_items() -> None:
    lines = (
        ChecklistLine("pair", "teams", date(2027, 2, 3), date(2027, 2, 5), True),
        ChecklistLine("A", "consent", date(2027, 2, 3), date(2027, 2, 5), True),
        ChecklistLine("B", "consent", date(2027, 2, 3), date(2027, 2, 5), False),
    )
    assert risks.progress(lines, {"pair", "A"}) == (2, 2)
    assert risks.progress(lines, {"pair", "B"}) == (1, 2)
