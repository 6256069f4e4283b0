import json
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.outbox import (
    DATE_REMINDER,
    KINDS,
    CatchUp,
    ExchangeSnapshot,
    Member,
    PhaseDates,
    PlannedMessage,
    Rules,
    catch_up,
    is_quiet,
    item_applies,
    next_allowed,
    plan_messages,
)
from bot.domain.programme import Programme, load_programmes
from bot.domain.timeline import plan_phases

AMS = ZoneInfo("Europe/Amsterdam")
TEACHER_A = Member(1, "teacher", "A")
TEACHER_B = Member(2, "teacher", "B")
BEGELEIDER = Member(3, "begeleider", None)
MEMBERS = (TEACHER_A, TEACHER_B, BEGELEIDER)
# A programme in January-February 2027: no public holiday, no clock change.
QUIET_START = date(2027, 1, 11)


@pytest.fixture(scope="module")
def programmes() -> dict[str, Programme]:
    return load_programmes()


@pytest.fixture(scope="module")
def standard(programmes) -> Programme:
    return programmes["standaard"]


def snapshot(
    programme,
    start,
    *,
    agreed_dates=None,
    members=MEMBERS,
    school_holidays=(),
    active=True,
    exchange_id=7,
):
    planned = plan_phases(programme, start, agreed_dates=agreed_dates)
    phases = tuple(
        PhaseDates(
            p.key, p.starts_on, p.ends_on, p.start_time, p.host, p.key in (agreed_dates or {})
        )
        for p in planned
    )
    return ExchangeSnapshot(
        exchange_id, programme, active, phases, tuple(members), tuple(school_holidays)
    )


def local(push: PlannedMessage) -> datetime:
    return push.due_at.astimezone(AMS)


def of(pushes, kind, user=None):
    return [p for p in pushes if p.kind == kind and (user is None or p.user_id == user)]


def at(day, hour, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMS)


# -- the plan of a plain programme ------------------------------------------------------------


@pytest.fixture(scope="module")
def plan(standard) -> list[PlannedMessage]:
    return plan_messages(snapshot(standard, QUIET_START))


def test_everything_is_utc_and_sorted(plan):
    assert plan
    for push in plan:
        assert push.due_at.utcoffset() == timedelta(0)
        assert push.not_after.utcoffset() == timedelta(0)
        assert push.due_at <= push.not_after
        assert push.kind in (*KINDS, DATE_REMINDER)
        assert push.exchange_id == 7
        json.dumps(push.payload)
    assert plan == sorted(plan, key=lambda p: (p.due_at, p.dedupe_key))


def test_teachers_get_a_digest_every_monday_at_eight(plan):
    mondays = [date(2027, 1, 11), date(2027, 1, 18), date(2027, 1, 25), date(2027, 2, 1)]
    for user in (1, 2):
        digests = of(plan, "digest", user)
        assert [local(p) for p in digests] == [at(d, 8) for d in mondays]
        assert [p.payload for p in digests] == [{"week": d.isoformat()} for d in mondays]
        assert digests[0].dedupe_key == f"digest:7:{user}:2027-01-11"
        assert all(p.not_after - p.due_at == timedelta(hours=12) for p in digests)
    # winter: 08:00 in Amsterdam is 07:00 UTC
    assert of(plan, "digest", 1)[0].due_at == datetime(2027, 1, 11, 7, tzinfo=UTC)


def test_begeleiders_get_digests_only_in_the_weeks_with_an_exchange_day(plan):
    digests = of(plan, "digest", 3)
    assert [p.payload["week"] for p in digests] == ["2027-01-18", "2027-01-25", "2027-02-01"]


def test_follow_up_in_week_five_to_teachers(plan):
    follow_ups = of(plan, "follow_up")
    assert sorted(p.user_id for p in follow_ups) == [1, 2]
    for push in follow_ups:
        assert local(push) == at(date(2027, 2, 8), 8)
        assert push.payload == {}
        assert push.dedupe_key == f"follow_up:7:{push.user_id}"
        assert push.not_after - push.due_at == timedelta(hours=12)


