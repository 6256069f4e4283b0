"""The small things people do many times in a season: make an exchange, join, count, report."""

from __future__ import annotations

import re
from datetime import date, time

from sqlalchemy import func, select

from bot.domain.dates import format_date
from bot.services import importer
from db.models import Exchange, ExchangePhase, Headcount, Incident
from fake_telegram import BotMessage
from tests.season.cast import ExchangeSpec, Person, csv_for
from tests.season.driver import Season


def dutch_date(day: date) -> str:
    """A date as a teacher types it: "11 februari"."""
    return format_date(day, "nl", weekday=False)


async def exchange_count(s: Season) -> int:
    assert s.h.db is not None
    async with s.h.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Exchange)) or 0)


async def create_via_bot(s: Season, spec: ExchangeSpec, *, double_save: bool = False) -> int:
    """The coordinator walks through /nieuw; returns the new exchange's id."""
    c = s.coordinator
    replies = await s.type(c, "/nieuw")
    replies = await s.tap(c, replies[-1], "Uitwisseling in 4 weken")
    question = replies[-1]
    if spec.city in question.button_texts:
        replies = await s.tap(c, question, spec.city)
    else:
        if "Andere stad" in question.button_texts:
            question = (await s.tap(c, question, "Andere stad"))[-1]
        replies = await s.type(c, spec.city)
    if "regio" in replies[-1].text:
        replies = await s.tap(c, replies[-1], spec.region.capitalize())
    replies = await s.type(c, spec.school_a[0])
    if "adres" in replies[-1].text:
        replies = await s.type(c, spec.school_a[1])
    replies = await s.tap(c, replies[-1], "groep 8")
    replies = await s.type(c, str(spec.size_a))
    replies = await s.type(c, spec.school_b[0])
    if "adres" in replies[-1].text:
        replies = await s.type(c, spec.school_b[1])
    replies = await s.tap(c, replies[-1], "groep 7/8")
    replies = await s.type(c, str(spec.size_b))
    replies = await s.type(c, dutch_date(spec.start))
    confirm = replies[-1]
    assert "Klopt dit?" in confirm.text, confirm.text
    before = await exchange_count(s)
    replies = await s.tap(c, confirm, "Opslaan", double=double_save)
    created = [m for m in replies if "is aangemaakt" in (m.text or "")]
    s.log.expect(
        await exchange_count(s) == before + 1 and len(created) == 1,
        "one tap (or a double tap) on Opslaan creates exactly one exchange",
        f"exchanges before {before}, after {await exchange_count(s)}; replies "
        f"{[m.text for m in replies]}",
    )
    match = re.search(r"#(\d+)", created[0].text if created else "")
    assert match, [m.text for m in replies]
    return int(match.group(1))


async def import_exchanges(s: Season, specs: list[ExchangeSpec]) -> list[int]:
    """What `python -m bot import season.csv` does, on the season's database and clock."""
    assert s.h.db is not None and s.h.context is not None
    today = s.h.clock.now().astimezone(s.h.settings.tz).date()
    parsed = importer.parse_csv(csv_for(specs), s.h.context.programmes, today)
    assert not parsed.problems and parsed.header_problem is None, parsed.problems
    async with s.h.db.write() as session:
        return await importer.import_rows(
            session, parsed.rows, s.h.context.programmes, now=s.h.clock.now()
        )


async def invite(s: Season, spec: ExchangeSpec) -> list[str]:
    """The coordinator makes the three invite links: teacher A, teacher B, begeleider."""
    message = (await s.type(s.coordinator, f"/uitnodigen {spec.exchange_id}"))[-1]
    tokens = s.invite_tokens(message)
    assert len(tokens) == 3, message.text
    return tokens


async def join(s: Season, person: Person, tokens: list[str]) -> None:
    token = {"A": tokens[0], "B": tokens[1], None: tokens[2]}[person.side]
    replies = await s.type(person, f"/start {token}")
    s.log.expect(
        any("Welkom" in (m.text or "") for m in replies),
        "an invite link makes the person a member",
        f"{person.name}: {[m.text for m in replies]}",
    )


async def phase_dates(s: Season, exchange_id: int) -> dict[str, tuple[date, time | None, bool]]:
    assert s.h.db is not None
    async with s.h.db.read() as session:
        rows = await session.scalars(
            select(ExchangePhase).where(ExchangePhase.exchange_id == exchange_id)
        )
        return {r.phase_key: (r.starts_on, r.start_time, r.agreed) for r in rows}


async def headcounts(s: Season, exchange_id: int) -> list[tuple[str, str, int]]:
    assert s.h.db is not None
    async with s.h.db.read() as session:
        rows = await session.execute(
            select(Headcount.moment, Headcount.side, Headcount.count)
            .where(Headcount.exchange_id == exchange_id)
            .order_by(Headcount.id)
        )
        return [(m, side, n) for m, side, n in rows]


async def incidents_of(s: Season, exchange_id: int) -> list[Incident]:
    assert s.h.db is not None
    async with s.h.db.read() as session:
        return list(
            await session.scalars(
                select(Incident).where(Incident.exchange_id == exchange_id).order_by(Incident.id)
            )
        )


async def count_both(s: Season, person: Person, a: int, b: int) -> list[BotMessage]:
    """`/aanwezig <a> <b>` and a tap on the moment offered first (the likely one by the
    clock); returns what the bot sent after the tap (or the refusal)."""
    replies = await s.type(person, f"/aanwezig {a} {b}")
    if not replies or not replies[-1].button_texts:
        return replies
    return await s.tap(person, replies[-1], replies[-1].button_texts[0])


async def keypad(s: Season, person: Person, number: int) -> list[BotMessage]:
    """Tap a count on the keypad and confirm; returns what the bot sent after ✔."""
    for digit in str(number):
        pad = s.h.tg.last_message(person.user_id)
        assert pad is not None
        await s.tap(person, pad, digit)
    pad = s.h.tg.last_message(person.user_id)
    assert pad is not None
    return await s.tap(person, pad, "✔")


async def pick_first(s: Season, person: Person, message: BotMessage) -> list[BotMessage]:
    return await s.tap(person, message, message.button_texts[0])


async def checkout(s: Season, person: Person, rating: str = "4") -> None:
    replies = await s.type(person, "/checkout")
    if replies and replies[-1].button_texts and "slecht" not in replies[-1].text:
        replies = await pick_first(s, person, replies[-1])  # several exchanges today: the first
    if not replies or not replies[-1].button_texts:
        return
    replies = await s.tap(person, replies[-1], rating)
    replies = await s.tap(person, replies[-1], "Nee")
    await s.tap(person, replies[-1], "Niets")
