"""/export: every exchange a coordinator runs as a workbook or CSV files, free texts only while
retained; the same from the command line."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.jobs import retention
from db.models import (
    Broadcast,
    BroadcastRead,
    CheckIn,
    ChecklistTick,
    Headcount,
    Incident,
    OutboxMessage,
)
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, said, said_any
from tests.flows import JoinedExchange, create_exchange, joined_exchange
from tests.harness import Harness
from tests.services.world import add_exchange, add_user

ROOT = Path(__file__).resolve().parent.parent
DAY_1 = date(2027, 2, 10)
# After the first exchange's retention period (it ends in February; 90 days), before the
# second one's: the first one's free texts are gone, the second one's are kept.
LATER = datetime(2027, 6, 1, 10, 0, tzinfo=AMS).astimezone(UTC)
PURGED = said("export.purged")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AMS).astimezone(UTC)


@dataclass
class Season:
    pair: JoinedExchange
    second: int  # an exchange in June, still within its retention period
    others: int  # an exchange another coordinator made


async def season(h: Harness) -> Season:
    """Two exchanges of Carla with ticks, counts, check-ins, incidents and a broadcast, one of
    another coordinator; then time passes until the first one's free texts are purged."""
    p = await joined_exchange(h)
    second = await create_exchange(
        h, p.coordinator, school_a="Het Kompas", school_b="De Regenboog", start="7 juni"
    )
    assert h.db is not None
    async with h.db.write() as session:
        session.add_all(
            [
                ChecklistTick(
                    exchange_id=p.exchange_id,
                    holder="A",
                    item_key="booklet_planned",
                    done_by=p.teacher_a.id,
                    done_at=at(date(2027, 1, 20), 15, 30),
                ),
                Headcount(
                    exchange_id=p.exchange_id,
                    day=DAY_1,
                    side="A",
                    moment="arrival",
                    count=23,
                    recorded_by=p.begeleider.id,
                    recorded_at=at(DAY_1, 9, 5),
                ),
                Headcount(
                    exchange_id=p.exchange_id,
                    day=DAY_1,
                    side="B",
                    moment="arrival",
                    count=22,
                    recorded_by=p.begeleider.id,
                    recorded_at=at(DAY_1, 9, 6),
                ),
                Headcount(
                    exchange_id=p.exchange_id,
                    day=DAY_1,
                    side="A",
                    moment="end",
                    count=21,
                    previous_count=23,
                    previous_moment="arrival",
                    recorded_by=p.begeleider.id,
                    recorded_at=at(DAY_1, 14, 0),
                ),
                CheckIn(
                    exchange_id=p.exchange_id,
                    phase_key="exchange_day_1",
                    day=DAY_1,
                    user_id=p.begeleider.id,
                    checked_in_at=at(DAY_1, 8, 40),
                    checked_out_at=at(DAY_1, 14, 10),
                    rating=4,
                    tension=True,
                    tension_note="Gedoe bij de speurtocht",
                    remarks="Fijne dag",
                ),
                Incident(
                    exchange_id=p.exchange_id,
                    reported_by=p.begeleider.id,
                    category="conflict",
                    severity="medium",
                    team_number=3,
                    description="Ruzie in team 3",
                    photo_file_id="photo-1",
                    status="resolved",
                    created_at=at(DAY_1, 11, 0),
                    acknowledged_at=at(DAY_1, 11, 4),
                    resolved_at=at(DAY_1, 11, 30),
                ),
                Incident(
                    exchange_id=second,
                    reported_by=p.begeleider.id,
                    category="damage",
                    severity="low",
                    description="Kapotte fietsbel",
                    status="open",
                    created_at=at(date(2027, 1, 25), 10, 0),
                ),
            ]
        )
        broadcast = Broadcast(
            created_by=p.coordinator.id,
            created_at=at(date(2027, 2, 1), 9, 0),
            text="Denk aan de toestemmingsformulieren voor de speurtocht!",
            audience={"kind": "teachers"},
            read_button=True,
            send_at=at(date(2027, 2, 1), 9, 0),
            status="done",
            recipients=3,
            confirm_key="test-broadcast-1",
        )
        session.add(broadcast)
        await session.flush()
        for user_id, status in (
            (p.teacher_a.id, "sent"),
            (p.teacher_b.id, "sent"),
            (p.begeleider.id, "blocked"),
        ):
            moment = at(date(2027, 2, 1), 9, 0)
            session.add(
                OutboxMessage(
                    user_id=user_id,
                    kind="broadcast",
                    dedupe_key=f"test-broadcast-1-{user_id}",
                    payload={},
                    status=status,
                    due_at=moment,
                    not_after=moment,
                    next_attempt_at=moment,
                    created_at=moment,
                    updated_at=moment,
                    broadcast_id=broadcast.id,
                )
            )
        session.add(BroadcastRead(broadcast_id=broadcast.id, user_id=p.teacher_a.id, at=moment))
        add_user(session, 1001, "Dirk", coordinator=True)
        await session.flush()
        others = await add_exchange(
            session, school_a="De Vlinder", school_b="De Zon", created_by=1001
        )
        others_id = others.id
    h.clock.set(LATER)
    assert h.context is not None
    purged = await retention.purge(h.context)
    assert purged.incidents == 1 and purged.checkins == 1
    return Season(p, second, others_id)