def test_day_schedules_at_half_past_seven_to_everyone(plan):
    days = of(plan, "day_schedule")
    expected = {
        ("exchange_day_1", date(2027, 1, 20)),
        ("exchange_day_2", date(2027, 1, 27)),
        ("closing", date(2027, 2, 3)),
    }
    assert {(p.payload["phase"], date.fromisoformat(p.payload["date"])) for p in days} == expected
    assert Counter(p.user_id for p in days) == {1: 3, 2: 3, 3: 3}
    for push in days:
        day = date.fromisoformat(push.payload["date"])
        assert local(push) == at(day, 7, 30)
        assert push.not_after.astimezone(AMS).date() == day
        assert push.not_after.astimezone(AMS).time() >= time(23, 59, 59)
    push = next(p for p in days if p.user_id == 3 and p.payload["phase"] == "closing")
    assert push.dedupe_key == "day:7:closing:3:2027-02-03"


def nags_by_deadline(plan, user):
    return {p.payload["deadline"]: p for p in of(plan, "checklist_nag", user)}


def test_nags_list_the_host_and_guest_items_of_each_side(plan, standard):
    a = {k: p.payload["items"] for k, p in nags_by_deadline(plan, 1).items()}
    b = {k: p.payload["items"] for k, p in nags_by_deadline(plan, 2).items()}
    # Items due on a Monday or a Tuesday would be reminded of on a Monday (07:00, moved from the
    # weekend, or 15:00), the day of the digest that lists them: they are not reminded of apart
    # (test_reminders_on_a_digest_day_are_in_the_digest).
    shared = {
        "2027-01-08": ["booklet_planned"],  # due before the programme starts
        "2027-01-13": ["consent_collected"],
        "2027-01-14": ["booklet_lessons_done", "mixed_teams_made"],
        "2027-01-27": ["closing_parents_invited"],
    }
    # A hosts exchange day 1 and the closing, B hosts exchange day 2.
    assert a == shared | {
        "2027-01-15": ["class_photo_sent", "conflict_agreements", "day1_route_ready"],
        "2027-01-22": ["day2_transport"],
        "2027-01-29": ["closing_snacks"],
        "2027-02-03": ["closing_room_decorated"],
    }
    assert b == shared | {
        "2027-01-15": ["class_photo_sent", "conflict_agreements", "day1_transport"],
        "2027-01-22": ["day2_route_ready"],
        "2027-01-29": ["closing_transport", "closing_snacks"],
    }
    # A begeleider's items are due the day before a Wednesday: in that Monday's digest.
    assert nags_by_deadline(plan, 3) == {}
    agreed = {"exchange_day_1": date(2027, 1, 21)}  # a Thursday: items due Wednesday
    later = plan_messages(snapshot(standard, QUIET_START, agreed_dates=agreed))
    begeleider = {k: p.payload["items"] for k, p in nags_by_deadline(later, 3).items()}
    assert begeleider == {
        "2027-01-20": ["day1_schedule_checked", "day1_emergency_numbers", "day1_travel_planned"],
    }


def test_nags_at_three_the_day_before_the_deadline(plan):
    nags = nags_by_deadline(plan, 1)
    push = nags["2027-01-15"]
    assert local(push) == at(date(2027, 1, 14), 15)
    assert push.dedupe_key == "nag:7:1:2027-01-15"
    assert push.not_after.astimezone(AMS).date() == date(2027, 1, 15)
    assert push.not_after.astimezone(AMS).time() >= time(23, 59, 59)


def test_reminders_on_a_digest_day_are_in_the_digest(plan):
    # Deadline Monday 18 January: the reminder on Sunday 15:00 would move to Monday 07:00, an
    # hour before the digest that lists the same items; deadline Tuesday 19 January: the
    # reminder would come on Monday 15:00, after it. Neither is planned on its own.
    for user in (1, 2):
        nags = nags_by_deadline(plan, user)
        for monday in ("2027-01-11", "2027-01-18", "2027-01-25", "2027-02-01"):
            day = date.fromisoformat(monday)
            assert monday not in nags
            assert (day + timedelta(days=1)).isoformat() not in nags
            (digest,) = [p for p in of(plan, "digest", user) if p.payload["week"] == monday]
            assert local(digest) == at(day, 8)
        # Every reminder left goes out at 15:00 on a day without a digest.
        assert {local(p).time() for p in of(plan, "checklist_nag", user)} == {time(15)}
        assert all(local(p).weekday() != 0 for p in of(plan, "checklist_nag", user))


