"""/rapport: the season report as PNG charts, one per topic, readable and the same every time."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.config import Settings
from bot.reports import charts
from bot.reports.background import Documents
from bot.services.export import (
    ChecklistProgressRow,
    ExchangeRow,
    Export,
    HeadcountRow,
)
from bot.texts import get_texts
from fake_telegram import BotMessage
from tests.fixtures import said
from tests.flows import joined_exchange
from tests.harness import Harness
from tests.test_export import asked, document_of, season

PNG = b"\x89PNG\r\n\x1a\n"
REPORT_MAKING = (
    "📈 Ik maak het rapport van de koppels die jij beheert; het komt over een paar tellen."
)
EXPORT_MAKING = (
    "📊 Ik maak de export van de koppels die jij beheert als Excel-bestand; "
    "die komt over een paar tellen."
)
T = TypeVar("T")


class HeldDocuments(Documents):
    """The worker, but each document waits until the test lets it go (or fails then)."""

    def __init__(self) -> None:
        super().__init__(stop_grace=0.2)
        self.go = asyncio.Event()
        self.fail = False

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        await self.go.wait()
        if self.fail:
            raise RuntimeError("the worker broke down")
        return await super().run(function, *args, **kwargs)


def hold_documents(h: Harness) -> HeldDocuments:
    assert h.context is not None
    held = HeldDocuments()
    h.context.documents = held
    return held


def png_size(content: bytes) -> tuple[int, int]:
    assert content.startswith(PNG)
    width, height = struct.unpack(">II", content[16:24])
    return width, height


def photos(messages: list[BotMessage]) -> list[BotMessage]:
    found = [m for m in messages if m.photo is not None]
    for message in found:
        assert message.photo is not None
        assert message.photo.content.startswith(PNG)
    return found


async def test_an_empty_season_gives_a_chart_per_topic_that_says_so(harness: Harness) -> None:
    h = harness
    coordinator = h.user(1000, "Carla")
    replies = await asked(h, coordinator, "/rapport")
    # Said at once; the charts follow when they are drawn.
    assert replies[0].text == REPORT_MAKING
    sent = photos(replies)
    assert [m.text for m in sent] == [
        said("report.caption_attendance_none"),
        said("report.caption_checklists_none"),
        said("report.caption_incidents_none"),
        said("report.caption_ratings_none"),
    ]


async def test_the_report_shows_the_season(harness: Harness) -> None:
    h = harness
    s = await season(h)
    sent = photos(await asked(h, s.pair.coordinator, "/rapport"))
    assert len(sent) == 4
    captions = [m.text for m in sent]
    assert captions[0] == said(
        "report.caption_attendance", present=45, size=46, days="1 uitwisselingsdag"
    )
    assert (captions[1] or "").startswith("✅ Checklists: 1 van ")
    assert captions[2] == said("report.caption_incidents", incidents="2 meldingen", urgent=0)
    assert captions[3] == said(
        "report.caption_ratings",
        evaluations="1 evaluatie",
        average="4,0",
        tension="1 evaluatie",
    )
    for message in sent:
        assert message.photo is not None
        # Portrait and sharp enough to zoom into on a phone.
        width, height = png_size(message.photo.content)
        assert width >= 1000 and height >= width

    # The same data draws the same pictures.
    again = photos(await asked(h, s.pair.coordinator, "/report"))
    assert [m.photo.content for m in again if m.photo] == [m.photo.content for m in sent if m.photo]


async def test_a_teacher_gets_no_report(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    replies = await h.send(p.teacher_b, "/rapport")
    assert [m.text for m in replies] == [said("auth.not_allowed")]
    assert photos(replies) == []
    replies = await h.send(p.coordinator, "/rapport pdf")
    assert [m.text for m in replies] == [said("report.usage")]


def test_many_pairs_are_split_over_pages_that_stay_readable() -> None:
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    export = Export(generated_at=now, everything=True)
    for number in range(1, 26):
        export.exchanges.append(
            ExchangeRow(
                number,
                f"School {number} – Partner {number}",
                "Utrecht",
                "midden",
                "standaard",
                "active",
                f"School {number}",
                "groep 8",
                25,
                f"Partner {number}",
                "groep 7",
                20,
                date(2027, 2, 1),
                now,
            )
        )
        export.checklists.append(ChecklistProgressRow(number, "pair", None, None, None, 3, 10))
        for side, present in (("A", 24), ("B", 19)):
            export.headcounts.append(
                HeadcountRow(
                    number, date(2027, 2, 10), side, "arrival", present, None, None, now, None
                )
            )
    made = charts.season_report(export, get_texts(), "en")
    assert [c.name for c in made] == [
        "1-attendance-1.png",
        "1-attendance-2.png",
        "2-checklists-1.png",
        "2-checklists-2.png",
        "3-incidents.png",
        "4-ratings.png",
    ]
    assert made[1].caption == get_texts().get(
        "en",
        "report.caption_page",
        caption=get_texts().get(
            "en",
            "report.caption_attendance",
            present=25 * 43,
            size=25 * 45,
            days="25 exchange days",
        ),
        page=2,
        pages=2,
    )
    assert {png_size(c.png) for c in made[:4]} == {png_size(made[0].png)}


async def test_the_command_line_writes_the_charts(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.reports import cli

    await season(harness)
    out = tmp_path / "rapport"

    async def migrated(_settings: Settings) -> None:
        """The harness's database is migrated already."""

    assert await cli.write_report(harness.settings, out, "nl", migrated) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["1-attendance.png", "2-checklists.png", "3-incidents.png", "4-ratings.png"]
    assert all((out / n).read_bytes().startswith(PNG) for n in names)
    assert "4 grafieken" in capsys.readouterr().out


