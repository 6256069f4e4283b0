"""`python -m bot export --out FILE` and `python -m bot report --out DIR`: every exchange."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.clock import SystemClock
from bot.config import Settings
from bot.domain.programme import load_programmes
from bot.reports import csvzip, workbook
from bot.services import export as export_service
from bot.services.export import Export
from bot.texts import get_texts
from db.session import Database

Prepare = Callable[[Settings], Awaitable[None]]


async def _everything(settings: Settings, prepare: Prepare) -> Export:
    # The database as the bot would find it: migrated (and waited for if it is not up yet).
    await prepare(settings)
    database = Database(settings.database_url)
    clock = SystemClock()
    try:
        async with database.read() as session:
            return await export_service.everything(
                session,
                load_programmes(),
                now=clock.now(),
                today=clock.now().astimezone(settings.tz).date(),
                retention_days=settings.retention_days,
            )
    finally:
        await database.dispose()


async def write_export(settings: Settings, out: Path, lang: str, prepare: Prepare) -> int:
    """Every exchange as a workbook, or as CSV files in a zip when `out` ends in .zip."""
    texts = get_texts()
    data = await _everything(settings, prepare)
    build = csvzip.build if out.suffix.lower() == ".zip" else workbook.build
    content = await asyncio.to_thread(build, data, texts, lang, settings.tz)
    try:
        await asyncio.to_thread(out.write_bytes, content)
    except OSError as error:
        print(
            texts.plain(lang, "export.cli_unwritable", file=str(out), error=str(error)),
            file=sys.stderr,
        )
        return 2
    exchanges = texts.amount(lang, "export.exchanges", len(data.exchanges))
    print(texts.plain(lang, "export.cli_done", file=str(out), exchanges=exchanges))
    return 0


async def write_report(settings: Settings, directory: Path, lang: str, prepare: Prepare) -> int:
    """The season report's charts of every exchange as PNG files in `directory`."""
    from bot.reports import charts  # matplotlib takes a second to load: only when drawing

    texts = get_texts()
    data = await _everything(settings, prepare)
    made = await asyncio.to_thread(charts.season_report, data, texts, lang)
    try:
        await asyncio.to_thread(_write_all, directory, [(c.name, c.png) for c in made])
    except OSError as error:
        print(
            texts.plain(lang, "report.cli_unwritable", directory=str(directory), error=str(error)),
            file=sys.stderr,
        )
        return 2
    count = texts.amount(lang, "report.charts", len(made))
    print(texts.plain(lang, "report.cli_done", charts=count, directory=str(directory)))
    return 0


def _write_all(directory: Path, made: Sequence[tuple[str, bytes]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, png in made:
        (directory / name).write_bytes(png)
