"""Command line: `python -m bot [run | sandbox | migrate | import FILE | …]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from telegram.error import InvalidToken

from bot import logs
from bot.clock import SystemClock
from bot.config import Settings, SettingsError, get_settings
from bot.context import AppContext, rules_for
from bot.domain.holidays import REGIONS, HolidayFileError, parse_holiday_csv, parse_holiday_ics
from bot.domain.programme import ProgrammeError, load_programmes
from bot.services import importer, school_holidays
from bot.texts import get_texts
from db import migrate
from db.models import SandboxMarker
from db.session import Database, wait_until_reachable

log = logging.getLogger("bot")


def _setup_logging(settings: Settings) -> None:
    raw = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    # The bot uses the stripped token; redact that and the raw form (see bot.logs).
    logs.configure(settings.log_level, [raw])


def _database_retry_line(settings: Settings) -> Callable[[str, float], None]:
    """Says, in one line per try, that the database is away and when the next try is."""
    where = make_url(settings.database_url).render_as_string(hide_password=True)

    def say(reason: str, seconds: float) -> None:
        line = get_texts().plain(
            settings.default_language,
            "cli.database_unreachable",
            where=where,
            reason=reason,
            seconds=f"{seconds:g}",
        )
        print(line, file=sys.stderr, flush=True)

    return say


async def _migrate(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        # A database that is not up yet is waited for, not answered with a traceback.
        await wait_until_reachable(database, _database_retry_line(settings))
        await migrate.upgrade(database.engine)
    finally:
        await database.dispose()


async def _is_sandbox_database(settings: Settings) -> bool:
    """Whether the bot's database is one the sandbox made (demo people, never messaged)."""
    database = Database(settings.database_url)
    try:
        async with database.read() as session:
            return await session.scalar(select(SandboxMarker.id).limit(1)) is not None
    finally:
        await database.dispose()


def _sandbox(settings: Settings, *, without_token: bool = False) -> int:
    from bot.sandbox import main as sandbox  # aiohttp's web server loads only when asked for

    # The terminal shows the one line with the address, not the bot's routine log; problems
    # still show (and everything with LOG_LEVEL=DEBUG).
    logs.configure("DEBUG" if settings.log_level == "DEBUG" else "WARNING", [])
    if settings.log_level != "DEBUG":
        # The sandbox dispatches every second; on a busy machine a tick may be skipped while
        # the previous one runs, which is harmless and not worth a line in the terminal.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    return sandbox.run(settings, without_token=without_token)


def _run(settings: Settings) -> int:
    from bot.app import UPDATE_TYPES, build_application

    if not settings.has_token:
        # Nobody needs a Telegram bot to see what wijkbot does: without a token, the sandbox.
        return _sandbox(settings, without_token=True)
    token = settings.require_token()
    programmes = load_programmes()
    asyncio.run(_migrate(settings))
    if asyncio.run(_is_sandbox_database(settings)):
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        print(
            get_texts().plain(
                settings.default_language, "sandbox.cli.sandbox_database", database=where
            ),
            file=sys.stderr,
        )
        return 2
    context = AppContext(
        settings=settings,
        db=Database(settings.database_url),
        clock=SystemClock(),
        programmes=programmes,
        texts=get_texts(),
        owns_process=True,
    )
    application = build_application(context, token)
    try:
        # Pending updates are kept: a message sent while the bot restarted still counts.
        application.run_polling(
            allowed_updates=UPDATE_TYPES, drop_pending_updates=False, close_loop=False
        )
    except InvalidToken:
        print(get_texts().plain(settings.default_language, "cli.token_rejected"), file=sys.stderr)
        return 2
    finally:
        # The loop is closed here, not by run_polling: a bot refused at start-up (a wrong
        # token) was never shut down, and its HTTP sessions are closed on it first.
        loop = asyncio.get_event_loop()
        loop.run_until_complete(application.bot.shutdown())
        loop.close()
    return 0


async def _import(settings: Settings, path: Path, skip_invalid: bool) -> int:
    texts = get_texts()
    lang = settings.default_language
    programmes = load_programmes()
    clock = SystemClock()
    try:
        content = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(
            texts.plain(lang, "import.unreadable", file=str(path), error=str(error)),
            file=sys.stderr,
        )
        return 2
    today = clock.now().astimezone(settings.tz).date()
    parsed = importer.parse_csv(content, programmes, today)
    if parsed.header_problem is not None:
        problem = parsed.header_problem
        print(texts.plain(lang, problem.key, **problem.params), file=sys.stderr)
        return 1
    for problem in parsed.problems:
        reason = texts.plain(lang, problem.key, **problem.params)
        print(
            texts.plain(
                lang, "import.problem", line=problem.line, column=problem.column, reason=reason
            ),
            file=sys.stderr,
        )
    if parsed.problems and not skip_invalid:
        print(
            texts.plain(
                lang,
                "import.nothing_imported",
                problems=texts.amount(lang, "import.problems", len(parsed.problems)),
            ),
            file=sys.stderr,
        )
        return 1
    await _migrate(settings)
    database = Database(settings.database_url)
    try:
        async with database.write() as session:
            ids = await importer.import_rows(session, parsed.rows, programmes, now=clock.now())
    finally:
        await database.dispose()
    skipped = len({p.line for p in parsed.problems})
    print(
        texts.plain(
            lang,
            "import.done",
            exchanges=texts.amount(lang, "import.exchanges", len(ids)),
            skipped=texts.amount(lang, "import.lines", skipped),
        )
    )
    return 0


