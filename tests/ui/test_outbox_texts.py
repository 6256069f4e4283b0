"""The texts of outbox messages, written from data built by hand: no database, no Telegram.

Expected words come from the catalogue (`texts.get`), so a copy edit breaks no test here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.dates import format_date, format_time
from bot.domain.outbox import (
    DATE_PROPOSAL,
    DAY_SCHEDULE,
    INCIDENT_ALERT,
    INCIDENT_REPEAT,
    INCIDENT_SEEN,
    INCIDENT_SOLVED,
    INCIDENT_UPDATE,
    MEMBER_JOINED,
    PAYLOADS,
    USER_BACK,
    USER_BLOCKED,
    DayPayload,
    IncidentNotePayload,
    NagPayload,
    check_payload,
    note_of,
    read_payload,
)
from bot.domain.programme import Programme, load_programmes
from bot.domain.timeline import plan_phases
from bot.services import checklists
from bot.services.outbox_content import (
    Agreed,
    Alert,
    CheckinMissing,
    Content,
    DaySchedule,
    Declined,
    Digest,
    FollowUp,
    InviteTried,
    MemberNews,
    Nag,
    Proposal,
    ReporterNotice,
    Undelivered,
)
from bot.texts import Markup, Texts, get_texts
from bot.ui import callbacks
from bot.ui.outbox import Rendered, day_line, render
from db.models import (
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    DateProposal,
    Exchange,
    ExchangePhase,
    ExchangeSide,
    Incident,
    IncidentAction,
    Membership,
    School,
    User,
)

AMS = ZoneInfo("Europe/Amsterdam")
MONDAY = date(2027, 1, 11)  # the first week of the programme below
TITLE = "De Klimop – Het Anker"
ACK_MINUTES = 10


@pytest.fixture(scope="module")
def texts() -> Texts:
    return get_texts()


@pytest.fixture(scope="module")
def programme() -> Programme:
    return load_programmes()["standaard"]


def person(user_id: int, name: str, username: str | None = None) -> User:
    return User(id=user_id, display_name=name, username=username, language="nl")


ANOUK = person(1, "Anouk")
BRAM = person(2, "Bram")
CEES = person(3, "Cees")
COORDINATOR = person(9, "Karin", "karin_coord")


def exchange(programme: Programme, *, agreed: bool = False) -> Exchange:
    """Exchange #7 of the standard programme from 11 January 2027, with two teachers and a
    begeleider, as services.exchanges.load_exchange gives it."""
    found = Exchange(id=7, programme_key=programme.key, city="Utrecht", start_date=MONDAY)
    found.sides = [
        ExchangeSide(
            side="A",
            class_name="7A",
            class_size=24,
            school=School(name="De Klimop", city="Utrecht", address="Laan 1"),
        ),
        ExchangeSide(
            side="B",
            class_name="8B",
            class_size=22,
            school=School(name="Het Anker", city="Utrecht", address=None),
        ),
    ]
    found.phases = [
        ExchangePhase(
            phase_key=p.key,
            starts_on=p.starts_on,
            ends_on=p.ends_on,
            start_time=p.start_time,
            host=p.host,
            agreed=agreed,
        )
        for p in plan_phases(programme, MONDAY)
    ]
    found.memberships = [
        Membership(user_id=ANOUK.id, user=ANOUK, role=ROLE_TEACHER, side="A"),
        Membership(user_id=BRAM.id, user=BRAM, role=ROLE_TEACHER, side="B"),
        Membership(user_id=CEES.id, user=CEES, role=ROLE_BEGELEIDER, side=None),
    ]
    return found


def phase(found: Exchange, key: str) -> ExchangePhase:
    return next(p for p in found.phases if p.phase_key == key)


def write(texts: Texts, content: Content, lang: str = "nl") -> Rendered:
    return render(texts, lang, content, tz=AMS, ack_minutes=ACK_MINUTES)


def button_data(rendered: Rendered) -> list[str]:
    return [b.data for row in rendered.buttons for b in row]


# -- planned pushes -----------------------------------------------------------------------------


def test_digest_shows_the_week_and_the_open_items_due_this_coming_week(texts, programme) -> None:
    found = exchange(programme)
    entries = checklists.entries(
        programme, found.phases, ROLE_TEACHER, "A", {("A", "booklet_planned"): "Anouk"}
    )
    content = Digest(found, programme, MONDAY, late=False, teaches=True, entries=tuple(entries))
    rendered = write(texts, content)
    orientation = programme.phase("orientation")
    assert rendered.text.startswith(
        texts.get("nl", "digest.title", week=1, weeks=programme.weeks, title=TITLE)
    )
    assert texts.get("nl", "digest.late") not in rendered.text
    assert (
        texts.get(
            "nl",
            "digest.phase",
            phase=orientation.name.get("nl"),
            description=orientation.description.get("nl"),
        )
        in rendered.text
    )
    horizon = MONDAY + timedelta(days=7)  # from today through the coming seven days
    due = [e for e in entries if not e.done and e.deadline <= horizon]
    later = [e for e in entries if not e.done and e.deadline > horizon]
    assert due and later
    assert texts.get("nl", "digest.todo_header") in rendered.text
    checks = [d for d in button_data(rendered) if d.startswith(callbacks.CHECK_PREFIX)]
    # Nine are due; the digest offers eight and counts the rest with what comes later.
    assert len(due) == 9
    assert checks == [callbacks.check(7, e.item.key) for e in due[:8]]
    assert callbacks.check(7, "booklet_planned") not in button_data(rendered)
    more = texts.amount("nl", "digest.todo_more", len(later) + 1)
    assert more == f"Voor later staan er nog {len(later) + 1} punten in /checklist."
    assert more in rendered.text


def test_digest_marks_overdue_items_and_offers_no_item_of_a_phase_that_is_over(
    texts, programme
) -> None:
    found = exchange(programme)
    entries = checklists.entries(programme, found.phases, ROLE_TEACHER, "A", {})
    week_2 = MONDAY + timedelta(days=7)
    content = Digest(found, programme, week_2, late=False, teaches=True, entries=tuple(entries))
    rendered = write(texts, content)
    labels = [b.label for row in rendered.buttons for b in row if b.data and "booklet" in b.data]
    assert labels == []  # the orientation week is over
    late = next(e for e in entries if e.item.key == "conflict_agreements")
    assert late.deadline < week_2 <= late.ends_on
    assert (
        texts.get(
            "nl",
            "digest.todo_late",
            item=f"Dag 1 · {late.item.text.nl}",
            deadline=format_date(late.deadline, "nl"),
        )
        in rendered.text
    )
    day_1 = [b.label for row in rendered.buttons for b in row if b.data and "day1_" in b.data]
    assert day_1 and all(str(label).startswith("⬜ Dag 1 · ") for label in day_1)
    assert len(button_data(rendered)) <= checklists.DIGEST_MAX_ITEMS + 1  # and /datum


def test_a_late_digest_says_so_and_only_teachers_get_the_hint_to_agree(texts, programme) -> None:
    found = exchange(programme)
    second_week = date(2027, 1, 18)  # exchange day 1, not agreed yet
    for teaches in (True, False):
        content = Digest(found, programme, second_week, late=True, teaches=teaches, entries=())
        rendered = write(texts, content)
        assert texts.get("nl", "digest.late") in rendered.text
        assert texts.get("nl", "digest.days_header") in rendered.text
        line = day_line(texts, "nl", found, programme, phase(found, "exchange_day_1"))
        assert line in rendered.text
        assert (texts.get("nl", "digest.agree_hint") in rendered.text) is teaches
        # Teachers get the button that starts /datum for this exchange; begeleiders nothing.
        agree = [callbacks.action(callbacks.DATE_START_PREFIX, 7)]
        assert button_data(rendered) == (agree if teaches else [])


def test_follow_up_carries_the_programmes_tips(texts, programme) -> None:
    rendered = write(texts, FollowUp(exchange(programme), programme))
    assert rendered.text == texts.get(
        "nl", "digest.follow_up", title=TITLE, tips=programme.follow_up.get("nl").strip()
    )


def test_day_schedule_ends_with_whom_to_call(texts, programme) -> None:
    found = exchange(programme)
    day = phase(found, "exchange_day_1")
    rendered = write(texts, DaySchedule(found, programme, day, (COORDINATOR,)))
    assert rendered.text.startswith(
        texts.get(
            "nl",
            "day.title",
            phase=programme.phase("exchange_day_1").name.get("nl"),
            title=TITLE,
            date=format_date(day.starts_on, "nl"),
        )
    )
    assert rendered.text.endswith(texts.get("nl", "day.contact", names="Karin (@karin_coord)"))
    nobody_to_call = write(texts, DaySchedule(found, programme, day, ()))
    assert "Karin" not in nobody_to_call.text


def test_nag_lists_only_what_it_is_given(texts, programme) -> None:
    found = exchange(programme)
    open_items = tuple(
        e
        for e in checklists.entries(programme, found.phases, ROLE_TEACHER, "A", {})
        if e.item.key in ("parents_informed", "consent_collected")
    )
    rendered = write(texts, Nag(found, date(2027, 1, 15), open_items))
    assert rendered.text == texts.get(
        "nl", "nag.text", title=TITLE, deadline=format_date(date(2027, 1, 15), "nl")
    )
    assert button_data(rendered) == [
        callbacks.check(7, "parents_informed"),
        callbacks.check(7, "consent_collected"),
    ]


def test_missing_checkins_name_the_begeleiders(texts, programme) -> None:
    found = exchange(programme)
    day = phase(found, "exchange_day_1")
    rendered = write(texts, CheckinMissing(found, programme, day, ("Cees", "Dirk")))
    assert rendered.text == texts.get(
        "nl",
        "checkin.missing_alert",
        id=7,
        title=TITLE,
        phase=programme.phase("exchange_day_1").name.get("nl"),
        time=format_time(time(8, 45)),
        names="Cees, Dirk",
    )


# -- dates ----------------------------------------------------------------------------------------


def test_a_proposal_names_who_proposes_and_has_the_buttons_to_answer(texts, programme) -> None:
    found = exchange(programme)
    proposal = DateProposal(
        id=31, phase_key="exchange_day_1", day=date(2027, 1, 21), start_time=time(9, 15), side="B"
    )
    rendered = write(texts, Proposal(found, programme, proposal, "Bram"))
    assert rendered.text == texts.get(
        "nl",
        "date_agreement.proposal_notice",
        name="Bram",
        school="Het Anker",
        phase=programme.phase("exchange_day_1").name.get("nl"),
        when=f"{format_date(date(2027, 1, 21), 'nl')}, {format_time(time(9, 15))}",
        id=7,
        title=TITLE,
    )
    assert button_data(rendered) == [
        callbacks.action(callbacks.ACCEPT_PREFIX, 31),
        callbacks.action(callbacks.OTHER_PREFIX, 31),
    ]


def test_agreed_and_declined_dates(texts, programme) -> None:
    found = exchange(programme, agreed=True)
    day = phase(found, "closing")
    agreed = write(texts, Agreed(found, programme, day))
    line = day_line(texts, "nl", found, programme, day)
    notice = texts.get("nl", "date_agreement.agreed_notice", id=7, title=TITLE, line=Markup(line))
    # Whoever has the dates in a calendar hears that /agenda has the new ones, with a button.
    assert agreed.text == f"{notice}\n\n{texts.get('nl', 'calendar.changed')}"
    assert button_data(agreed) == [callbacks.action(callbacks.CALENDAR_PREFIX, 7)]
    declined = write(texts, Declined(found, programme, "closing", "Anouk"), lang="en")
    assert declined.text == texts.get(
        "en",
        "date_agreement.declined_notice",
        name="Anouk",
        phase=programme.phase("closing").name.get("en"),
        title=TITLE,
    )


# -- incidents ------------------------------------------------------------------------------------

REPORTED = datetime(2027, 1, 20, 10, 5, tzinfo=AMS).astimezone(UTC)


def incident(status: str = "open", *, photo: str | None = None) -> Incident:
    return Incident(
        id=12,
        exchange_id=7,
        reported_by=CEES.id,
        category="injury",
        severity="high",
        team_number=3,
        description="Gevallen op het plein",
        photo_file_id=photo,
        status=status,
        created_at=REPORTED,
        actions=[],
    )


def act(found: Incident, action: str, who: User, minutes: int, note: str | None = None) -> None:
    at = datetime(2027, 1, 20, 10, 5 + minutes, tzinfo=AMS).astimezone(UTC)
    found.actions.append(
        IncidentAction(id=len(found.actions) + 1, action=action, user=who, note=note, at=at)
    )


def test_an_alert_says_what_happened_with_both_buttons_while_open(texts, programme) -> None:
    found = incident(photo="photo-file-id")
    rendered = write(texts, Alert(INCIDENT_ALERT, exchange(programme), found, "Cees"))
    assert rendered.text.splitlines()[:2] == [
        texts.get(
            "nl",
            "incidents.head_high",
            id=12,
            category=texts.plain("nl", "incidents.category_injury"),
        ),
        texts.get("nl", "incidents.where", id=7, title=TITLE, time="10:05", name="Cees"),
    ]
    assert texts.get("nl", "incidents.team", team=3) in rendered.text
    assert texts.get("nl", "incidents.what", text="Gevallen op het plein") in rendered.text
    assert button_data(rendered) == [
        callbacks.action(callbacks.ACK_PREFIX, 12),
        callbacks.action(callbacks.RESOLVE_PREFIX, 12),
    ]
    assert rendered.photo == "photo-file-id"
    assert rendered.file_caption == texts.get(
        "nl",
        "incidents.photo_caption",
        id=12,
        category=texts.plain("nl", "incidents.category_injury"),
        severity=texts.plain("nl", "incidents.severity_high").lower(),
    )


def test_a_repeat_says_how_long_nobody_answered(texts, programme) -> None:
    rendered = write(texts, Alert(INCIDENT_REPEAT, exchange(programme), incident(), "Cees"))
    assert rendered.text.splitlines()[0] == texts.get(
        "nl", "incidents.repeat", wait=texts.amount("nl", "common.minutes", ACK_MINUTES)
    )
    assert rendered.photo is None and rendered.file_caption is None


def test_an_addition_shows_the_note_and_who_has_seen_it(texts, programme) -> None:
    found = incident("acknowledged")
    act(found, "ack", ANOUK, 3)
    alert = Alert(INCIDENT_UPDATE, exchange(programme), found, "Cees", note="Bij de poort")
    rendered = write(texts, alert)
    assert rendered.text.splitlines() == [
        texts.get("nl", "incidents.update", id=12, note="Bij de poort"),
        texts.get("nl", "incidents.seen_by", name="Anouk", time="10:08"),
    ]
    assert button_data(rendered) == [callbacks.action(callbacks.RESOLVE_PREFIX, 12)]


def test_a_solved_alert_has_no_buttons_and_says_who_solved_it(texts, programme) -> None:
    found = incident("resolved")
    act(found, "resolve", BRAM, 20, note="Pleister erop")
    rendered = write(texts, Alert(INCIDENT_ALERT, exchange(programme), found, "Cees"))
    assert rendered.text.endswith(
        texts.get(
            "nl", "incidents.resolved_by_note", name="Bram", time="10:25", note="Pleister erop"
        )
    )
    assert rendered.buttons == ()


def test_the_reporter_hears_who_saw_and_who_solved_it(texts) -> None:
    found = incident("resolved")
    act(found, "ack", ANOUK, 2)
    act(found, "resolve", BRAM, 20, note="Pleister erop")
    act(found, "close", COORDINATOR, 30)
    seen, solved, closed = found.actions
    assert write(texts, ReporterNotice(INCIDENT_SEEN, found, seen)).text == texts.get(
        "nl", "incidents.seen_notice", id=12, name="Anouk", time="10:07", note=""
    )
    assert write(texts, ReporterNotice(INCIDENT_SOLVED, found, solved)).text == texts.get(
        "nl",
        "incidents.solved_notice_note",
        id=12,
        name="Bram",
        time="10:25",
        note="Pleister erop",
    )
    assert write(texts, ReporterNotice(INCIDENT_SOLVED, found, closed)).text == texts.get(
        "nl", "incidents.closed_notice", id=12, name="Karin", time="10:35", note=""
    )


# -- what did not arrive --------------------------------------------------------------------------


def test_undelivered_says_what_to_whom_and_why(texts, programme) -> None:
    found = exchange(programme)
    content = Undelivered(
        found,
        programme,
        DATE_PROPOSAL,
        "Bram",
        "blocked",
        phase_key="exchange_day_1",
        day=date(2027, 1, 21),
    )
    what = texts.get(
        "nl",
        "undelivered.what_date_proposal",
        phase=programme.phase("exchange_day_1").name.get("nl"),
        day=format_date(date(2027, 1, 21), "nl"),
        incident="?",
    )
    assert write(texts, content).text == texts.get(
        "nl",
        "undelivered.notice",
        what=Markup(what),
        name="Bram",
        id=7,
        title=TITLE,
        reason=Markup(texts.get("nl", "undelivered.reason_blocked", name="Bram")),
    )


def test_undelivered_alert_names_the_incident(texts, programme) -> None:
    content = Undelivered(
        exchange(programme), programme, INCIDENT_ALERT, "Anouk", "too_late", incident=12
    )
    what = texts.get("nl", "undelivered.what_incident_alert", phase="", day="", incident=12)
    assert what in write(texts, content).text


def test_member_news_names_the_role(texts, programme) -> None:
    found = exchange(programme)
    blocked = write(texts, MemberNews(USER_BLOCKED, found, "Bram", ROLE_TEACHER, "B"))
    assert blocked.text == texts.get(
        "nl",
        "undelivered.blocked_notice",
        name="Bram",
        role=texts.plain("nl", "undelivered.role_teacher", school="Het Anker"),
        id=7,
        title=TITLE,
    )
    back = write(texts, MemberNews(USER_BACK, found, "Cees", ROLE_BEGELEIDER, None))
    assert back.text == texts.get(
        "nl",
        "undelivered.back_notice",
        name="Cees",
        role=texts.plain("nl", "undelivered.role_begeleider"),
        id=7,
        title=TITLE,
    )
    joined = write(texts, MemberNews(MEMBER_JOINED, found, "Youssef", ROLE_BEGELEIDER, None))
    assert joined.text == texts.get(
        "nl",
        "invites.joined_notice",
        name="Youssef",
        role=texts.plain("nl", "undelivered.role_begeleider"),
        id=7,
        title=TITLE,
    )


def test_a_link_that_no_longer_works_offers_new_links(texts, programme) -> None:
    found = exchange(programme)
    for why in ("expired", "used_up"):
        tried = write(texts, InviteTried(found, ROLE_TEACHER, "B", why))
        assert tried.text == texts.get(
            "nl",
            f"invites.tried_{why}",
            role=texts.plain("nl", "undelivered.role_teacher", school="Het Anker"),
            id=7,
            title=TITLE,
        )
        assert [[b.key for b in row] for row in tried.buttons] == [["invites.btn_new"]]


# -- the stored payloads these texts are written from ---------------------------------------------


def test_every_kind_has_a_payload_and_stored_rows_read_back() -> None:
    stored = {"phase": "exchange_day_1", "date": "2027-01-20"}
    check_payload(DAY_SCHEDULE, stored)
    assert read_payload(DayPayload, stored) == stored
    check_payload("follow_up", {})
    with pytest.raises(ValueError, match="unknown"):
        check_payload(DAY_SCHEDULE, {**stored, "extra": 1})
    with pytest.raises(ValueError, match="missing"):
        check_payload(INCIDENT_UPDATE, {"incident": 12})
    with pytest.raises(ValueError, match="unknown outbox kind"):
        check_payload("telegram", {})
    with pytest.raises(KeyError):
        read_payload(NagPayload, {"deadline": "2027-01-15"})
    assert INCIDENT_UPDATE in PAYLOADS


def test_a_purged_addition_reads_as_an_empty_note() -> None:
    assert note_of(IncidentNotePayload(incident=12, note="Bij de poort")) == "Bij de poort"
    assert note_of({"purged": True}) == ""
