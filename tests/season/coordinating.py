"""Carla runs thirty pairs: the coordinators' tools over a whole season.

She gathers routine notices into her Monday summary, reads /overzicht with its risk flags,
plans a begeleider of another pair into a pair that has none, tells every teacher something
(with a read button) and one city something else (a photo, scheduled), links a Telegram group
to a pair, renews invite links, takes a begeleider off a pair, reads a pair's log, exports the
season, draws the season report and archives a pair that is done.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook

from fake_telegram import BotMessage
from tests.fixtures import said_any
from tests.season.cast import ExchangeSpec, Person
from tests.season.driver import Season
from tests.season.events import AMS, Event, local
from tests.season.steps import phase_dates

GROUP_CHAT = -1001000000001
GROUP_TITLE = "Groep 8 Avonturijn & Odyssee"
GROUP_COMMAND = re.compile(r"(/groep\S* \S+)")
# The moment Carla chooses to gather joins and agreed dates into her Monday summary.
GATHERING_FROM = local(date(2027, 1, 11), 9, 40)


def _with(messages: list[BotMessage], part: str) -> BotMessage | None:
    found = [m for m in messages if part in (m.text or "")]
    return found[-1] if found else None


def _now(s: Season, message: BotMessage) -> BotMessage:
    """The message as it is now (after edits)."""
    return next(m for m in s.h.tg.messages(message.chat_id) if m.message_id == message.message_id)


def _button(message: BotMessage, part: str) -> str | None:
    found = [t for t in message.button_texts if part in t]
    return found[0] if found else None


async def _open_pair(s: Season, replies: list[BotMessage], number: int) -> list[BotMessage]:
    """In a chooser (or an overview page) tap pair `number`, paging on when it is further."""
    for _ in range(6):
        message = replies[-1]
        label = _button(message, f"#{number} ")
        if label is not None:
            # The answer is a new message, or the same one edited.
            return await s.tap(s.coordinator, message, label) or [_now(s, message)]
        more = next((t for t in message.button_texts if t.startswith("Meer")), None)
        if more is None:
            break
        replies = await s.tap(s.coordinator, message, more) or [_now(s, message)]
    s.log.expect(False, f"pair #{number} can be chosen", [replies[-1].button_texts])
    return replies


async def _manage(s: Season, spec: ExchangeSpec) -> list[BotMessage]:
    return await s.type(s.coordinator, f"/beheer {spec.exchange_id}")


def _cast(s: Season) -> tuple[ExchangeSpec, ExchangeSpec, ExchangeSpec, ExchangeSpec]:
    return s.exchanges[0], s.exchanges[6], s.exchanges[7], s.exchanges[12]


def _helper(s: Season) -> Person:
    """The second begeleider of pair 1, planned into pair 13's first day."""
    return s.exchanges[0].begeleiders[1]


