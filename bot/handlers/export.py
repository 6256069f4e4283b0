"""/export and /rapport: a coordinator's data as a workbook (or CSV files), and the season report.

Both are read-only. The handler reads the rows in one short read transaction (a fixed number of
queries however many pairs), answers at once that the document is coming, and leaves the
making of the file to a worker process (bot/reports/background.py): a workbook or the charts
of a thousand pairs take seconds of CPU, which on the bot's event loop every other user's reply
would wait for. The document is sent when it is ready; if it cannot be made, the coordinator is
told. One document of each kind per chat at a time: asking again meanwhile is answered that it
is on its way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from telegram import Bot, Update
from telegram.ext import CommandHandler

from bot.context import AppContext, BotApplication, app_context
from bot.delivery import deliver
from bot.handlers.common import Context, reading, send
from bot.menus import aliases
from bot.reports import worker
from bot.reports.sheets import export_date
from bot.services import auth
from bot.services import export as export_service
from bot.services.export import Gathered
from bot.ui import replies as render
from bot.ui.replies import Reply

log = logging.getLogger(__name__)

# Words after the command: the format, and whether every pair is wanted (not only one's own).
CSV_WORDS = frozenset({"csv", "zip"})
XLSX_WORDS = frozenset({"xlsx", "excel"})
ALL_WORDS = frozenset({"alles", "all", "alle"})
# Telegram takes photos up to 10 MB; a larger chart goes as a file (none comes near).
PHOTO_LIMIT = 10_000_000

Kind = Literal["export", "report"]


def _options(args: Sequence[str], formats: frozenset[str]) -> tuple[bool, bool] | None:
    """(csv, everything) from the words after the command; None for a word it does not know."""
    words = {a.strip().lower() for a in args if a.strip()}
    if not words <= formats | ALL_WORDS or (words & CSV_WORDS and words & XLSX_WORDS):
        return None
    return bool(words & CSV_WORDS), bool(words & ALL_WORDS)


async def _gather(
    update: Update, context: Context, options: tuple[bool, bool] | None, usage: str
) -> tuple[str, Gathered | str]:
    """The user's language and the rows of their export, or the catalogue key of what to answer
    instead: a refusal for anyone but a coordinator, else `usage` when the words were not
    understood."""
    async with reading(update, context) as uow:
        app = uow.app
        try:
            if options is None:
                await export_service.check(uow.session, uow.user)
                return uow.lang, usage
            data = await export_service.read_for_coordinator(
                uow.session,
                uow.user,
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
    what = {
        "scope": app_context(context).texts.plain(
            lang, "export.scope_all" if everything else "export.scope_mine"
        ),
        "format": app_context(context).texts.plain(
            lang, "export.as_csv" if as_csv else "export.as_xlsx"
        ),
    }
    await _begin(
        update,
        context,
        lang,
        ("export", "csv" if as_csv else "xlsx", everything),
        what,
        partial(_send_export, data=data, as_csv=as_csv),
    )


async def report(update: Update, context: Context) -> None:
    """Send the season report: one PNG chart per topic, each with a short caption."""
    options = _options(context.args or [], frozenset())
    lang, data = await _gather(update, context, options, "report.usage")
    if isinstance(data, str):
        await send(update, context, lang, [Reply(data)])
        return
    assert options is not None
    everything = options[1]
    what = {
        "scope": app_context(context).texts.plain(
            lang, "export.scope_all" if everything else "export.scope_mine"
        )
    }
    await _begin(
        update,
        context,
        lang,
        ("report", "charts", everything),
        what,
        partial(_send_report, data=data),
    )


@dataclass(frozen=True)
class _Asked:
    """Who asked for a document, and what the background needs to answer them."""

    bot: Bot
    app: AppContext
    chat_id: int
    lang: str
    kind: Kind


Making = Callable[[_Asked], Awaitable[None]]


async def _begin(
    update: Update,
    context: Context,
    lang: str,
    document: tuple[Kind, str, bool],
    what: Mapping[str, object],
    making: Making,
) -> None:
    """Say the document is coming and make it in the background; or, when the same document
    (kind, format, all pairs or one's own) is under way for the chat already, say so. Another
    document asked for meanwhile is made too: nothing asked for is dropped."""
    chat = update.effective_chat
    assert chat is not None
    app = app_context(context)
    kind, variant, everything = document
    key = (chat.id, f"{kind}:{variant}:{'all' if everything else 'mine'}")
    if app.documents.busy(key):
        await send(update, context, lang, [Reply(f"{kind}.busy", what)])
        return
    await send(update, context, lang, [Reply(f"{kind}.making", what)])
    app.documents.start(key, _answered(_Asked(context.bot, app, chat.id, lang, kind), making))


async def _answered(asked: _Asked, making: Making) -> None:
    """Make and send the document; if that fails, or the bot stops first, say so."""
    try:
        await making(asked)
    except asyncio.CancelledError:
        await _tell(asked, f"{asked.kind}.interrupted")
        raise
    except Exception:
        log.exception("The %s for chat %s could not be made or sent", asked.kind, asked.chat_id)
        await _tell(asked, f"{asked.kind}.failed")


async def _tell(asked: _Asked, key: str) -> None:
    try:
        await deliver(
            asked.bot, asked.chat_id, render.text(asked.app.texts, asked.lang, Reply(key))
        )
    except Exception:
        log.exception("Could not tell chat %s that its document is not coming", asked.chat_id)


async def _send_export(asked: _Asked, *, data: Gathered, as_csv: bool) -> None:
    app, lang = asked.app, asked.lang
    tz = app.settings.tz
    build = worker.csv_file if as_csv else worker.workbook_file
    content = await app.documents.run(build, data, app.programmes, app.texts, lang, tz)
    day = export_date(data, tz)
    params = {
        "exchanges": app.texts.amount(lang, "export.exchanges", len(data.exchanges)),
        "date": day,
        "format": app.texts.plain(lang, "export.format_csv" if as_csv else "export.format_xlsx"),
    }
    key = "export.done_all" if data.everything else "export.done_mine"
    await deliver(
        asked.bot,
        asked.chat_id,
        render.text(app.texts, lang, Reply(key, params)),
        document=content,
        filename=f"wijkbot-export-{day.isoformat()}.{'zip' if as_csv else 'xlsx'}",
    )


async def _send_report(asked: _Asked, *, data: Gathered) -> None:
    app = asked.app
    made = await app.documents.run(
        worker.season_charts, data, app.programmes, app.texts, asked.lang
    )
    for name, png, caption in made:
        if len(png) <= PHOTO_LIMIT:
            await deliver(asked.bot, asked.chat_id, caption, photo=png)
        else:
            await deliver(asked.bot, asked.chat_id, caption, document=png, filename=name)


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler(aliases("export"), export))
    app.add_handler(CommandHandler(aliases("rapport"), report))
