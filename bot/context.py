"""The application's shared resources, created once and reached from every handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias

from telegram.ext import Application, ContextTypes, ExtBot, JobQueue

from bot.clock import Clock
from bot.config import Settings
from bot.domain.programme import Programme
from bot.domain.reminders import Rules
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

    def today(self) -> date:
        return self.clock.now().astimezone(self.settings.tz).date()

    @property
    def ack_window(self) -> timedelta:
        """How long an urgent incident may wait for someone to acknowledge it."""
        return timedelta(minutes=self.settings.incident_ack_minutes)

    @property
    def rules(self) -> Rules:
        return rules_for(self.settings)


def rules_for(settings: Settings) -> Rules:
    """When pushes may go out, from the settings."""
    return Rules(
        tz=settings.tz,
        nag_lead_days=settings.nag_lead_days,
        checkin_lead=timedelta(minutes=settings.checkin_alert_minutes),
    )


def app_context(context: ContextTypes.DEFAULT_TYPE) -> AppContext:
    found: AppContext = context.application.bot_data[KEY]
    return found
