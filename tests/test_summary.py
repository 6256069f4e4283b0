"""A coordinator's Monday summary, through a fragment of a season: the week's exchange days,
the pairs that need attention, open incidents, and the routine notices they chose to gather
(joins, agreed dates) instead of getting them one by one. Incidents always come at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.services import summary
from db.models import OUTBOX_SENT, OUTBOX_SKIPPED, OutboxMessage
from fake_telegram import FakeUser
from tests.fixtures import AMS, said, said_any
from tests.flows import create_exchange, make_invites, only
from tests.harness import Harness

TITLE = "De Avonturijn – De Odyssee"
LABEL = f"#1 {TITLE}"


def teacher_of(school: str) -> str:
    return said("summary.role_teacher", school=school)


def monday(day: int, month: int = 2) -> datetime:
    """09:00 on a Monday of 2027 in Amsterdam, when the summary is due."""
    return datetime(2027, month, day, 9, 0, tzinfo=AMS)


async def summaries_sent(h: Harness, user: FakeUser) -> list[str]:
    """The texts of the Monday summaries the user got, in order."""
    pattern = said_any("summary.title")
    return [m.text for m in h.tg.messages(user.id) if m.text and pattern.match(m.text)]


async def summary_rows(h: Harness) -> list[tuple[str, str, str | None]]:
    """(week, status, last error) of every summary row, in order."""
    assert h.db is not None
    async with h.db.read() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "coordinator_week")
            .order_by(OutboxMessage.due_at)
        )
        return [(r.payload["week"], r.status, r.last_error) for r in rows]


async def choose_gathering(h: Harness, coordinator: FakeUser) -> None:
    view = only(await h.send(coordinator, "/instellingen"))
    await h.press(coordinator, view, said("settings.btn_gather"))


async def join_all(
    h: Harness, coordinator: FakeUser, exchange_id: int
) -> tuple[list[FakeUser], int]:
    """Two teachers and a begeleider join; with the coordinator's last message before."""
    invites = await make_invites(h, coordinator, exchange_id)
    mark = h.tg.last_message_id(coordinator.id)
    people = [h.user(2001, "Anouk"), h.user(2002, "Fatima"), h.user(3001, "Ghislaine")]
    for person, token in zip(
        people, (invites.teacher_a, invites.teacher_b, invites.begeleider), strict=True
    ):
        await h.send(person, f"/start {token}")
    return people, mark


async def agree_day_1(h: Harness, teacher_a: FakeUser, teacher_b: FakeUser) -> None:
    """Anouk proposes Thursday 11 February, 09:30 for day 1; Fatima accepts."""
    question = only(await h.send(teacher_a, "/datum"))
    day = only(await h.press(teacher_a, question, "Uitwisselingsdag 1"))
    only(await h.press(teacher_a, day, "donderdag 11 februari"))
    await h.send(teacher_a, "9.30")
    await h.dispatch()
    proposal = h.tg.last_message(teacher_b.id)
    assert proposal is not None
    await h.press(teacher_b, proposal, said("date_agreement.btn_accept"))


async def report_incident(h: Harness, begeleider: FakeUser) -> None:
    replies = await h.send(begeleider, "/incident")
    await h.press(begeleider, replies[-1], "Ruzie tussen leerlingen")
    await h.press(begeleider, h.tg.last_message(begeleider.id), "Hoog")  # type: ignore[arg-type]
    await h.press(begeleider, h.tg.last_message(begeleider.id), "3")  # type: ignore[arg-type]
    await h.send(begeleider, "Duwen bij het klimrek")
    await h.press(begeleider, h.tg.last_message(begeleider.id), "Geen foto")  # type: ignore[arg-type]
    await h.press(begeleider, h.tg.last_message(begeleider.id), "Versturen")  # type: ignore[arg-type]


