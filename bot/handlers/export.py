"""/export and /rapport: a coordinator's data as a workbook (or CSV files), and the season report.

Both are read-only: the data is gathered in one read transaction (a fixed number of queries
however many pairs), the files are made outside it in a worker thread (matplotlib and openpyxl
take a moment and must not hold up other chats), and only then is Telegram called.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import BotApplication, app_context
from bot.delivery import deliver
from bot.handlers.common import Context, reading, send
from bot.menus import aliases
from bot.reports.sheets import export_date
from bot.services import auth
from bot.services import export as export_service
from bot.services.export import Export
from bot.ui.replies import Attachment, Reply

# Words after the command: the format, and whether every pair is wanted (not only one's own).
CSV_WORDS = frozenset({"csv", "zip"})
XLSX_WORDS = frozenset({"xlsx", "excel"})
ALL_WORDS = frozenset({"alles", "all", "alle"})
# Telegram takes photos up to 10 MB; a larger chart goes as a file (none comes near).
PHOTO_LIMIT = 10_000_000


def _options(args: Sequence[str], formats: frozenset[str]) -> tuple[bool, bool] | None:
    """(csv, everything) from the words after the command; None for a word it does not know."""
    words = {a.strip().lower() for a in args if a.strip()}
    if not words <= formats | ALL_WORDS or (words & CSV_WORDS and words & XLSX_WORDS):
        return None
    return bool(words & CSV_WORDS), bool(words & ALL_WORDS)


async def _gather(
    update: Update, context: Context, options: tuple[bool, bool] | None, usage: str
) -> tuple[str, Export | str]:
    """The user's language and their export, or the catalogue key of what to answer instead:
    a refusal for anyone but a coordinator, else `usage` when the words were not understood."""
    async with reading(update, context) as uow:
        app = uow.app
        try:
            if options is None:
                await export_service.check(uow.session, uow.user)
                return uow.lang, usage
            data = await export_service.for_coordinator(
                uow.session,
                uow.user,
                app.programmes,
                now=app.clock.now(),
                today=app.today(),
                retention_days=app.settings.retention_days,
                everything=options[1],
            )
        except auth.NotAllowed as refused:
            return uow.lang, refused.key
        return uow.lang, data


async def export(update: Update, context: Context) -> None:
    """Send every exchange the coordinator runs as an .xlsx (`csv`: a zip of CSV files)."""
    options = _options(context.args or [], CSV_WORDS | XLSX_WORDS)
    lang, data = await _gather(update, context, options, "export.usage")
    if isinstance(data, str):
        await send(update, context, lang, [Reply(data)])
        return
    assert options is not None
    as_csv, everything = options
    if data.empty:
        key = "export.nothing" if everything else "export.nothing_mine"
        await send(update, context, lang, [Reply(key)])
        return
    app = app_context(context)
    tz = app.settings.tz
    # The file writers (openpyxl, matplotlib) are loaded when a file is first asked for:
    # together some fifty megabytes that a bot nobody asks for a report never needs.
    from bot.reports import csvzip, workbook

    build = csvzip.build if as_csv else workbook.build
    content = await asyncio.to_thread(build, data, app.texts, lang, tz)
    day = export_date(data, tz)
    filename = f"wijkbot-export-{day.isoformat()}.{'zip' if as_csv else 'xlsx'}"
    params = {
        "exchanges": app.texts.amount(lang, "export.exchanges", len(data.exchanges)),
        "date": day,
        "format": app.texts.plain(lang, "export.format_csv" if as_csv else "export.format_xlsx"),
    }
    key = "export.done_all" if everything else "export.done_mine"
    await send(
        update, context, lang, [Reply(key, params, attachment=Attachment(filename, content))]
    )


async def report(update: Update, context: Context) -> None:
    """Send the season report: one PNG chart per topic, each with a short caption."""
    options = _options(context.args or [], frozenset())
    lang, data = await _gather(update, context, options, "report.usage")
    if isinstance(data, str):
        await send(update, context, lang, [Reply(data)])
        return
    app = app_context(context)
    chat = update.effective_chat
    assert chat is not None
    from bot.reports import charts  # see above: loaded when first needed

    made = await asyncio.to_thread(charts.season_report, data, app.texts, lang)
    for chart in made:
        if len(chart.png) <= PHOTO_LIMIT:
            await deliver(context.bot, chat.id, chart.caption, photo=chart.png)
        else:
            await deliver(
                context.bot, chat.id, chart.caption, document=chart.png, filename=chart.name
            )


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("export"), export))
    app.add_handler(CommandHandler(aliases("rapport"), report))
