"""What the worker process makes (bot/reports/background.py): a file from the rows read.

Each function takes the rows as read (`Gathered`), assembles the export and writes the file,
all without a database. The bot imports this module to name the functions; only the worker
loads the file writers (openpyxl, matplotlib: some fifty megabytes a bot never asked for a
report never needs). Results are plain bytes and tuples, so unpickling them loads nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from bot.domain.programme import Programme
from bot.services.export import Gathered, assemble
from bot.texts import Texts

# A chart as sent: its file name, the PNG, its caption (HTML).
ChartFile = tuple[str, bytes, str]


def workbook_file(
    gathered: Gathered,
    programmes: Mapping[str, Programme],
    texts: Texts,
    lang: str,
    tz: ZoneInfo,
) -> bytes:
    """The export as an .xlsx."""
    from bot.reports import workbook

    return workbook.build(assemble(gathered, programmes), texts, lang, tz)


def csv_file(
    gathered: Gathered,
    programmes: Mapping[str, Programme],
    texts: Texts,
    lang: str,
    tz: ZoneInfo,
) -> bytes:
    """The export as a zip of CSV files."""
    from bot.reports import csvzip

    return csvzip.build(assemble(gathered, programmes), texts, lang, tz)


def season_charts(
    gathered: Gathered, programmes: Mapping[str, Programme], texts: Texts, lang: str
) -> list[ChartFile]:
    """The season report's charts, in order."""
    from bot.reports import charts

    made = charts.season_report(assemble(gathered, programmes), texts, lang)
    return [(c.name, c.png, c.caption) for c in made]