def test_a_reminder_on_a_day_without_digest_stays(standard):
    # Reminders at 09:00: the one on Thursday stays, the one on Monday is in the digest.
    plan = plan_messages(snapshot(standard, QUIET_START), Rules(nag_time=time(9)))
    a = nags_by_deadline(plan, 1)
    assert local(a["2027-01-15"]) == at(date(2027, 1, 14), 9)
    assert "2027-01-19" not in a


def test_a_nag_that_cannot_move_before_its_deadline_is_dropped(standard):
    # Monday 18 January off: the Sunday nag would land on Tuesday, after its deadline.
    plan = plan_messages(
        snapshot(standard, QUIET_START, school_holidays=[(date(2027, 1, 18),) * 2])
    )
    assert "2027-01-18" not in nags_by_deadline(plan, 1)
    # The reminder for Tuesday moves from the holiday to Tuesday 07:00, the moment the week's
    # digest moved to as well: the digest lists it.
    assert "2027-01-19" not in nags_by_deadline(plan, 1)
    (digest,) = [p for p in of(plan, "digest", 1) if p.payload["week"] == "2027-01-18"]
    assert local(digest) == at(date(2027, 1, 19), 7)
    # The begeleider gets that week's digest too (exchange day 1 is in it).
    assert "2027-01-19" not in nags_by_deadline(plan, 3)
    assert "2027-01-18" in [p.payload["week"] for p in of(plan, "digest", 3)]


def test_nags_respect_a_custom_lead_time(standard):
    plan = plan_messages(snapshot(standard, QUIET_START), Rules(nag_lead_days=2, nag_time=time(16)))
    assert local(nags_by_deadline(plan, 1)["2027-01-14"]) == at(date(2027, 1, 12), 16)


# -- the clock changes ------------------------------------------------------------------------


def test_across_the_start_of_summer_time(standard):
    # Summer time starts on Sunday 29 March 2026.
    plan = plan_messages(snapshot(standard, date(2026, 3, 9)))
    digests = of(plan, "digest", 1)
    assert [local(p).time() for p in digests] == [time(8)] * 4
    assert [p.due_at for p in digests] == [
        datetime(2026, 3, 9, 7, tzinfo=UTC),
        datetime(2026, 3, 16, 7, tzinfo=UTC),
        datetime(2026, 3, 23, 7, tzinfo=UTC),
        datetime(2026, 3, 30, 6, tzinfo=UTC),
    ]
    days = of(plan, "day_schedule", 1)
    assert [local(p).time() for p in days] == [time(7, 30)] * 3
    assert [p.due_at for p in days] == [
        datetime(2026, 3, 18, 6, 30, tzinfo=UTC),
        datetime(2026, 3, 25, 6, 30, tzinfo=UTC),
        datetime(2026, 4, 1, 5, 30, tzinfo=UTC),
    ]
    # Week 5 starts on Easter Monday: the follow-up waits for Tuesday 07:00.
    (follow_up,) = of(plan, "follow_up", 1)
    assert local(follow_up) == at(date(2026, 4, 7), 7)
    assert follow_up.due_at == datetime(2026, 4, 7, 5, tzinfo=UTC)
    assert {local(p).time() for p in of(plan, "checklist_nag")} <= {time(15), time(7)}


def test_across_the_end_of_summer_time(standard):
    # Summer time ends on Sunday 31 October 2027.
    plan = plan_messages(snapshot(standard, date(2027, 10, 18)))
    digests = of(plan, "digest", 1)
    assert [local(p).time() for p in digests] == [time(8)] * 4
    assert [p.due_at.hour for p in digests] == [6, 6, 7, 7]
    days = of(plan, "day_schedule", 3)
    assert [local(p).time() for p in days] == [time(7, 30)] * 3
    assert [(p.due_at.hour, p.due_at.minute) for p in days] == [(5, 30), (6, 30), (6, 30)]
    nags = nags_by_deadline(plan, 1)
    # both at 15:00 on a Thursday, before and after the change
    assert nags["2027-10-29"].due_at == datetime(2027, 10, 28, 13, tzinfo=UTC)
    assert nags["2027-11-05"].due_at == datetime(2027, 11, 4, 14, tzinfo=UTC)


