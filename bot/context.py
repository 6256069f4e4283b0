"""The application's shared resources, created once and reached from every handler."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias
from weakref import WeakValueDictionary

from telegram.ext import Application, ContextTypes, ExtBot, JobQueue

from bot.clock import Clock
from bot.config import Settings
from bot.dialogs.store import Lifetimes
from bot.domain.outbox import Rules
from bot.domain.programme import Programme
from bot.reports.background import Documents
from bot.services import incidents
from bot.texts import Texts
from db.session import Database

KEY = "wijkbot"

# The bot's Application as `bot.app` builds it: an ExtBot (its type argument is the rate
# limiter's), PTB's default data types and a job queue. The context type is Any because
# PTB types `context.application` with an unbound one, and handlers pass that on.
BotApplication: TypeAlias = Application[
    ExtBot[Any],
    Any,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    programmes: dict[str, Programme]
    texts: Texts
    bot_username: str = ""
    last_error_alert: datetime | None = field(default=None)
    # One dispatch at a time per application; across processes the row claims keep sends
    # apart.
    dispatch_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # One refresh of an incident alert's copies at a time, per incident id.
    alert_copy_locks: WeakValueDictionary[int, asyncio.Lock] = field(
        default_factory=WeakValueDictionary
    )
    # The re-planning of every exchange that runs in the background after start-up
    # (bot/jobs/startup.py).
    startup_replan: asyncio.Task[None] | None = field(default=None)
    # Workbooks and charts being made in a worker process, and that process
    # (bot/reports/background.py).
    documents: Documents = field(default_factory=Documents)
    # The process is this bot and nothing else (`python -m bot run`): once started, what is
    # alive stays alive, and the garbage collector may stop looking at it (startup.py).
    owns_process: bool = False

    def today(self) -> date:
        return self.clock.now().astimezone(self.settings.tz).date()

    @property
    def ack_window(self) -> timedelta:
        """How long an urgent incident may wait for someone to acknowledge it."""
        return timedelta(minutes=self.settings.incident_ack_minutes)

    @property
    def rules(self) -> Rules:
        return rules_for(self.settings)

    @property
    def dialog_ttls(self) -> Lifetimes:
        return dialog_ttls_for(self.settings)


def rules_for(settings: Settings) -> Rules:
    """When pushes may go out, from the settings."""
    return Rules(
        tz=settings.tz,
        nag_lead_days=settings.nag_lead_days,
        checkin_lead=timedelta(minutes=settings.checkin_alert_minutes),
    )


def dialog_ttls_for(settings: Settings) -> Lifetimes:
    """The conversations that lapse sooner than a day, from the settings."""
    return {
        incidents.REPORT_DIALOG: timedelta(minutes=settings.incident_timeout_minutes),
        incidents.NOTE_DIALOG: incidents.NOTE_DIALOG_TTL,
    }


def app_context(context: ContextTypes.DEFAULT_TYPE) -> AppContext:
    found: AppContext = context.application.bot_data[KEY]
    return found
