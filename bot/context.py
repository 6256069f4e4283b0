"""The application's shared resources, created once and reached from every handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Settings
from bot.domain.programme import Programme
from bot.texts import Texts
from db.session import Database

if TYPE_CHECKING:
    from telegram.ext import CallbackContext

KEY = "wijkbot"


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    programmes: dict[str, Programme]
    texts: Texts
    bot_username: str = ""
    last_error_alert: datetime | None = field(default=None)

    def today(self) -> object:
        return self.clock.now().astimezone(self.settings.tz).date()


def app_context(context: CallbackContext) -> AppContext:  # type: ignore[type-arg]
    return context.application.bot_data[KEY]  # type: ignore[no-any-return]