# -- holidays ---------------------------------------------------------------------------------

SPRING_BREAK = (date(2027, 2, 20), date(2027, 2, 28))


def test_a_school_holiday_week_has_no_digest_and_pushes_move_out(standard):
    # Starting 8 February 2027, week 3 is the spring break (voorjaarsvakantie) of region noord.
    plan = plan_messages(snapshot(standard, date(2027, 2, 8), school_holidays=[SPRING_BREAK]))
    assert [p.payload["week"] for p in of(plan, "digest", 1)] == [
        "2027-02-08",
        "2027-02-15",
        "2027-03-01",
    ]
    assert [p.payload["week"] for p in of(plan, "digest", 3)] == ["2027-02-15", "2027-03-01"]
    # exchange day 2 is still on its default date in the break: no schedule can go out
    assert [p.payload["phase"] for p in of(plan, "day_schedule", 1)] == [
        "exchange_day_1",
        "closing",
    ]
    a = nags_by_deadline(plan, 1)
    # Friday 26 February 15:00 is in the break: Monday 1 March 07:00, the deadline itself, an
    # hour before the digest, which lists closing_games instead.
    assert "2027-03-01" not in a
    # a deadline inside the break cannot be nagged before it is over
    assert "2027-02-24" not in a
    for push in plan:
        assert not SPRING_BREAK[0] <= local(push).date() <= SPRING_BREAK[1]


def test_a_week_only_partly_in_a_holiday_keeps_its_digest(standard):
    plan = plan_messages(
        snapshot(standard, QUIET_START, school_holidays=[(date(2027, 1, 27), date(2027, 1, 31))])
    )
    assert "2027-01-25" in [p.payload["week"] for p in of(plan, "digest", 1)]


def test_easter_monday_moves_pushes_to_tuesday(standard):
    # Starting 15 March 2027: week 3 begins on Easter Monday, 29 March.
    plan = plan_messages(snapshot(standard, date(2027, 3, 15)))
    digest = next(p for p in of(plan, "digest", 1) if p.payload["week"] == "2027-03-29")
    assert local(digest) == at(date(2027, 3, 30), 7)
    assert digest.due_at == datetime(2027, 3, 30, 5, tzinfo=UTC)  # summer time by now
    assert digest.not_after == digest.due_at + timedelta(hours=12)
    b = nags_by_deadline(plan, 2)
    # due Tuesday 30 March, nag on Easter Monday → Tuesday 07:00, with the week's digest: folded
    assert "2027-03-30" not in b
    assert local(next(p for p in of(plan, "digest", 2) if p.payload["week"] == "2027-03-29")) == at(
        date(2027, 3, 30), 7
    )
    # due on Easter Monday itself, nag on Sunday → Tuesday is too late
    assert "2027-03-29" not in b
    for push in plan:
        assert local(push).date() not in (date(2027, 3, 26), date(2027, 3, 29))  # Good Friday


def test_kings_day_moves_pushes_to_the_next_day(standard):
    # Exchange day 1 agreed on Thursday 29 April 2027: its day-before nags fall on King's Day.
    plan = plan_messages(
        snapshot(standard, date(2027, 4, 19), agreed_dates={"exchange_day_1": date(2027, 4, 29)})
    )
    nag = nags_by_deadline(plan, 1)["2027-04-28"]
    assert local(nag) == at(date(2027, 4, 28), 7)
    assert "day1_room_ready" in nag.payload["items"]
    assert local(nags_by_deadline(plan, 3)["2027-04-28"]) == at(date(2027, 4, 28), 7)


def test_a_day_phase_on_a_public_holiday_gets_no_schedule(standard):
    plan = plan_messages(
        snapshot(standard, date(2027, 4, 19), agreed_dates={"exchange_day_1": date(2027, 4, 27)})
    )
    assert "exchange_day_1" not in [p.payload["phase"] for p in of(plan, "day_schedule")]


# -- keys and changes -------------------------------------------------------------------------


