"""Building the python-telegram-bot Application with every handler in a deliberate order."""

from __future__ import annotations

import logging
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, Defaults, ExtBot

from bot.concurrency import PerChatUpdateProcessor
from bot.context import KEY, AppContext, BotApplication
from bot.extbot import WijkBot
from bot.handlers import broadcasts as coordinator_broadcasts
from bot.handlers import (
    calendar,
    checkins,
    checklists,
    classes,
    coordinators,
    date_agreement,
    dialogs,
    edit_exchange,
    edits,
    errors,
    exchanges,
    fallback,
    groups,
    headcounts,
    incidents,
    invites,
    new_exchange,
    outbox,
    schools,
    start,
    today,
)
from bot.handlers import export as coordinator_export
from bot.handlers import manage as coordinator_manage
from bot.handlers import overview as coordinator_overview
from bot.handlers import settings as coordinator_settings
from bot.jobs import outbox as outbox_job
from bot.jobs import retention, startup
from bot.menus import set_default_menus
from bot.ratelimit import PacedRateLimiter
from bot.request import AiohttpRequest

log = logging.getLogger(__name__)

TELEGRAM_API_URL = "https://api.telegram.org"


def build_application(app_context: AppContext, token: str) -> BotApplication:
    """The bot, wired to the shared resources in `app_context`."""
    settings = app_context.settings
    # Telegram itself unless TELEGRAM_API_URL says otherwise (a local Bot API server, the fake).
    base = (settings.telegram_api_url or TELEGRAM_API_URL).rstrip("/")
    # Typed as PTB's own: handlers see `context.bot` as an ExtBot (bot/context.py).
    wijkbot: ExtBot[Any] = WijkBot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        defaults=Defaults(
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            tzinfo=settings.tz,
        ),
        # Replies and pushes share one pacer at Telegram's limits; replies go first.
        rate_limiter=PacedRateLimiter(lambda: outbox_job.pacer_for(app_context)),
        # Sends wait long enough for a slow Telegram: a read timeout means "maybe delivered",
        # not "failed". getUpdates keeps its own request (one connection), whose long-poll
        # timeout PTB adds. Both on aiohttp (bot/request.py).
        request=AiohttpRequest(
            connect_timeout=settings.send_connect_timeout_seconds,
            read_timeout=settings.send_read_timeout_seconds,
            write_timeout=settings.send_write_timeout_seconds,
            media_write_timeout=settings.send_write_timeout_seconds,
        ),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )
    builder = (
        ApplicationBuilder()
        .bot(wijkbot)
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    application = builder.build()
    application.bot_data[KEY] = app_context

    register_handlers(application)
    outbox_job.schedule(application, settings.dispatch_interval_seconds)
    retention.schedule(application, app_context)
    return application


# Group -1 first: an edited message is answered there and goes no further, so no command or
# conversation below ever takes an edit for new input. Then one handler group: PTB runs the
# first handler that matches, so the order matters. Feature handlers match only their own
# commands and buttons; the fallbacks come last and see only what none of them took.
HANDLER_MODULES = (
    edits,
    groups,  # group -1 too: in a Telegram group only /groep is answered
    start,
    dialogs,
    new_exchange,
    edit_exchange,
    exchanges,
    invites,
    checklists,
    date_agreement,
    today,
    calendar,
    outbox,
    coordinator_broadcasts,
    coordinator_overview,
    coordinator_manage,
    checkins,
    headcounts,
    classes,
    schools,
    incidents,
    coordinators,
    coordinator_settings,
    coordinator_export,
    fallback,
    errors,
)


def register_handlers(application: BotApplication) -> None:
    """Every handler of the bot, in the order above."""
    for module in HANDLER_MODULES:
        module.register(application)


async def _post_init(application: BotApplication) -> None:
    app_context: AppContext = application.bot_data[KEY]
    me = await application.bot.get_me()
    app_context.bot_username = me.username or ""
    # Rights from COORDINATOR_IDS follow the setting at every start.
    await coordinators.sync_at_start(application)
    # Newer templates or rules take effect for every running exchange (after the coordinator
    # sync: coordinators receive some of the planned pushes). In the background, in short
    # transactions: the bot answers people meanwhile.
    startup.start(app_context)
    await set_default_menus(
        application.bot, app_context.texts, app_context.settings.default_language
    )
    log.info("Bot @%s ready", app_context.bot_username)


async def _post_stop(application: BotApplication) -> None:
    # A start-up re-plan still running stops with the bot (run_polling; see stop_beside).
    await startup.stop(application.bot_data[KEY])
    # Documents under way are sent if they are ready soon, else their users are told.
    await application.bot_data[KEY].documents.close()


# The kinds of update the bot has handlers for: messages (commands, answers, live locations,
# which arrive as edits), edits, button taps and the bot's own membership of a group. Telegram
# is asked for these on every poll; asking for every kind had it send, and the bot parse,
# updates no handler reads.
UPDATE_TYPES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
]


async def start_beside(
    application: BotApplication, *, jobs: bool = True, wait_for_startup: bool = True
) -> None:
    """Start the bot as `run_polling` does, but beside other work on a running event loop
    (the sandbox's web chat, the tests): post_init, the job queue (paused unless `jobs`),
    and long polling that keeps what people sent while the bot was down. With
    `wait_for_startup`, return once the start-up re-plan is over too (polling goes on
    meanwhile), so whoever started the bot sees every exchange planned."""
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.start()
    if not jobs:
        assert application.job_queue is not None
        application.job_queue.scheduler.pause()
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0,
        timeout=1,
        allowed_updates=UPDATE_TYPES,
        drop_pending_updates=False,
    )
    if wait_for_startup:
        await startup.finished(application.bot_data[KEY])


async def stop_beside(application: BotApplication) -> None:
    """Stop what `start_beside` started, in the reverse order."""
    assert application.updater is not None
    if application.updater.running:
        await application.updater.stop()
    await startup.stop(application.bot_data[KEY])
    if application.running:
        await application.stop()
    await application.bot_data[KEY].documents.close()
    await application.shutdown()