def _save_charts(folder: Path, charts: list[BotMessage]) -> None:
    """The season report's pictures, for the README (SEASON_REPORT_DIR)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, chart in enumerate(charts, start=1):
        assert chart.photo is not None
        (folder / f"season-report-{n}.png").write_bytes(chart.photo.content)


def coordinator_events(s: Season) -> list[Event]:
    """What Carla does on her own initiative (the days of pairs 1 and 13: `day_events`)."""
    carla = s.coordinator
    p1, p7, p8, p13 = _cast(s)
    helper = _helper(s)
    leaver: Person = p8.begeleiders[1]  # moves away before pair 8's first day

    async def gather() -> None:
        s.marks["gathering"] = s.h.tg.last_message_id(carla.id)
        replies = await s.type(carla, "/instellingen")
        await s.tap(carla, replies[-1], "Verzamelen")
        settings = s.last(carla, "Instellingen")
        s.log.expect(
            settings is not None and "samen in je weekoverzicht" in settings.text,
            "/instellingen: joins and agreed dates are gathered into the Monday summary",
            settings.text if settings else None,
        )

    async def first_summary() -> None:
        summary = s.last(carla, "Jouw week vanaf maandag 18 januari")
        s.log.expect(
            summary is not None and re.search(r"\b(doet|doen) mee\b", summary.text) is not None,
            "the first Monday summary lists who joined last week",
            summary.text[:300] if summary else [m.text[:60] for m in s.messages(carla)][-3:],
        )

    async def overview() -> None:
        replies = await s.type(carla, "/overzicht")
        page = replies[-1]
        s.log.expect(
            "Overzicht: 30 koppels" in page.text,
            "/overzicht shows every one of the thirty pairs",
            page.text[:200],
        )
        for flag, why in (
            ("Nog geen leerkracht van", "a class whose teacher never joined (pair 7)"),
            ("Geen begeleider voor", "a pair without a begeleider for its next day (pair 13)"),
        ):
            s.log.expect(flag in page.text, f"/overzicht flags {why}", page.text[:600])
        await s.tap(carla, page, "Rotterdam")
        page = next(m for m in s.messages(carla) if m.message_id == page.message_id)
        s.log.expect(
            "Alleen: Rotterdam" in page.text and "Amsterdam" not in page.text,
            "the city filter leaves only that city's pairs",
            page.text[:300],
        )
        detail = (await _open_pair(s, [page], p13.exchange_id))[-1]
        s.log.expect(
            "Geen begeleider voor" in detail.text and _button(detail, "Beheren") is not None,
            "the detail view of a risky pair names the risk and offers to manage it",
            detail.text[:300],
        )
        replies = await s.tap(carla, detail, "Beheren")
        menu = _with(s.messages(carla), "Beheer")
        assert menu is not None
        await s.tap(carla, menu, "Begeleiders per dag")
        days = s.messages(carla)[-1]
        await s.tap(carla, days, "Uitwisselingsdag 1")
        day = s.messages(carla)[-1]
        await s.tap(carla, day, "Begeleider toevoegen")
        candidates = s.messages(carla)[-1]
        await s.tap(carla, candidates, f"➕ {helper.first_name}")

    async def to_all_teachers() -> None:
        replies = await s.type(carla, "/bericht")
        replies = await s.type(
            carla,
            "Denk aan de toestemmingsformulieren voor de wijkwandeling. Wie ze nog niet heeft "
            "uitgedeeld: ze staan in de map van het koppel.",
        )
        await s.tap(carla, replies[-1], "Alle leerkrachten")
        await s.tap(carla, s.messages(carla)[-1], "Met Gelezen-knop")
        await s.tap(carla, s.messages(carla)[-1], "Nu versturen")
        confirm = s.messages(carla)[-1]
        s.log.expect(
            "Klaar om te versturen?" in confirm.text,
            "a broadcast is previewed with its number of recipients before it goes",
            confirm.text[:200],
        )
        await s.tap(carla, confirm, "Versturen", double=True)
        sent = [m for m in s.messages(carla) if "Je bericht gaat" in (m.text or "")]
        s.log.expect(
            len(sent) == 1,
            "a double tap on Versturen sends the broadcast once",
            [m.text[:80] for m in sent],
        )

    async def teachers_read() -> None:
        for spec in s.exchanges[:6]:
            teacher = spec.teacher("A")
            message = s.last(teacher, "Bericht van Carla")
            if message is None or _button(message, "Gelezen") is None:
                continue
            await s.tap(teacher, message, "Gelezen", double=spec.number == 2)

    async def report_and_reads() -> None:
        report = s.last(carla, "Verslag van je bericht")
        s.log.expect(
            report is not None and "Bezorgd:" in report.text,
            "the coordinator gets a delivery report of the broadcast",
            [m.text[:80] for m in s.messages(carla)][-3:],
        )
        replies = await s.type(carla, "/bericht")
        listing = _with(replies, "Je laatste berichten")
        s.log.expect(
            listing is not None and "gelezen 6" in listing.text,
            "/bericht lists the past broadcast with six reads (a double tap counts once)",
            listing.text if listing else [m.text[:80] for m in replies],
        )
        await s.type(carla, "/annuleren")

    async def photo_to_utrecht() -> None:
        await s.type(carla, "/bericht")
        s.log.act(s.h.clock, carla.id, "photo", "(foto van de speurtocht-route, met bijschrift)")
        mark = s.h.tg.last_message_id(carla.id)
        await s.h.processed(
            s.h.tg.push_photo(
                carla,
                caption="De route van de speurtocht in Utrecht. Start bij de gastschool; "
                "de teams lopen met hun begeleider.",
            )
        )
        replies = s.h.tg.messages_since(carla.id, mark)
        await s.tap(carla, replies[-1], "Eén stad")
        await s.tap(carla, s.messages(carla)[-1], "Utrecht")
        await s.tap(carla, s.messages(carla)[-1], "Zonder knop")
        await s.type(carla, "morgen 08:00")
        await s.tap(carla, s.messages(carla)[-1], "Versturen")
        scheduled = s.messages(carla)[-1]
        s.log.expect(
            "📅 Je bericht gaat" in scheduled.text,
            "a broadcast can be scheduled for a later moment",
            scheduled.text[:200],
        )

    async def utrecht_got_the_photo() -> None:
        utrecht = next(p for p in s.exchanges if p.city == "Utrecht")
        got = [m for m in s.messages(utrecht.teacher("A")) if "speurtocht in Utrecht" in m.text]
        s.log.expect(
            len(got) == 1 and got[0].photo is not None,
            "the scheduled photo reached a Utrecht teacher once, as a photo with its caption",
            [m.text[:60] for m in got],
        )
        amsterdam = p1.teacher("A")
        s.log.expect(
            not any("speurtocht in Utrecht" in m.text for m in s.messages(amsterdam)),
            "a broadcast to one city reaches nobody elsewhere",
            amsterdam.name,
        )

    async def link_group() -> None:
        replies = await s.type(carla, "/groep")
        replies = await _open_pair(s, replies, p1.exchange_id)
        code = _with(s.messages(carla), "Groepscode")
        found = GROUP_COMMAND.search(code.text if code else "")
        s.log.expect(found is not None, "/groep gives a code to send in the group", code)
        if found is None:
            return
        teacher = s.user(p1.teacher("A"))
        s.log.act(s.h.clock, teacher.id, "system", f"voegt de bot toe aan '{GROUP_TITLE}'")
        await s.h.processed(s.h.tg.add_bot_to_group(teacher, GROUP_CHAT, GROUP_TITLE))
        s.log.act(s.h.clock, teacher.id, "typed", f"(in de groep) {found.group(1)}")
        await s.h.processed(s.h.tg.push_text(teacher, found.group(1), chat_id=GROUP_CHAT))
        s.log.expect(
            any("Deze groep hoort nu bij" in m.text for m in s.h.tg.messages(GROUP_CHAT)),
            "a teacher links the group with the coordinator's code",
            [m.text[:80] for m in s.h.tg.messages(GROUP_CHAT)],
        )
        mark = s.h.tg.last_message_id(GROUP_CHAT)
        await s.h.processed(
            s.h.tg.push_text(teacher, "Wie neemt er fruit mee?", chat_id=GROUP_CHAT)
        )
        s.log.expect(
            s.h.tg.last_message_id(GROUP_CHAT) == mark,
            "the bot says nothing to ordinary talk in the group",
            [m.text[:80] for m in s.h.tg.messages_since(GROUP_CHAT, mark)],
        )

    async def new_links_for_7() -> None:
        replies = await _manage(s, p7)
        await s.tap(carla, replies[-1], "Uitnodigingen")
        invites = s.messages(carla)[-1]
        revoke = _button(invites, "intrekken")
        if revoke is not None:
            await s.tap(carla, invites, revoke)
        invites = s.messages(carla)[-1]
        await s.tap(carla, invites, "Nieuwe links")
        s.log.expect(
            bool(s.invite_tokens(s.messages(carla)[-1])),
            "/beheer renews a pair's invite links",
            s.messages(carla)[-1].text[:200],
        )

    async def remove_leaver() -> None:
        replies = await _manage(s, p8)
        await s.tap(carla, replies[-1], "Leden")
        await s.tap(carla, s.messages(carla)[-1], f"✖️ {leaver.first_name}")
        await s.tap(carla, s.messages(carla)[-1], "Ja, uit het koppel halen", double=True)
        s.removed.add((leaver.user_id, p8.exchange_id))

    async def both_told() -> None:
        told = s.last(helper, "Je bent ingepland als begeleider")
        s.log.expect(
            told is not None and f"#{p13.exchange_id} " in told.text,
            "a begeleider planned into another pair's day hears which day and where",
            [m.text[:80] for m in s.messages(helper)][-2:],
        )
        gone = [m for m in s.messages(leaver) if "Je doet niet meer mee" in m.text]
        s.log.expect(
            len(gone) == 1,
            "a member taken off a pair is told once, even after a double tap",
            [m.text[:80] for m in gone],
        )

    async def read_log() -> None:
        replies = await _manage(s, p13)
        await s.tap(carla, replies[-1], "Logboek")
        log = _with(s.messages(carla), "Logboek")
        s.log.expect(
            log is not None and helper.first_name in log.text,
            "the pair's log says who was planned in, by whom and when",
            log.text[:400] if log else None,
        )

    async def look_back() -> None:
        mark = s.h.tg.last_message_id(carla.id)
        await s.type(carla, "/export")
        await _document_made(s)
        files = [m for m in s.h.tg.messages_since(carla.id, mark) if m.document is not None]
        s.log.expect(len(files) == 1, "/export sends one workbook", len(files))
        if files:
            assert files[0].document is not None
            book = load_workbook(io.BytesIO(files[0].document.content), read_only=True)
            first = book.worksheets[0]
            rows = first.max_row or 0
            s.log.expect(
                rows - 1 == len(s.exchanges),
                "the workbook's first sheet has a row for each of the thirty pairs",
                f"{first.title}: {rows} rows",
            )
        mark = s.h.tg.last_message_id(carla.id)
        await s.type(carla, "/export csv")
        await _document_made(s)
        zips = [m for m in s.h.tg.messages_since(carla.id, mark) if m.document is not None]
        if zips and zips[0].document is not None:
            names = zipfile.ZipFile(io.BytesIO(zips[0].document.content)).namelist()
            s.log.expect(len(names) >= 7, "/export csv sends a zip of CSV files", names)
        else:
            s.log.expect(False, "/export csv sends a zip of CSV files", None)
        mark = s.h.tg.last_message_id(carla.id)
        await s.type(carla, "/rapport")
        await _document_made(s)
        charts = [m for m in s.h.tg.messages_since(carla.id, mark) if m.photo is not None]
        s.log.expect(len(charts) >= 4, "/rapport sends the season's charts", len(charts))
        out = os.environ.get("SEASON_REPORT_DIR")
        if out:
            _save_charts(Path(out), charts)

    async def archive_first() -> None:
        replies = await _manage(s, p1)
        await s.tap(carla, replies[-1], "Archiveren")
        await s.tap(carla, s.messages(carla)[-1], "Ja, archiveren")
        replies = await s.type(carla, "/overzicht")
        page = replies[-1]
        s.log.expect(
            "Overzicht: 29 koppels" in page.text
            and not any(t.startswith(f"#{p1.exchange_id} ") for t in page.button_texts),
            "an archived pair leaves the overview",
            page.text[:200],
        )

    return [
        Event(GATHERING_FROM, "Carla gathers notices", gather),
        Event(local(date(2027, 1, 18), 9, 30), "first summary", first_summary),
        Event(local(date(2027, 2, 2), 10, 30), "to all teachers", to_all_teachers),
        Event(local(date(2027, 2, 2), 12, 0), "teachers read", teachers_read),
        Event(local(date(2027, 2, 2), 16, 0), "report and reads", report_and_reads),
        Event(local(date(2027, 2, 3), 14, 0), "photo to Utrecht", photo_to_utrecht),
        Event(local(date(2027, 2, 4), 9, 0), "Utrecht got it", utrecht_got_the_photo),
        Event(local(date(2027, 2, 4), 16, 0), "group for pair 1", link_group),
        Event(local(date(2027, 2, 15), 10, 30), "overview", overview),
        Event(local(date(2027, 2, 8), 11, 0), "new links for 7", new_links_for_7),
        Event(local(date(2027, 2, 9), 11, 0), "a begeleider leaves 8", remove_leaver),
        Event(local(date(2027, 2, 15), 14, 0), "both told", both_told),
        Event(local(date(2027, 2, 19), 10, 0), "log of 13", read_log),
        Event(local(date(2027, 3, 16), 9, 0), "export and report", look_back),
        Event(local(date(2027, 3, 16), 9, 30), "archive pair 1", archive_first),
    ]


async def _document_made(s: Season) -> None:
    """Wait until the documents asked for (/export, /rapport) are made and sent: the command
    answers at once, the file follows."""
    assert s.h.context is not None
    await s.h.context.documents.settled()


async def coordinator_day_events(s: Season) -> list[Event]:
    """Carla's tools on the exchange days, once every date is agreed."""
    p1, _, _, p13 = _cast(s)
    helper = _helper(s)
    p13_day1, p13_start, _ = (await phase_dates(s, p13.exchange_id))["exchange_day_1"]
    p1_day1 = (await phase_dates(s, p1.exchange_id))["exchange_day_1"][0]
    arrival = local(p13_day1, 8, 45)
    if p13_start is not None:
        arrival = datetime.combine(p13_day1, p13_start, tzinfo=AMS)

    async def helper_checks_in() -> None:
        replies = await s.type(helper, "/checkin")
        if replies and "Voor welke" in replies[-1].text:
            await s.tap(helper, replies[-1], f"#{p13.exchange_id} ")

    async def helper_got_the_day() -> None:
        schedule = [
            m
            for m in s.received_on(helper, p13_day1)
            if (m.text or "").startswith("Uitwisselingsdag 1")
        ]
        s.log.expect(
            len(schedule) == 1,
            "the begeleider planned into pair 13's first day gets that day's schedule",
            [m.text[:80] for m in s.received_on(helper, p13_day1)],
        )

    async def group_on_the_day() -> None:
        texts = [m.text for m in s.h.tg.messages(GROUP_CHAT)]
        s.log.expect(
            any(t.startswith("Uitwisselingsdag 1") for t in texts),
            "the linked group gets the day schedule",
            [t[:60] for t in texts],
        )
        notices = [t for t in texts if "Er is een incident gemeld" in t]
        s.log.expect(
            len(notices) >= 1 and all("\n" not in t for t in notices),
            "the linked group hears of the incident in one line, without details",
            notices,
        )

    async def carla_looks_at_today() -> None:
        replies = await s.type(s.coordinator, "/vandaag")
        s.log.expect(
            len(replies) == 1 and replies[0].text.startswith("Vandaag, "),
            "a coordinator's /vandaag is one short message listing today's pairs",
            [m.text[:80] for m in replies],
        )
        if not replies:
            return
        listed, number = replies[-1], f"#{p13.exchange_id}"
        for _ in range(6):  # page on to pair 13
            more = next((t for t in listed.button_texts if t.startswith("Meer")), None)
            if number in listed.button_texts or more is None:
                break
            await s.tap(s.coordinator, listed, more)
            listed = _now(s, listed)
        entry = next((b for b in listed.text.split("\n\n") if f"{number} " in b), "")
        s.log.expect(
            "✅" in entry or re.search(r"⏳ [1-9]\d* van de", entry),
            "/vandaag lists pair 13 with its begeleider checked in",
            entry or listed.text[:300],
        )
        if number not in listed.button_texts:
            s.log.expect(False, "pair 13 has a button in /vandaag", listed.button_texts)
            return
        day = await s.tap(s.coordinator, listed, number)
        s.log.expect(
            len(day) == 1 and day[0].text.startswith("Uitwisselingsdag 1"),
            "a pair's button in /vandaag gives that pair's full day",
            [m.text[:80] for m in day],
        )

    return [
        Event(local(p1_day1, 18, 0), "group on the day", group_on_the_day),
        Event(arrival - timedelta(minutes=20), "helper checks in at 13", helper_checks_in),
        Event(arrival + timedelta(minutes=30), "Carla's /vandaag", carla_looks_at_today),
        Event(local(p13_day1, 18, 0), "helper got the day", helper_got_the_day),
    ]


def gathered_notices_wait(s: Season) -> list[str]:
    """Joins and agreed dates never reach Carla one by one once she chose to gather them."""
    pattern = said_any("invites.joined_notice")
    after = s.marks.get("gathering")
    if after is None:
        return ["Carla never chose to gather notices"]
    return [
        m.text[:80]
        for m in s.h.tg.messages_since(s.coordinator.id, after)
        if pattern.match(m.text or "")
    ]
