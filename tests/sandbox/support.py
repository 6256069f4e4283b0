"""A started sandbox on a temporary SQLite file, for the sandbox's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.sandbox.runtime import Persona, Sandbox
from fake_telegram import BotMessage


def sandbox_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a sandbox on `tmp_path/sandbox.db`, whatever the environment says."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'sandbox.db'}"
    values: dict[str, Any] = {
        # The bot's own database setting is not the sandbox's, but `make test` empties it.
        "database_url": url,
        "sandbox_database_url": url,
        "sandbox_port": 0,
        "default_language": "nl",
        "timezone": "Europe/Amsterdam",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def running_sandbox(tmp_path: Path, **setting_overrides: Any) -> AsyncIterator[Sandbox]:
    """A started Sandbox (demo data built on first use of the file), stopped afterwards."""
    sandbox = Sandbox(sandbox_settings(tmp_path, **setting_overrides))
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


def persona(sandbox: Sandbox, name: str) -> Persona:
    """The persona with this name ("Juf Anna")."""
    found = [p for p in sandbox.personas() if p.name == name]
    assert len(found) == 1, [p.name for p in sandbox.personas()]
    return found[0]


async def said_to(sandbox: Sandbox, who: Persona, text: str) -> list[BotMessage]:
    """`who` types `text`; what the bot sent to them while handling it."""
    mark = sandbox.tg.last_message_id(who.id)
    await sandbox.say(who.id, text)
    return sandbox.tg.messages_since(who.id, mark)