async def _import_holidays(settings: Settings, path: Path, region: str | None) -> int:
    texts = get_texts()
    lang = settings.default_language
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        print(
            texts.plain(lang, "import.unreadable", file=str(path), error=str(error)),
            file=sys.stderr,
        )
        return 2
    try:
        if path.suffix.lower() == ".ics":
            if region is None:
                print(texts.plain(lang, "holidays.region_needed"), file=sys.stderr)
                return 2
            periods = parse_holiday_ics(data, region)
        else:
            periods = parse_holiday_csv(data.decode("utf-8-sig"))
    except (HolidayFileError, UnicodeDecodeError) as error:
        if isinstance(error, HolidayFileError):
            line = error.line
            params = dict(error.params)
            if params.get("uid") == "":
                params["uid"] = texts.plain(lang, "holiday_file.no_uid")
            problem = texts.plain(lang, error.key, **params)
        else:
            # The line the undecodable bytes are on (a BOM does not add a line).
            line = data.count(b"\n", 0, error.start) + 1
            problem = texts.plain(lang, "holiday_file.not_utf8")
        if line is not None:
            problem = texts.plain(lang, "holiday_file.at_line", line=line, problem=problem)
        print(
            texts.plain(lang, "holidays.file_error", file=str(path), error=problem),
            file=sys.stderr,
        )
        return 1
    await _migrate(settings)
    database = Database(settings.database_url)
    clock = SystemClock()
    try:
        # The periods are committed first; the exchanges of their regions are re-planned
        # after, in short transactions, so the bot's users are not kept waiting.
        async with database.write() as session:
            added, updated = await school_holidays.store_periods(session, periods)
        replanned = await school_holidays.replan_regions(
            database,
            {p.region for p in periods},
            load_programmes(),
            rules_for(settings),
            clock=clock,
        )
    finally:
        await database.dispose()
    print(
        texts.plain(
            lang,
            "holidays.done",
            added=texts.amount(lang, "holidays.periods", added),
            updated=updated,
            replanned=texts.amount(lang, "holidays.exchanges", replanned),
        )
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="wijkbot")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="start the bot (default; without a token: the sandbox)")
    commands.add_parser("sandbox", help="the bot on demo data behind a web chat, no Telegram")
    commands.add_parser("migrate", help="apply database migrations")
    importing = commands.add_parser("import", help="import exchanges from a CSV file")
    importing.add_argument("file", type=Path)
    importing.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid lines even if others have errors",
    )
    holidays = commands.add_parser("holidays", help="school holidays per region")
    holiday_commands = holidays.add_subparsers(dest="holidays_command", required=True)
    holiday_import = holiday_commands.add_parser(
        "import", help="load holiday periods from a CSV (region,name,start,end) or .ics file"
    )
    holiday_import.add_argument("file", type=Path)
    holiday_import.add_argument("--region", choices=REGIONS, help="the region an .ics file is for")
    exporting = commands.add_parser("export", help="every exchange as .xlsx (or .zip of CSVs)")
    exporting.add_argument("--out", type=Path, required=True, help="FILE.xlsx or FILE.zip")
    exporting.add_argument("--lang", choices=("nl", "en"), help="language of the headers")
    reporting = commands.add_parser("report", help="the season report as PNG charts")
    reporting.add_argument("--out", type=Path, required=True, help="the directory to write to")
    reporting.add_argument("--lang", choices=("nl", "en"), help="language of the charts")
    args = parser.parse_args(argv)
    lang = "nl"
    try:
        settings = get_settings()
        lang = settings.default_language
        _setup_logging(settings)
        if args.command == "migrate":
            asyncio.run(_migrate(settings))
            print(get_texts().plain(settings.default_language, "cli.migrated"))
            return 0
        if args.command == "import":
            return asyncio.run(_import(settings, args.file, args.skip_invalid))
        if args.command == "sandbox":
            return _sandbox(settings)
        if args.command == "holidays":
            return asyncio.run(_import_holidays(settings, args.file, args.region))
        if args.command in ("export", "report"):
            from bot.reports import cli  # matplotlib and openpyxl load only when asked for

            write = cli.write_export if args.command == "export" else cli.write_report
            return asyncio.run(write(settings, args.out, args.lang or lang, _migrate))
        return _run(settings)
    except (SettingsError, ProgrammeError) as error:
        print(str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C while waiting for the database (the running bot handles it itself).
        print(get_texts().plain(lang, "cli.stopped"), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