def test_a_changed_date_gives_a_new_day_schedule_key(standard):
    before = plan_messages(snapshot(standard, QUIET_START))
    after = plan_messages(
        snapshot(standard, QUIET_START, agreed_dates={"exchange_day_1": date(2027, 1, 21)})
    )
    key = "day:7:exchange_day_1:1:2027-01-20"
    assert key in {p.dedupe_key for p in before}
    assert key not in {p.dedupe_key for p in after}
    assert "day:7:exchange_day_1:1:2027-01-21" in {p.dedupe_key for p in after}
    # what did not change keeps its key, so the outbox keeps its row
    unchanged = {p.dedupe_key for p in before if p.payload.get("phase") == "closing"}
    assert unchanged <= {p.dedupe_key for p in after}


def test_the_plan_is_deterministic(standard):
    assert plan_messages(snapshot(standard, QUIET_START)) == plan_messages(
        snapshot(standard, QUIET_START)
    )


@pytest.mark.parametrize("key", ["standaard", "online", "vriendschapsscholen"])
def test_dedupe_keys_are_unique_and_short(programmes, key):
    members = (
        Member(1, "teacher", "A"),
        Member(11, "teacher", "A"),
        Member(2, "teacher", "B"),
        Member(3, "begeleider", None),
        Member(4, "begeleider", None),
        # one person who is both a teacher and a begeleider of this exchange
        Member(5, "teacher", "B"),
        Member(5, "begeleider", None),
    )
    plan = plan_messages(snapshot(programmes[key], date(2027, 9, 6), members=members))
    keys = [p.dedupe_key for p in plan]
    assert len(keys) == len(set(keys))
    assert max(len(k) for k in keys) <= 200
    assert {p.kind for p in plan} == {*KINDS, DATE_REMINDER}


def test_a_teacher_who_is_also_begeleider_gets_one_nag_per_deadline(standard):
    members = (Member(1, "teacher", "A"), Member(1, "begeleider", None), TEACHER_B)
    plan = plan_messages(snapshot(standard, QUIET_START, members=members))
    # Exchange day 1 on Thursday: its items are due on Wednesday, reminded of on Tuesday.
    agreed = {"exchange_day_1": date(2027, 1, 21)}
    plan = plan_messages(snapshot(standard, QUIET_START, members=members, agreed_dates=agreed))
    nag = nags_by_deadline(plan, 1)["2027-01-20"]
    assert nag.payload["items"] == [
        "day1_room_ready",
        "day1_schedule_checked",
        "day1_emergency_numbers",
        "day1_travel_planned",
    ]
    assert len(of(plan, "digest", 1)) == 4


def test_friendship_schools_alternate_the_guest_items(programmes):
    plan = plan_messages(snapshot(programmes["vriendschapsscholen"], date(2027, 9, 6)))
    a_items = {i for p in of(plan, "checklist_nag", 1) for i in p.payload["items"]}
    b_items = {i for p in of(plan, "checklist_nag", 2) for i in p.payload["items"]}
    # meeting 1 is at school A, meeting 2 at school B
    assert "meeting_transport_01" in b_items
    assert "meeting_transport_01" not in a_items
    assert "meeting_transport_02" in a_items
    assert "meeting_activity_02" in b_items


def test_item_applies():
    from bot.domain.programme import ChecklistItem, Text

    def item(side, role="teacher"):
        return ChecklistItem("x", role, Text("x", "x"), 1, side)

    assert item_applies(item("host"), TEACHER_A, "A")
    assert not item_applies(item("host"), TEACHER_B, "A")
    assert item_applies(item("guest"), TEACHER_B, "A")
    assert not item_applies(item("guest"), TEACHER_A, "A")
    assert item_applies(item("guest"), TEACHER_A, "online")
    assert item_applies(item("host"), TEACHER_B, "both")
    assert item_applies(item("host"), Member(9, "teacher", None), "A")
    assert not item_applies(item("all"), BEGELEIDER, "A")
    assert item_applies(item("all", "begeleider"), BEGELEIDER, "A")


def test_an_inactive_exchange_plans_nothing(standard):
    assert plan_messages(snapshot(standard, QUIET_START, active=False)) == []


def test_no_members_plans_nothing(standard):
    assert plan_messages(snapshot(standard, QUIET_START, members=())) == []


def test_a_snapshot_that_does_not_match_its_programme_is_an_error(standard):
    snap = snapshot(standard, QUIET_START)
    broken = ExchangeSnapshot(snap.id, standard, True, snap.phases[:-1], snap.members)
    with pytest.raises(ValueError, match="missing"):
        plan_messages(broken)
    with pytest.raises(ValueError, match="role"):
        plan_messages(snapshot(standard, QUIET_START, members=[Member(1, "coordinator", None)]))


