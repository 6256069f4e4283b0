"""/rapport: the season report as PNG charts, one per topic, readable and the same every time."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.reports import charts
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
from tests.test_export import season

PNG = b"\x89PNG\r\n\x1a\n"


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
    sent = photos(await h.send(coordinator, "/rapport"))
    assert [m.text for m in sent] == [
        said("report.caption_attendance_none"),
        said("report.caption_checklists_none"),
        said("report.caption_incidents_none"),
        said("report.caption_ratings_none"),
    ]


async def test_the_report_shows_the_season(harness: Harness) -> None:
    h = harness
    s = await season(h)
    sent = photos(await h.send(s.pair.coordinator, "/rapport"))
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
    again = photos(await h.send(s.pair.coordinator, "/report"))
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
