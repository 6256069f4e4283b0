"""Issue 7, points 4, 6 and 7: every message arrives whole, none is lost silently, and a
timeout is not a failure.

Through the real bot and the fake Bot API, which refuses texts over 4,096 and captions over
1,024 UTF-16 units after HTML parsing, as Telegram does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.delivery import CAPTION_LIMIT, TEXT_LIMIT, split_message, utf16_len, visible_len
from bot.services import importer, outbox
from db.models import (
    CheckIn,
    DateProposal,
    ExchangePhase,
    Incident,
    IncidentAction,
    Membership,
    OutboxMessage,
    User,
)
from fake_telegram import BotMessage
from tests.fixtures import AMS, START, make_settings, said
from tests.flows import JoinedExchange, joined_exchange, only
from tests.harness import Harness

SORRY = said("errors.sorry")


def assert_fits(messages: Sequence[BotMessage]) -> None:
    for message in messages:
        limit = CAPTION_LIMIT if (message.photo or message.document) else TEXT_LIMIT
        assert utf16_len(message.text or "") <= limit


# -- point 4: one length rule -----------------------------------------------------------------


def test_split_measures_like_telegram_and_loses_nothing() -> None:
    line = "<b>Jan</b> zag een eend 🦆 &amp; een zwaan — echt waar"
    text = "\n".join(f"{n}. {line}" for n in range(300))
    parts = split_message(text)
    assert len(parts) > 1
    assert all(visible_len(p) <= TEXT_LIMIT for p in parts)
    # Every line is whole in exactly one part, with its tags balanced.
    for n in range(300):
        assert sum(p.split("\n").count(f"{n}. {line}") for p in parts) == 1
    # A tag open across a split is closed and opened again; a long line is cut between words.
    long_line = "<i>" + " ".join(["woord"] * 2000) + "</i>"
    pieces = split_message(long_line)
    assert all(p.startswith("<i>") and p.endswith("</i>") for p in pieces)
    assert " ".join(p[3:-4].strip() for p in pieces).split(" ") == ["woord"] * 2000
    # 600 emoji are 1,200 UTF-16 units: too long for a caption though only 600 characters.
    assert visible_len("🦆" * 600) == 1200 and len("🦆" * 600) < CAPTION_LIMIT


async def report_incident(h: Harness, p: JoinedExchange, description: str) -> None:
    b = p.begeleider
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Schade")
    await h.press(b, h.tg.last_message(b.id), "Hoog")  # type: ignore[arg-type]
    await h.press(b, h.tg.last_message(b.id), "Geen team / weet niet")  # type: ignore[arg-type]
    await h.send(b, description)
    mark = h.tg.last_message_id(b.id)
    await h.processed(h.tg.push_photo(b, caption=None))
    confirm = h.tg.messages_since(b.id, mark)[-1]
    await h.press(b, confirm, "Versturen")


async def test_incident_with_photo_and_long_text_reaches_everyone_whole(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    # Under 1,024 characters, but over 1,024 UTF-16 units: the emoji count double.
    description = " ".join(["Ruit kapot 🪟🔨🪟🔨"] * 60)
    assert len(description) < CAPTION_LIMIT < utf16_len(description)
    await h.run_until(datetime(2027, 2, 10, 9, 0, tzinfo=AMS))  # exchange day 1
    await report_incident(h, p, description)
    await h.run_until(h.clock.now() + timedelta(minutes=1))
    assert await h.pushes("failed") == []
    for person in (p.coordinator, p.teacher_a, p.teacher_b):
        messages = [m for m in h.tg.messages(person.id) if m.photo or "Melding #" in m.text]
        photo = next(m for m in messages if m.photo is not None)
        after = [m for m in messages if m.message_id > photo.message_id]
        text = "\n".join(m.text or "" for m in after)
        assert description in text, person.first_name
        # The buttons are on the last message, which the outbox row points at.
        assert after[-1].button_texts
    async with h.db.read() as session:  # type: ignore[union-attr]
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "incident_alert")
            )
        )
    assert rows and all(r.sent_as_caption is False and r.telegram_message_id for r in rows)


async def test_a_photo_whose_text_goes_separately_says_what_it_belongs_to(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    description = " ".join(["Ruit kapot 🪟🔨🪟🔨"] * 60)
    await h.run_until(datetime(2027, 2, 10, 9, 0, tzinfo=AMS))
    await report_incident(h, p, description)
    await h.run_until(h.clock.now() + timedelta(minutes=1))
    assert h.db is not None
    async with h.db.read() as session:
        incident = await session.scalar(select(Incident))
    assert incident is not None
    caption = f"📷 Foto bij melding #{incident.id}: Schade (hoog)"
    alerts = {}
    for person in (p.coordinator, p.teacher_a, p.teacher_b):
        photo = next(m for m in h.tg.messages(person.id) if m.photo is not None)
        assert photo.text == caption, person.first_name
        assert not photo.button_texts
        text = [m for m in h.tg.messages(person.id) if m.message_id > photo.message_id]
        assert description in "\n".join(m.text for m in text)
        assert text[-1].button_texts
        alerts[person.id] = (photo, text[-1])
    # The buttons sit on the text message, which is what gets edited when someone acts.
    photo, alert = alerts[p.teacher_a.id]
    await h.press(p.teacher_a, alert, "Gezien ✋")
    for person in (p.coordinator, p.teacher_b):
        photo, alert = alerts[person.id]
        now_alert = next(m for m in h.tg.messages(person.id) if m.message_id == alert.message_id)
        now_photo = next(m for m in h.tg.messages(person.id) if m.message_id == photo.message_id)
        assert "Gezien door Anouk" in now_alert.text
        assert now_photo.text == caption
    assert not any(SORRY in m.text for m in h.tg.messages(p.teacher_a.id))

    # In English for an English reader.
    async with h.db.write() as session:
        reader = await session.get(User, p.teacher_b.id)
        assert reader is not None
        reader.language = "en"
    mark = h.tg.last_message_id(p.teacher_b.id)
    await report_incident(h, p, description)
    await h.run_until(h.clock.now() + timedelta(minutes=1))
    photo = next(m for m in h.tg.messages_since(p.teacher_b.id, mark) if m.photo is not None)
    assert photo.text == f"📷 Photo for report #{incident.id + 1}: Damage (high)"


async def test_a_photo_with_a_short_text_carries_it_as_its_caption(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 2, 10, 9, 0, tzinfo=AMS))
    await report_incident(h, p, "Ruit van de gymzaal gebarsten")
    await h.run_until(h.clock.now() + timedelta(minutes=1))
    photo = next(m for m in h.tg.messages(p.coordinator.id) if m.photo is not None)
    assert "Ruit van de gymzaal gebarsten" in photo.text and "Melding #" in photo.text
    assert photo.button_texts
    assert h.tg.messages(p.coordinator.id)[-1].message_id == photo.message_id


async def import_exchanges(h: Harness, count: int, start: date) -> list[int]:
    assert h.db is not None and h.context is not None
    lines = ["programme;city;start_date;school_a;class_a;size_a;school_b;class_b;size_b;region"]
    for n in range(count):
        lines.append(
            f"standaard;Utrecht;{start:%d-%m-%Y};Basisschool De Regenboog {n};groep 8;"
            f"{20 + n % 9};Openbare Basisschool Het Kompas {n};groep 7/8;{21 + n % 7};midden"
        )
    today = h.clock.now().astimezone(AMS).date()
    parsed = importer.parse_csv("\n".join(lines) + "\n", h.context.programmes, today)
    assert not parsed.problems, parsed.problems
    async with h.db.write() as session:
        return await importer.import_rows(
            session, parsed.rows, h.context.programmes, now=h.clock.now()
        )


async def test_long_lists_are_split_not_sorry(harness: Harness) -> None:
    """/klas with 37 exchanges and /vandaag on a day with 37 exchange days."""
    h = harness
    coordinator = h.user(1000, "Carla", username="carla_wimw")
    await h.send(coordinator, "/start")
    ids = await import_exchanges(h, 37, date(2027, 2, 1))
    replies = await h.send(coordinator, "/klas")
    assert not any(SORRY in m.text for m in replies)
    assert len(replies) > 2  # the list in several messages, then how to change a size
    assert_fits(replies)
    text = "\n".join(m.text for m in replies)
    for exchange_id in ids:
        assert f"#{exchange_id} A" in text or f"#{exchange_id}" in text
    assert "Het Kompas 36" in text
    async with h.db.read() as session:  # type: ignore[union-attr]
        day = await session.scalar(
            select(ExchangePhase.starts_on).where(
                ExchangePhase.exchange_id == ids[0], ExchangePhase.phase_key == "exchange_day_1"
            )
        )
    assert day is not None
    h.clock.set(datetime.combine(day, datetime.min.time(), tzinfo=AMS) + timedelta(hours=10))
    # A coordinator's /vandaag is a page at a time, each page one message that fits.
    page = only(await h.send(coordinator, "/vandaag"))
    assert SORRY not in page.text
    texts = [page.text]
    while said("today.btn_more") in page.button_texts:
        assert await h.press(coordinator, page, said("today.btn_more")) == []
        page = next(m for m in h.tg.messages(coordinator.id) if m.message_id == page.message_id)
        texts.append(page.text)
    assert len(texts) == 4
    assert_fits([page])
    assert all(utf16_len(t) <= TEXT_LIMIT for t in texts)
    assert "De Regenboog 0 " in texts[0] and "De Regenboog 36 " in texts[-1]


async def test_programme_with_two_long_evaluations_is_split(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    remarks = [
        " ".join([f"Dag {n}: de kinderen werkten goed samen 👍 en vroegen door."] * 45)
        for n in (1, 2)
    ]
    async with h.db.write() as session:  # type: ignore[union-attr]
        for n, remark in enumerate(remarks, start=1):
            at = h.clock.now() - timedelta(days=n)
            session.add(
                CheckIn(
                    exchange_id=p.exchange_id,
                    phase_key=f"exchange_day_{n}",
                    day=at.date(),
                    user_id=p.begeleider.id,
                    checked_in_at=at,
                    checked_out_at=at + timedelta(hours=5),
                    rating=4,
                    tension=False,
                    remarks=remark,
                )
            )
    replies = await h.send(p.coordinator, "/programma")
    assert not any(SORRY in m.text for m in replies)
    assert len(replies) > 1
    assert_fits(replies)
    text = " ".join(m.text for m in replies)
    for remark in remarks:
        # Split between words only: every word of each evaluation is there, in order.
        assert " ".join(remark.split()) in " ".join(text.split())


# -- point 6: nothing lost silently -------------------------------------------------------------


async def propose(h: Harness, p: JoinedExchange, day_button: str = "donderdag 11 februari") -> None:
    question = only(await h.send(p.teacher_a, "/datum"))
    day = only(await h.press(p.teacher_a, question, "Uitwisselingsdag 1"))
    await h.press(p.teacher_a, day, day_button)
    await h.press(p.teacher_a, h.tg.last_message(p.teacher_a.id), "08:45")  # type: ignore[arg-type]


async def test_friday_evening_proposal_reaches_the_other_teacher_on_monday(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 29, 21, 0, tzinfo=AMS))
    h.clock.set(datetime(2027, 1, 29, 21, 30, tzinfo=AMS))  # Friday evening
    await propose(h, p)
    mark = h.tg.last_message_id(p.teacher_b.id)
    await h.run_until(datetime(2027, 2, 1, 9, 0, tzinfo=AMS))
    proposals = [m for m in h.tg.messages_since(p.teacher_b.id, mark) if "stelt voor" in m.text]
    assert len(proposals) == 1 and proposals[0].button_texts
    assert ("date_proposal", "2027-02-01 07:00") in [
        (x.kind, x.local) for x in await h.pushes() if x.user_id == p.teacher_b.id
    ]


TOLD_SENDER = ("date_proposal", "date_agreed", "date_declined", "incident_seen", "incident_solved")
TOLD_REPORTER = ("incident_alert", "incident_repeat", "incident_update")
TOLD_COORDINATOR = ("day_schedule", "checkin_missing")
ROUTINE = ("digest", "follow_up", "checklist_nag")


async def rows_of_every_kind(h: Harness, p: JoinedExchange) -> dict[str, int]:
    """One row of every kind for teacher B, each with a subject that still stands."""
    assert h.db is not None
    now = h.clock.now()
    await propose(h, p)
    async with h.db.write() as session:
        proposal = await session.scalar(select(DateProposal))
        assert proposal is not None
        phase = await session.scalar(
            select(ExchangePhase).where(
                ExchangePhase.exchange_id == p.exchange_id,
                ExchangePhase.phase_key == "exchange_day_1",
            )
        )
        assert phase is not None
        incident = Incident(
            exchange_id=p.exchange_id,
            reported_by=p.begeleider.id,
            category="damage",
            severity="medium",
            description="Ruit gebarsten",
            status="open",
            created_at=now,
        )
        session.add(incident)
        await session.flush()
        # Teacher A took the alarm up and solved it; the reporter (here: teacher B) is told.
        seen = IncidentAction(incident_id=incident.id, user_id=p.teacher_a.id, action="ack", at=now)
        solved = IncidentAction(
            incident_id=incident.id,
            user_id=p.teacher_a.id,
            action="resolve",
            note="Opgeruimd",
            at=now,
        )
        session.add_all([seen, solved])
        await session.flush()
        payloads: dict[str, dict[str, Any]] = {
            "date_agreed": {"phase": "exchange_day_1"},
            "date_declined": {"phase": "exchange_day_1", "by": "Anouk"},
            "incident_alert": {"incident": incident.id},
            "incident_repeat": {"incident": incident.id},
            "incident_update": {"incident": incident.id, "note": "Glas opgeruimd"},
            "incident_seen": {"incident": incident.id, "action": seen.id},
            "incident_solved": {"incident": incident.id, "action": solved.id},
            "day_schedule": {"phase": "exchange_day_1", "date": phase.starts_on.isoformat()},
            "checkin_missing": {"phase": "exchange_day_1", "date": phase.starts_on.isoformat()},
            "digest": {"week": "2027-02-01"},
            "follow_up": {},
            "checklist_nag": {"deadline": "2027-02-01", "items": ["parents_informed"]},
        }
        senders = {"date_agreed": p.teacher_a.id, "date_declined": p.teacher_a.id}
        for kind, payload in payloads.items():
            await outbox.enqueue(
                session,
                user_id=p.teacher_b.id,
                exchange_id=p.exchange_id,
                kind=kind,
                dedupe_key=f"test:{kind}",
                payload=payload,
                now=now,
                sender_id=senders.get(kind),
            )
        rows = {
            r.kind: r.id
            for r in await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.user_id == p.teacher_b.id, OutboxMessage.status == "pending"
                )
            )
            if r.kind in (*TOLD_SENDER, *TOLD_REPORTER, *TOLD_COORDINATOR, *ROUTINE)
        }
    assert set(rows) == {*TOLD_SENDER, *TOLD_REPORTER, *TOLD_COORDINATOR, *ROUTINE}
    return rows


WHAT = {
    "date_proposal": "je datumvoorstel voor Uitwisselingsdag 1",
    "date_agreed": "het bericht dat de datum voor Uitwisselingsdag 1 vastligt",
    "date_declined": "je afwijzing van het datumvoorstel voor Uitwisselingsdag 1",
    "incident_alert": "de melding van incident #",
    "incident_repeat": "de herhaalde melding van incident #",
    "incident_update": "de aanvulling op incident #",
    "incident_seen": "hebt gezien",
    "incident_solved": "hebt opgelost",
    "day_schedule": "het dagprogramma van",
    "checkin_missing": "de waarschuwing dat begeleiders nog niet ingecheckt waren",
}


KIND_WORDS = {
    "digest": "weekbrief",
    "follow_up": "tips om contact te houden",
    "checklist_nag": "herinnering checklist",
}
REASON_WORDS = {
    "too_late": "te laat",
    "quiet_hours": "te laat door stille uren, weekend of vakantie",
    "failed": "mislukt, ook na herhaalde pogingen",
    "blocked": "geblokkeerd",
}


@pytest.mark.parametrize("way", ["too_late", "quiet_hours", "failed", "blocked"])
async def test_every_kind_late_in_every_way_is_heard_of(
    database: object, database_url: str, way: str
) -> None:
    async with Harness(database_url, start=START, make_settings=make_settings) as h:
        p = await joined_exchange(h)
        # Everything planned so far goes out first; then nothing else is due for a while.
        await h.run_until(datetime(2027, 1, 20, 10, 0, tzinfo=AMS))
        if way == "quiet_hours":
            h.clock.set(datetime(2027, 1, 22, 21, 30, tzinfo=AMS))  # Friday evening
        rows = await rows_of_every_kind(h, p)
        assert h.db is not None
        now = h.clock.now()
        async with h.db.write() as session:
            if way == "too_late":
                values: dict[str, Any] = {
                    "due_at": now - timedelta(days=3),
                    "next_attempt_at": now - timedelta(days=3),
                    "not_after": now - timedelta(days=1),
                }
            elif way == "quiet_hours":
                values = {"not_after": now + timedelta(hours=1), "urgent": False}
            else:
                values = {}
            if values:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(rows.values()))
                    .values(**values)
                )
        if way == "failed":
            h.tg.fail_next("sendMessage", status=500, times=100, chat_id=p.teacher_b.id)
            h.tg.fail_next("sendPhoto", status=500, times=100, chat_id=p.teacher_b.id)
        if way == "blocked":
            h.tg.block_user(p.teacher_b.id)
        marks = {
            u.id: h.tg.last_message_id(u.id) for u in (p.teacher_a, p.begeleider, p.coordinator)
        }
        await h.run_until(h.clock.now() + timedelta(days=4))
        async with h.db.read() as session:
            settled = {
                r.kind: r
                for r in await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.id.in_(rows.values()))
                )
            }
        for kind in (*TOLD_SENDER, *TOLD_REPORTER, *TOLD_COORDINATOR):
            assert settled[kind].status in ("skipped", "failed", "blocked"), (kind, way)
        heard = {
            who.id: "\n".join(m.text for m in h.tg.messages_since(who.id, marks[who.id]))
            for who in (p.teacher_a, p.begeleider, p.coordinator)
        }
        for kind in TOLD_SENDER:
            assert WHAT[kind] in heard[p.teacher_a.id], (kind, way, heard[p.teacher_a.id])
        for kind in TOLD_REPORTER:
            assert WHAT[kind] in heard[p.begeleider.id], (kind, way, heard[p.begeleider.id])
        for kind in TOLD_COORDINATOR:
            assert WHAT[kind] in heard[p.coordinator.id], (kind, way, heard[p.coordinator.id])
        for text in heard.values():
            assert "Niet aangekomen" in text and "Bas" in text
        # Routine pushes tell nobody, but the coordinator sees in /berichten what did not go,
        # in words: what it was, to whom, in which exchange, and why.
        status = "\n".join(m.text for m in await h.send(p.coordinator, "/berichten"))
        for kind in ROUTINE:
            if settled[kind].status != "sent":
                line = f"{KIND_WORDS[kind]} aan Bas (#{p.exchange_id} De Avonturijn – De Odyssee)"
                assert f"{line}: {REASON_WORDS[way]}" in status, (kind, status)
        assert str(p.teacher_b.id) not in status
        for internal in (*ROUTINE, "user has", "blocked the bot", "too_late", "quiet hours"):
            assert internal not in status, (internal, status)


BLOCK_NOTICE = (
    "⚠️ Ghislaine (begeleider, {exchange}) heeft de bot geblokkeerd en krijgt geen berichten "
    "meer, tot hij of zij de bot zelf weer iets stuurt. Neem zo nodig zelf contact op."
)


async def rows_of(h: Harness, user_id: int) -> dict[tuple[str, str], str]:
    """(kind, local due time) → status of every row for `user_id`."""
    assert h.db is not None
    async with h.db.read() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user_id))
        return {
            (r.kind, r.due_at.astimezone(AMS).strftime("%Y-%m-%d %H:%M")): r.status for r in rows
        }


async def test_a_block_is_told_once_per_exchange_and_each_message_only_when_due(
    harness: Harness,
) -> None:
    """Sunday: Ghislaine blocks the bot. Monday 08:00 her digest finds out."""
    h = harness
    p = await joined_exchange(h)
    assert h.db is not None
    # She is begeleider of a second exchange too.
    [second] = await import_exchanges(h, 1, date(2027, 2, 1))
    async with h.db.write() as session:
        session.add(
            Membership(
                user_id=p.begeleider.id,
                exchange_id=second,
                role="begeleider",
                side=None,
                joined_at=h.clock.now(),
            )
        )
    first_exchange = f"#{p.exchange_id} De Avonturijn – De Odyssee"
    second_exchange = f"#{second} Basisschool De Regenboog 0 – Openbare Basisschool Het Kompas 0"
    await h.run_until(datetime(2027, 2, 7, 12, 0, tzinfo=AMS))  # Sunday
    h.tg.block_user(p.begeleider.id)
    mark = h.tg.last_message_id(p.coordinator.id)
    await h.run_until(datetime(2027, 2, 8, 9, 0, tzinfo=AMS))  # Monday, after the digest

    monday = [m.text for m in h.tg.messages_since(p.coordinator.id, mark)]
    about_her = [t for t in monday if "Ghislaine" in t]
    # Once per exchange she is in; nothing about messages that are not due yet.
    assert sorted(about_her) == sorted(
        [
            BLOCK_NOTICE.format(exchange=first_exchange),
            BLOCK_NOTICE.format(exchange=second_exchange),
        ]
    ), about_her
    assert not any("Niet aangekomen" in t or "dagprogramma" in t for t in monday), monday
    rows = await rows_of(h, p.begeleider.id)
    assert rows[("digest", "2027-02-08 08:00")] == "blocked"
    for day in ("2027-02-10", "2027-02-17", "2027-02-24"):
        assert rows[("day_schedule", f"{day} 07:30")] == "pending", day

    # Wednesday 07:30 her day schedule is due and she still blocks the bot: now, and only
    # about that day, the coordinator hears it did not arrive.
    mark = h.tg.last_message_id(p.coordinator.id)
    await h.run_until(datetime(2027, 2, 10, 8, 0, tzinfo=AMS))
    wednesday = [m.text for m in h.tg.messages_since(p.coordinator.id, mark)]
    undelivered = [t for t in wednesday if "Niet aangekomen" in t]
    assert len(undelivered) == 1, wednesday
    assert "het dagprogramma van woensdag 10 februari voor Ghislaine" in undelivered[0]
    assert (
        "Ghislaine heeft de bot geblokkeerd en krijgt geen berichten meer, tot hij of zij de "
        "bot zelf weer iets stuurt." in undelivered[0]
    )
    assert not any(t.startswith("⚠️ Ghislaine (begeleider") for t in wednesday)  # told once, Monday
    rows = await rows_of(h, p.begeleider.id)
    assert rows[("day_schedule", "2027-02-10 07:30")] == "blocked"
    assert rows[("day_schedule", "2027-02-17 07:30")] == "pending"

    # /berichten says it in words: what, to whom, in which exchange, why.
    status = "\n".join(m.text for m in await h.send(p.coordinator, "/berichten"))
    for what in ("weekbrief", "dagprogramma"):
        assert f"{what} aan Ghislaine ({first_exchange}): geblokkeerd" in status, (what, status)
    assert str(p.begeleider.id) not in status and "blocked" not in status
    async with h.db.write() as session:
        reader = await session.get(User, p.coordinator.id)
        assert reader is not None
        reader.language = "en"
    status = "\n".join(m.text for m in await h.send(p.coordinator, "/berichten"))
    assert f"weekly digest to Ghislaine ({first_exchange}): blocked" in status, status
    assert f"day schedule to Ghislaine ({first_exchange}): blocked" in status, status
    assert "weekbrief" not in status and "geblokkeerd" not in status
    async with h.db.write() as session:
        reader = await session.get(User, p.coordinator.id)
        assert reader is not None
        reader.language = "nl"

    # She writes to the bot again: the coordinator hears it (once per exchange), and her
    # next day schedule simply goes out.
    h.tg.unblock_user(p.begeleider.id)
    mark = h.tg.last_message_id(p.coordinator.id)
    await h.send(p.begeleider, "/vandaag")
    await h.run_until(h.clock.now() + timedelta(minutes=1))
    back = [m.text for m in h.tg.messages_since(p.coordinator.id, mark) if "Ghislaine" in m.text]
    assert sorted(back) == sorted(
        f"✅ Ghislaine (begeleider, {label}) heeft de bot weer een bericht gestuurd en krijgt "
        "weer berichten van de bot."
        for label in (first_exchange, second_exchange)
    ), back
    mark = h.tg.last_message_id(p.begeleider.id)
    coordinator_mark = h.tg.last_message_id(p.coordinator.id)
    await h.run_until(datetime(2027, 2, 17, 8, 0, tzinfo=AMS))
    assert any("17 februari" in m.text for m in h.tg.messages_since(p.begeleider.id, mark))
    later = [m.text for m in h.tg.messages_since(p.coordinator.id, coordinator_mark)]
    assert not any("Niet aangekomen" in t or "geblokkeerd" in t for t in later), later
    assert (await rows_of(h, p.begeleider.id))[("day_schedule", "2027-02-17 07:30")] == "sent"


async def test_a_block_seen_in_quiet_hours_waits_for_the_morning(harness: Harness) -> None:
    """A row of a user who blocked the bot is settled when it would have gone out, not before:
    if she writes again before the morning, the message still reaches her."""
    h = harness
    p = await joined_exchange(h)
    assert h.db is not None
    await h.run_until(datetime(2027, 2, 8, 9, 0, tzinfo=AMS))
    async with h.db.write() as session:
        user = await session.get(User, p.begeleider.id)
        assert user is not None
        user.blocked_at = h.clock.now()
        # A message for her queued in quiet hours.
        h.clock.set(datetime(2027, 2, 8, 22, 0, tzinfo=AMS))
        await outbox.enqueue(
            session,
            user_id=p.begeleider.id,
            exchange_id=p.exchange_id,
            kind="date_agreed",
            dedupe_key="test:agreed",
            payload={"phase": "exchange_day_1"},
            now=h.clock.now(),
            sender_id=p.teacher_a.id,
        )
    await h.dispatch()
    assert (await rows_of(h, p.begeleider.id))[("date_agreed", "2027-02-08 22:00")] == "pending"
    h.tg.unblock_user(p.begeleider.id)
    mark = h.tg.last_message_id(p.begeleider.id)
    await h.send(p.begeleider, "/vandaag")
    await h.run_until(datetime(2027, 2, 9, 7, 30, tzinfo=AMS))
    assert any("Afgesproken" in m.text for m in h.tg.messages_since(p.begeleider.id, mark))
    assert not any("Niet aangekomen" in m.text for m in h.tg.messages(p.teacher_a.id))


# -- point 7: timeouts are not failures ---------------------------------------------------------


async def proposal_copies(h: Harness, p: JoinedExchange) -> int:
    return sum("stelt voor" in m.text for m in h.tg.messages(p.teacher_b.id))


async def proposal_row(h: Harness) -> OutboxMessage:
    assert h.db is not None
    async with h.db.read() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "date_proposal")
        )
    assert row is not None
    return row


async def wait_for_copies(h: Harness, p: JoinedExchange, copies: int) -> None:
    """Until the fake has stored `copies` proposals for teacher B (held answers finish later)."""
    for _ in range(copies):
        await h.tg.wait_for_call(
            "sendMessage",
            lambda c: (
                c.params.get("chat_id") == p.teacher_b.id
                and "stelt voor" in str(c.params.get("text"))
            ),
            timeout=10,
        )


@pytest.mark.parametrize("slow_calls", [1, 5])
async def test_a_slow_answer_is_tried_once_more_and_never_failed(
    database: object, database_url: str, slow_calls: int
) -> None:
    async with Harness(
        database_url, start=START, make_settings=make_settings, send_read_timeout_seconds=1.0
    ) as h:
        p = await joined_exchange(h)
        await h.dispatch()  # the coordinator's news of who joined goes out first
        await propose(h, p)
        # Telegram is slow (for one call, or for a whole minute): each answer comes after
        # the client has given up, but the message is delivered.
        h.tg.delay_next("sendMessage", 1.5, times=slow_calls)
        await h.dispatch()
        await wait_for_copies(h, p, 1)
        row = await proposal_row(h)
        assert row.status == "pending" and row.uncertain_sends == 1
        await h.run_until(h.clock.now() + timedelta(hours=2))
        await wait_for_copies(h, p, 1)
        row = await proposal_row(h)
        assert row.status == "sent"  # never failed: it may well have arrived
        assert await proposal_copies(h, p) == 2  # at most one duplicate
        if slow_calls == 1:
            assert row.uncertain_sends == 1 and row.last_error is None
        else:
            assert row.uncertain_sends == 2 and "not confirmed" in (row.last_error or "")
        assert await h.pushes("failed") == []
        h.tg.reset()  # the rest of the slow minute is over
        status = only(await h.send(p.coordinator, "/berichten")).text
        assert (
            f"Verzending onzeker (bericht kan dubbel zijn aangekomen): {row.uncertain_sends}"
            in status
        )


@pytest.mark.parametrize("drops", [1, 2])
async def test_a_dropped_connection_after_delivery_is_not_a_failure(
    harness: Harness, drops: int
) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.dispatch()  # the coordinator's news of who joined goes out first
    await propose(h, p)
    h.tg.drop_next("sendMessage", times=drops)
    await h.run_until(h.clock.now() + timedelta(hours=2))
    row = await proposal_row(h)
    assert row.status == "sent" and row.uncertain_sends == drops
    assert await proposal_copies(h, p) == 2
    assert await h.pushes("failed") == []


async def test_connection_refused_is_retried_normally(harness: Harness) -> None:
    """Nothing reached Telegram: no uncertainty, the usual retries, one copy."""
    h = harness
    p = await joined_exchange(h)
    await h.dispatch()  # the coordinator's news of who joined goes out first
    await propose(h, p)
    h.tg.fail_next("sendMessage", status=502, times=2)
    await h.run_until(h.clock.now() + timedelta(hours=1))
    row = await proposal_row(h)
    assert row.status == "sent" and row.uncertain_sends == 0
    assert await proposal_copies(h, p) == 1


# -- point 6: a sender is never told "verstuurd" of a message that waits for quiet hours ----

WAITS = "buiten schooltijd sturen we geen berichten"


async def report_low_incident(h: Harness, p: JoinedExchange, description: str) -> BotMessage:
    """The begeleider reports low-severity damage without a photo; returns the bot's reply."""
    b = p.begeleider
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Schade")
    await h.press(b, h.tg.last_message(b.id), "Laag")  # type: ignore[arg-type]
    await h.press(b, h.tg.last_message(b.id), "Geen team / weet niet")  # type: ignore[arg-type]
    await h.send(b, description)
    await h.press(b, h.tg.last_message(b.id), "Geen foto")  # type: ignore[arg-type]
    return only(await h.press(b, h.tg.last_message(b.id), "Versturen"))  # type: ignore[arg-type]