async def asked(h: Harness, user: FakeUser, text: str) -> list[BotMessage]:
    """The user types `text`; returns what the bot sent them, the document it makes in the
    background included (it answers at once that the document is coming)."""
    mark = h.tg.last_message_id(user.id)
    await h.send(user, text)
    assert h.context is not None
    await h.context.documents.settled()
    return h.tg.messages_since(user.id, mark)


def rows(sheet: Worksheet) -> list[dict[str, object]]:
    values = list(sheet.iter_rows(values_only=True))
    header = [str(v) for v in values[0]]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


def document_of(messages: list[BotMessage], lang: str = "nl") -> tuple[BotMessage, bytes, str]:
    """The document among the replies; the first reply says it is coming."""
    assert messages[0].text.startswith(("📊 Ik maak de export ", "📊 Making the export "))
    (message,) = [m for m in messages if m.document is not None]
    assert message.document is not None and message.document.filename is not None
    return message, message.document.content, message.document.filename


async def test_export_sends_a_workbook_of_the_coordinators_exchanges(harness: Harness) -> None:
    h = harness
    s = await season(h)
    replies = await asked(h, s.pair.coordinator, "/export")
    assert replies[0].text == (
        "📊 Ik maak de export van de koppels die jij beheert als Excel-bestand; "
        "die komt over een paar tellen."
    )
    message, content, filename = document_of(replies)
    assert filename == "wijkbot-export-2027-06-01.xlsx"
    assert said_any("export.done_mine").search(message.text or "")
    assert "2 koppels" in (message.text or "")

    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == [
        "Koppels",
        "Data",
        "Checklists",
        "Checklistpunten",
        "Tellingen",
        "Check-ins en evaluaties",
        "Incidenten",
        "Berichten",
    ]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])

    pairs = rows(book["Koppels"])
    # Only the exchanges Carla runs: not the one Dirk made.
    assert [r["Koppel nr"] for r in pairs] == [s.pair.exchange_id, s.second]
    first = pairs[0]
    assert first["Koppel"] == "De Avonturijn – De Odyssee"
    assert first["Plaats"] == "Amsterdam" and first["Regio"] == "Noord"
    assert first["Status"] == "actief"
    assert (first["Leerlingen A"], first["Leerlingen B"]) == (24, 22)
    assert first["Start"] == datetime(2027, 2, 1)

    dates = [r for r in rows(book["Data"]) if r["Koppel nr"] == s.pair.exchange_id]
    assert [r["Onderdeel"] for r in dates] == [
        "Oriëntatie",
        "Uitwisselingsdag 1",
        "Uitwisselingsdag 2",
        "Afsluiting",
    ]
    day_1 = dates[1]
    assert day_1["Van"] == datetime(2027, 2, 10) and day_1["Tot en met"] == datetime(2027, 2, 10)
    assert day_1["Begintijd"] == time(8, 45)
    assert day_1["Waar"] == "De Avonturijn" and day_1["Afgesproken"] == "nee"
    assert dates[0]["Afgesproken"] is None  # a week is not agreed

    progress = {
        r["Voor wie"]: (r["Klaar"], r["Totaal"])
        for r in rows(book["Checklists"])
        if r["Koppel nr"] == s.pair.exchange_id
    }
    assert progress["klas van De Avonturijn"][0] == 1
    assert progress["klas van De Odyssee"][0] == 0
    assert progress["Ghislaine (begeleider)"][0] == 0
    assert "het koppel samen" in progress
    ticked = [r for r in rows(book["Checklistpunten"]) if r["Afgevinkt"] == "ja"]
    assert len(ticked) == 1
    assert ticked[0]["Door"] == "Anouk" and ticked[0]["Op"] == datetime(2027, 1, 20, 15, 30)
    assert ticked[0]["Voor wie"] == "klas van De Avonturijn"

    counts = rows(book["Tellingen"])
    assert [(r["School"], r["Moment"], r["Aantal"], r["Vorige telling"]) for r in counts] == [
        ("De Avonturijn", "aankomst", 23, None),
        ("De Odyssee", "aankomst", 22, None),
        ("De Avonturijn", "einde van de dag", 21, 23),
    ]
    assert counts[0]["Genoteerd op"] == datetime(2027, 2, 10, 9, 5)
    assert counts[0]["In de klas"] == 24 and counts[0]["Door"] == "Ghislaine"

    (evaluation,) = rows(book["Check-ins en evaluaties"])
    assert evaluation["Wie"] == "Ghislaine" and evaluation["Cijfer (1-5)"] == 4
    assert evaluation["Ingecheckt"] == datetime(2027, 2, 10, 8, 40)
    assert evaluation["Spanning"] == "ja"
    # Past the retention period: the free texts are not in the export, and it says so.
    assert evaluation["Wat er speelde"] == PURGED and evaluation["Opmerkingen"] == PURGED

    incidents = {r["Koppel nr"]: r for r in rows(book["Incidenten"])}
    gone = incidents[s.pair.exchange_id]
    assert (gone["Soort"], gone["Ernst"], gone["Status"]) == (
        "Ruzie tussen leerlingen",
        "Middel",
        "opgelost",
    )
    assert gone["Team"] == 3 and gone["Opgelost op"] == datetime(2027, 2, 10, 11, 30)
    assert gone["Beschrijving"] == PURGED and gone["Foto"] == PURGED
    kept = incidents[s.second]
    assert kept["Beschrijving"] == "Kapotte fietsbel" and kept["Foto"] == "nee"
    text = b"".join(
        cell.encode()
        for sheet in book.worksheets
        for row in sheet.values
        for cell in row
        if isinstance(cell, str)
    )
    assert b"Ruzie in team 3" not in text and b"Gedoe" not in text and b"Fijne dag" not in text

    (broadcast,) = rows(book["Berichten"])
    assert broadcast["Aan"] == "alle leerkrachten"
    assert str(broadcast["Tekst (begin)"]).startswith("Denk aan de toestemmingsformulieren")
    assert (
        broadcast["Ontvangers"],
        broadcast["Bezorgd"],
        broadcast["Geblokkeerd"],
        broadcast["Mislukt"],
        broadcast["Gelezen"],
    ) == (3, 2, 1, 0, 1)