# -- quiet hours ------------------------------------------------------------------------------

RULES = Rules()
TUESDAY = date(2027, 1, 12)


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (at(TUESDAY, 6, 59), True),
        (at(TUESDAY, 7, 0), False),
        (at(TUESDAY, 20, 59), False),
        (at(TUESDAY, 21, 0), True),
        (at(date(2027, 1, 16), 12), True),  # Saturday
        (at(date(2027, 4, 27), 12), True),  # King's Day
    ],
)
def test_is_quiet(moment, quiet):
    assert is_quiet(moment, RULES) is quiet


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(TUESDAY, 10), at(TUESDAY, 10)),
        (at(TUESDAY, 6), at(TUESDAY, 7)),
        (at(TUESDAY, 22), at(date(2027, 1, 13), 7)),
        (at(date(2027, 1, 15), 22), at(date(2027, 1, 18), 7)),  # Friday night → Monday
        (at(date(2027, 1, 16), 10), at(date(2027, 1, 18), 7)),  # Saturday
        (at(date(2027, 3, 26), 10), at(date(2027, 3, 30), 7)),  # Good Friday → after Easter
        (datetime(2027, 1, 12, 5, 30, tzinfo=UTC), at(TUESDAY, 7)),  # 06:30 in Amsterdam
    ],
)
def test_next_allowed(moment, expected):
    result = next_allowed(moment, RULES)
    assert result == expected
    assert result.utcoffset() == timedelta(0)
    assert not is_quiet(result, RULES)


def test_next_allowed_skips_school_holidays():
    holidays = [SPRING_BREAK]
    assert next_allowed(at(date(2027, 2, 19), 21, 30), RULES, holidays) == at(date(2027, 3, 1), 7)
    assert is_quiet(at(date(2027, 2, 22), 10), RULES, holidays)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        next_allowed(datetime(2027, 1, 12, 10), RULES)


# -- catch-up ---------------------------------------------------------------------------------

DUE = datetime(2027, 1, 11, 7, tzinfo=UTC)


def test_catch_up_a_late_digest():
    not_after = DUE + timedelta(hours=12)
    assert catch_up("digest", DUE, not_after, DUE) == CatchUp(True, False, None)
    assert catch_up("digest", DUE, not_after, DUE + timedelta(minutes=15)).late is False
    assert catch_up("digest", DUE, not_after, DUE + timedelta(hours=11)) == CatchUp(
        True, True, None
    )
    assert catch_up("digest", DUE, not_after, DUE + timedelta(hours=13)) == CatchUp(
        False, True, "too_late"
    )


def test_catch_up_a_day_schedule_only_on_its_day(standard):
    plan = plan_messages(snapshot(standard, QUIET_START))
    push = of(plan, "day_schedule", 1)[0]
    same_evening = at(date(2027, 1, 20), 23)
    next_morning = at(date(2027, 1, 21), 0, 1)
    assert catch_up(push.kind, push.due_at, push.not_after, same_evening) == CatchUp(
        True, True, None
    )
    assert catch_up(push.kind, push.due_at, push.not_after, next_morning).reason == "too_late"


def test_catch_up_a_nag_after_its_deadline(standard):
    plan = plan_messages(snapshot(standard, QUIET_START))
    push = nags_by_deadline(plan, 1)["2027-01-15"]
    assert catch_up(push.kind, push.due_at, push.not_after, at(date(2027, 1, 15), 9)).send
    assert catch_up(push.kind, push.due_at, push.not_after, at(date(2027, 1, 16), 9)) == CatchUp(
        False, True, "too_late"
    )


def test_catch_up_before_due_other_kinds_and_naive_times():
    # an early pick-up is not a reason to lose the push
    assert catch_up("digest", DUE, DUE, DUE - timedelta(minutes=1)) == CatchUp(True, False, None)
    # kinds planned elsewhere (alerts, proposals) follow the same rule
    assert catch_up("incident_alert", DUE, DUE, DUE) == CatchUp(True, False, None)
    with pytest.raises(ValueError, match="aware"):
        catch_up("digest", DUE, DUE, datetime(2027, 1, 11, 7))