async def test_a_proposal_on_friday_evening_says_it_goes_on_monday_at_seven(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 29, 21, 0, tzinfo=AMS))
    h.clock.set(datetime(2027, 1, 29, 21, 30, tzinfo=AMS))  # Friday evening
    await propose(h, p)
    reply = h.tg.last_message(p.teacher_a.id)
    assert reply is not None
    assert "gaat maandag 1 februari om 07:00 naar Bas" in reply.text
    assert WAITS in reply.text and "verstuurd" not in reply.text
    assert "Je hoort het als het is afgesproken" in reply.text
    mark = h.tg.last_message_id(p.teacher_b.id)
    await h.run_until(datetime(2027, 2, 1, 6, 59, tzinfo=AMS))
    assert h.tg.messages_since(p.teacher_b.id, mark) == []
    await h.run_until(datetime(2027, 2, 1, 7, 1, tzinfo=AMS))
    assert any("stelt voor" in m.text for m in h.tg.messages_since(p.teacher_b.id, mark))
    assert ("date_proposal", "2027-02-01 07:00") in [
        (x.kind, x.local) for x in await h.pushes() if x.user_id == p.teacher_b.id
    ]


async def test_an_agreement_or_decline_in_the_evening_says_when_the_others_hear(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 28, 10, 0, tzinfo=AMS))  # Thursday morning
    await propose(h, p)
    await h.dispatch()
    proposal = h.tg.last_message(p.teacher_b.id)
    assert proposal is not None and "stelt voor" in proposal.text
    h.clock.set(datetime(2027, 1, 28, 21, 15, tzinfo=AMS))  # Thursday evening
    agreed = only(await h.press(p.teacher_b, proposal, "Akkoord"))
    assert "Afgesproken: Uitwisselingsdag 1 op donderdag 11 februari." in agreed.text
    assert "Iedereen krijgt vrijdag 29 januari om 07:00 bericht" in agreed.text
    await h.run_until(datetime(2027, 1, 29, 8, 0, tzinfo=AMS))
    heard = [(x.user_id, x.local) for x in await h.pushes() if x.kind == "date_agreed"]
    assert (p.teacher_a.id, "2027-01-29 07:00") in heard
    assert (p.coordinator.id, "2027-01-29 07:00") in heard

    # "Ander voorstel" on a new proposal, on Friday evening: Anouk hears of it on Monday.
    h.clock.set(datetime(2027, 1, 29, 10, 0, tzinfo=AMS))
    await propose(h, p, "vrijdag 12 februari")
    await h.dispatch()
    second = h.tg.last_message(p.teacher_b.id)
    assert second is not None and "stelt voor" in second.text
    h.clock.set(datetime(2027, 1, 29, 22, 0, tzinfo=AMS))
    notice, question = await h.press(p.teacher_b, second, "Ander voorstel")
    assert notice.text.startswith("Anouk hoort maandag 1 februari om 07:00 dat je een andere")
    assert "Kies de dag voor: Uitwisselingsdag 1" in question.text
    await h.run_until(datetime(2027, 2, 1, 8, 0, tzinfo=AMS))
    assert ("date_declined", "2027-02-01 07:00") in [
        (x.kind, x.local) for x in await h.pushes() if x.user_id == p.teacher_a.id
    ]