async def test_export_all_includes_other_coordinators_pairs(harness: Harness) -> None:
    h = harness
    s = await season(h)
    replies = await asked(h, s.pair.coordinator, "/export alle")
    assert replies[0].text.startswith("📊 Ik maak de export van alle koppels als Excel-bestand;")
    message, content, _ = document_of(replies)
    assert said_any("export.done_all").search(message.text or "")
    ids = [r["Koppel nr"] for r in rows(load_workbook(io.BytesIO(content))["Koppels"])]
    assert ids == [s.pair.exchange_id, s.second, s.others]


async def test_export_csv_is_a_zip_of_semicolon_separated_files(harness: Harness) -> None:
    h = harness
    s = await season(h)
    replies = await asked(h, s.pair.coordinator, "/export csv")
    assert replies[0].text == (
        "📊 Ik maak de export van de koppels die jij beheert als CSV-bestanden in een zip; "
        "die komt over een paar tellen."
    )
    message, content, filename = document_of(replies)
    assert filename == "wijkbot-export-2027-06-01.zip"
    assert said("export.format_csv") in (message.text or "")
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.namelist() == [
        "1-koppels.csv",
        "2-data.csv",
        "3-checklists.csv",
        "4-checklistpunten.csv",
        "5-tellingen.csv",
        "6-check-ins-en-evaluaties.csv",
        "7-incidenten.csv",
        "8-berichten.csv",
    ]
    raw = archive.read("5-tellingen.csv")
    assert raw.startswith("\ufeff".encode())  # so Excel reads it as UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert table[0][:6] == ["Koppel nr", "Koppel", "Dag", "School", "Moment", "Aantal"]
    assert table[1][:6] == [
        str(s.pair.exchange_id),
        "De Avonturijn – De Odyssee",
        "2027-02-10",
        "De Avonturijn",
        "aankomst",
        "23",
    ]
    incidents = archive.read("7-incidenten.csv").decode("utf-8-sig")
    assert PURGED in incidents and "Kapotte fietsbel" in incidents
    assert "Ruzie in team 3" not in incidents