async def test_a_season_of_monday_summaries_with_gathered_notices(harness: Harness) -> None:
    h = harness
    coordinator = h.user(1000, "Carla", username="carla_wimw")
    exchange_id = await create_exchange(h, coordinator, start="1 februari")
    await choose_gathering(h, coordinator)
    (teacher_a, teacher_b, begeleider), mark = await join_all(h, coordinator, exchange_id)
    await h.dispatch()
    # Joins are gathered: no message of their own.
    assert h.tg.messages_since(coordinator.id, mark) == []
    assert not any(
        said_any("invites.joined_notice").match(m.text or "") for m in h.tg.messages(coordinator.id)
    )

    # Monday 18 January, the first Monday after the pair was made: the joins, gathered.
    await h.run_until(monday(18, 1))
    (joins,) = await summaries_sent(h, coordinator)
    assert joins.startswith(said("summary.title", date="maandag 18 januari"))
    assert said("summary.gathered_header") in joins
    people = said(
        "summary.and",
        first=", ".join(
            [
                said(
                    "summary.person",
                    name="Anouk",
                    role=said("summary.role_teacher", school="De Avonturijn"),
                ),
                said(
                    "summary.person",
                    name="Fatima",
                    role=said("summary.role_teacher", school="De Odyssee"),
                ),
            ]
        ),
        last=said("summary.person", name="Ghislaine", role=said("summary.role_begeleider")),
    )
    # Who joined, one line for the pair.
    assert said("summary.joined_many", title=TITLE, people=people) in joins
    assert said("summary.days_header") not in joins  # the programme has not started yet

    # Tuesday 26 January: the teachers agree day 1. The teachers hear it; the coordinator's
    # notice waits for Monday.
    await h.run_until(datetime(2027, 1, 26, 10, 0, tzinfo=AMS))
    mark = h.tg.last_message_id(coordinator.id)
    await agree_day_1(h, teacher_a, teacher_b)
    await h.dispatch()
    assert h.tg.messages_since(coordinator.id, mark) == []
    assert said_any("date_agreement.agreed_notice").match(h.tg.last_message(teacher_a.id).text)  # type: ignore[union-attr, arg-type]

    # Monday 1 February, week 1: the agreed date, and not the joins again.
    await h.run_until(monday(1))
    first = (await summaries_sent(h, coordinator))[-1]
    assert first.startswith(said("summary.title", date="maandag 1 februari"))
    assert said("summary.gathered_header") in first
    assert "Anouk" not in first
    agreed = said("summary.agreed", day="Dag 1", when="donderdag 11 februari, 09:30", title=TITLE)
    assert agreed in first
    assert said("summary.days_header") not in first  # no exchange day in week 1
    assert said("summary.incidents_header") not in first

    # Monday 8 February, the week of day 1: the day with its begeleider, and the pair needs
    # attention (week 1 is over, days 2 and the closing are not agreed).
    await h.run_until(monday(8))
    second = (await summaries_sent(h, coordinator))[-1]
    day_line = said(
        "summary.day",
        when="donderdag 11 februari, 09:30",
        phase="Uitwisselingsdag 1",
        label=LABEL,
        host="bij De Avonturijn",
        begeleiders=said("summary.begeleiders_one", count=1),
    )
    assert said("summary.days_header") + "\n" + day_line in second
    assert said("summary.attention_header") + "\n" + said("summary.pair", label=LABEL) in second
    assert "Uitwisselingsdag 2" in second  # the open days, as /overzicht words them
    # What the first summary listed is not listed again.
    assert said("summary.gathered_header") not in second

    # Day 1: an incident reaches the coordinator at once, gathering or not.
    await h.run_until(datetime(2027, 2, 11, 11, 0, tzinfo=AMS))
    mark = h.tg.last_message_id(coordinator.id)
    await report_incident(h, begeleider)
    await h.dispatch()
    alert = only(h.tg.messages_since(coordinator.id, mark))
    assert "Ruzie tussen leerlingen" in alert.text  # type: ignore[operator]

    # Monday 15 February: the incident nobody saw is still open.
    await h.run_until(monday(15))
    third = (await summaries_sent(h, coordinator))[-1]
    incident = said(
        "summary.incident",
        id=1,
        category="Ruzie tussen leerlingen",
        severity="hoog",
        title=TITLE,
        state=said("summary.incident_open"),
    )
    assert said("summary.incidents_header") + "\n" + incident in third

    # One summary a Monday, each at 09:00; 25 January had nothing to tell.
    assert [(week, status) for week, status, _ in await summary_rows(h)][:5] == [
        ("2027-01-18", OUTBOX_SENT),
        ("2027-01-25", OUTBOX_SKIPPED),
        ("2027-02-01", OUTBOX_SENT),
        ("2027-02-08", OUTBOX_SENT),
        ("2027-02-15", OUTBOX_SENT),
    ]
    sent = [x for x in await h.pushes() if x.kind == "coordinator_week"]
    assert [x.local for x in sent] == [
        "2027-01-18 09:00",
        "2027-02-01 09:00",
        "2027-02-08 09:00",
        "2027-02-15 09:00",
    ]
    gathered = [x for x in await h.pushes(OUTBOX_SKIPPED) if x.error == summary.GATHERED]
    assert sorted(x.kind for x in gathered) == [
        "date_agreed",
        "member_joined",
        "member_joined",
        "member_joined",
    ]


async def test_without_gathering_a_join_comes_at_once_and_is_not_listed_again(
    harness: Harness,
) -> None:
    h = harness
    coordinator = h.user(1000, "Carla", username="carla_wimw")
    exchange_id = await create_exchange(h, coordinator, start="1 februari")
    _, mark = await join_all(h, coordinator, exchange_id)
    await h.dispatch()
    notices = h.tg.messages_since(coordinator.id, mark)
    assert len(notices) == 3
    assert all(said_any("invites.joined_notice").match(m.text or "") for m in notices)
    # Monday of week 1: the summary tells what needs attention, without the joins.
    await h.run_until(monday(1))
    (first,) = await summaries_sent(h, coordinator)
    assert said("summary.attention_header") in first
    assert said("summary.gathered_header") not in first
    assert "Anouk" not in first
    assert [x.error for x in await h.pushes(OUTBOX_SKIPPED)].count(summary.GATHERED) == 0


async def test_gathering_switched_off_again_sends_notices_at_once(harness: Harness) -> None:
    h = harness
    coordinator = h.user(1000, "Carla", username="carla_wimw")
    exchange_id = await create_exchange(h, coordinator, start="1 februari")
    await choose_gathering(h, coordinator)
    view = only(await h.send(coordinator, "/instellingen"))
    await h.press(coordinator, view, said("settings.btn_immediate"))
    _, mark = await join_all(h, coordinator, exchange_id)
    await h.dispatch()
    assert len(h.tg.messages_since(coordinator.id, mark)) == 3