async def test_the_report_is_announced_at_once_and_made_once_at_a_time(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    held = hold_documents(h)
    mark = h.tg.last_message_id(p.coordinator.id)
    first = await h.send(p.coordinator, "/rapport")
    assert [m.text for m in first] == [REPORT_MAKING]
    # Asked again while it is being made: it is on its way, and is not made twice.
    again = await h.send(p.coordinator, "/rapport")
    assert [m.text for m in again] == [
        "Je rapport van de koppels die jij beheert wordt nog gemaakt; het komt zo."
    ]
    # An export is another document, and so is the export as CSV files: each is made beside
    # it, none is dropped.
    export = await h.send(p.coordinator, "/export")
    assert [m.text for m in export] == [EXPORT_MAKING]
    csv = await h.send(p.coordinator, "/export csv")
    assert [m.text for m in csv] == [
        "📊 Ik maak de export van de koppels die jij beheert als CSV-bestanden in een zip; "
        "die komt over een paar tellen."
    ]
    # Meanwhile the bot answers everyone, the coordinator too.
    assert await h.send(p.teacher_a, "/help")
    assert await h.send(p.coordinator, "/help")

    held.go.set()
    await held.settled()
    arrived = h.tg.messages_since(p.coordinator.id, mark)
    assert len(photos(arrived)) == 4
    assert sorted(m.document.filename or "" for m in arrived if m.document is not None) == [
        f"wijkbot-export-{h.clock.now().date().isoformat()}.xlsx",
        f"wijkbot-export-{h.clock.now().date().isoformat()}.zip",
    ]
    # Done: the next /rapport is made anew.
    assert len(photos(await asked(h, p.coordinator, "/rapport"))) == 4


async def test_a_report_that_cannot_be_made_says_so(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    held = hold_documents(h)
    held.fail = True
    held.go.set()
    replies = await asked(h, p.coordinator, "/rapport")
    assert [m.text for m in replies] == [REPORT_MAKING, said("report.failed")]
    replies = await asked(h, p.coordinator, "/export")
    assert [m.text for m in replies] == [EXPORT_MAKING, said("export.failed")]
    held.fail = False
    assert len(photos(await asked(h, p.coordinator, "/rapport"))) == 4


async def test_a_stopping_bot_sends_what_is_ready_and_says_what_is_not(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await asked(h, p.coordinator, "/rapport")  # the worker is up
    # Stopped right after the question: the charts still come.
    mark = h.tg.last_message_id(p.coordinator.id)
    await h.send(p.coordinator, "/rapport")
    await h.stop_bot()
    assert len(photos(h.tg.messages_since(p.coordinator.id, mark))) == 4

    # A document that would take too long is given up, and the coordinator is told.
    await h.start_bot()
    hold_documents(h)
    mark = h.tg.last_message_id(p.coordinator.id)
    await h.send(p.coordinator, "/export")
    await h.stop_bot()
    assert [m.text for m in h.tg.messages_since(p.coordinator.id, mark)] == [
        EXPORT_MAKING,
        said("export.interrupted"),
    ]

    # After a restart the bot makes documents again.
    await h.start_bot()
    _, content, _ = document_of(await asked(h, p.coordinator, "/export"))
    assert content.startswith(b"PK")