async def test_export_in_english_for_an_english_coordinator(harness: Harness) -> None:
    h = harness
    coordinator = h.user(1000, "Carla", language_code="en")
    await h.send(coordinator, "/start")
    assert h.db is not None
    async with h.db.write() as session:
        await add_exchange(session, created_by=coordinator.id)
    replies = await asked(h, coordinator, "/export")
    assert replies[0].text == (
        "📊 Making the export of the pairs you run as an Excel file; "
        "it will be here in a few seconds."
    )
    _, content, _ = document_of(replies, "en")
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames[0] == "Pairs"
    (pair,) = rows(book["Pairs"])
    assert pair["Status"] == "active" and pair["Pupils A"] == 24
    assert pair["Programme"] == "4-week exchange"


async def test_a_teacher_may_not_export(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    for command in ("/export", "/export csv", "/export onzin"):
        replies = await h.send(p.teacher_a, command)
        assert [m.text for m in replies] == [said("auth.not_allowed")]
        assert all(m.document is None for m in replies)


async def test_bad_words_get_the_usage_and_no_pairs_say_so(harness: Harness) -> None:
    h = harness
    coordinator = h.user(1000, "Carla")
    assert [m.text for m in await h.send(coordinator, "/export pdf")] == [said("export.usage")]
    assert [m.text for m in await h.send(coordinator, "/export")] == [said("export.nothing_mine")]
    assert [m.text for m in await h.send(coordinator, "/export alle")] == [said("export.nothing")]


async def run_cli(*args: str, database_url: str) -> tuple[int, str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TELEGRAM_TOKEN", "DATABASE_URL", "COORDINATOR_IDS", "DEFAULT_LANGUAGE"}
    }
    env["PYTHONPATH"] = str(ROOT)
    env["DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_command_line_exports_every_exchange(
    harness: Harness, database_url: str, tmp_path: Path
) -> None:
    h = harness
    s = await season(h)
    out = tmp_path / "seizoen.xlsx"
    zipped = tmp_path / "season.zip"
    unwritable = tmp_path / "missing" / "x.xlsx"
    # Three runs side by side: each process takes a few seconds to start.
    (code, stdout, stderr), (zip_code, _, zip_err), (bad_code, _, bad_err) = await asyncio.gather(
        run_cli("export", "--out", str(out), database_url=database_url),
        run_cli("export", "--out", str(zipped), "--lang", "en", database_url=database_url),
        run_cli("export", "--out", str(unwritable), database_url=database_url),
    )
    assert code == 0, stderr
    assert str(out) in stdout and "3 koppels" in stdout
    book = load_workbook(out)
    assert [r["Koppel nr"] for r in rows(book["Koppels"])] == [
        s.pair.exchange_id,
        s.second,
        s.others,
    ]
    (incident,) = [r for r in rows(book["Incidenten"]) if r["Koppel nr"] == s.pair.exchange_id]
    # Purged is purged, whatever day the command line runs.
    assert incident["Beschrijving"] == PURGED

    assert zip_code == 0, zip_err
    archive = zipfile.ZipFile(zipped)
    assert archive.namelist()[0] == "1-pairs.csv"
    assert archive.read("1-pairs.csv").decode("utf-8-sig").startswith("Pair no;Pair;City;")

    assert bad_code == 2 and str(unwritable) in bad_err