async def test_a_low_incident_in_the_evening_says_it_goes_in_the_morning(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 2, 10, 21, 30, tzinfo=AMS))  # Wednesday, exchange day 1
    reply = await report_low_incident(h, p, "Ruit van de gymzaal gebarsten")
    assert "gaat donderdag 11 februari om 07:00 naar de coördinator" in reply.text
    assert "verstuurd" not in reply.text
    await h.run_until(datetime(2027, 2, 11, 8, 0, tzinfo=AMS))
    assert [(x.user_id, x.local) for x in await h.pushes() if x.kind == "incident_alert"] == [
        (p.coordinator.id, "2027-02-11 07:00")
    ]


async def test_the_same_actions_in_school_hours_say_sent(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 28, 10, 0, tzinfo=AMS))  # Thursday morning
    await propose(h, p)
    reply = h.tg.last_message(p.teacher_a.id)
    assert reply is not None and "is verstuurd naar Bas" in reply.text and WAITS not in reply.text
    await h.dispatch()
    proposal = h.tg.last_message(p.teacher_b.id)
    agreed = only(await h.press(p.teacher_b, proposal, "Akkoord"))  # type: ignore[arg-type]
    assert agreed.text.endswith("Iedereen krijgt bericht.")
    await h.run_until(datetime(2027, 2, 11, 10, 0, tzinfo=AMS))  # the agreed day
    incident = await report_low_incident(h, p, "Ruit van de gymzaal gebarsten")
    assert incident.text == "Melding #1 is verstuurd naar de coördinator."
    await h.dispatch()
    alerts = [x.local for x in await h.pushes() if x.kind == "incident_alert"]
    assert alerts == ["2027-02-11 10:00"]
