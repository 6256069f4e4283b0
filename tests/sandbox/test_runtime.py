"""Starting, stopping and resetting the sandbox, and what it refuses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.sandbox.runtime import Sandbox, SandboxInputError, SandboxRefused
from db import migrate
from db.models import Exchange, SandboxMarker, User
from db.session import Database
from tests.fixtures import said_any
from tests.sandbox.support import persona, running_sandbox, said_to, sandbox_settings


async def count(sandbox: Sandbox, model: type[object]) -> int:
    assert sandbox.context is not None
    async with sandbox.context.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_second_start_keeps_the_data(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        newcomer = await sandbox.add_persona("Gert")
        await sandbox.say(newcomer.id, "/start")
        first = [(p.id, p.name, p.role) for p in sandbox.personas()]
    async with running_sandbox(tmp_path) as again:
        assert [(p.id, p.name, p.role) for p in again.personas()] == first
        assert await count(again, Exchange) == 2
        assert await count(again, SandboxMarker) == 1
        # The chats start empty, the bot knows everyone still.
        assert again.tg.messages(persona(again, "Juf Anna").id) == []
        replies = await said_to(again, persona(again, "Juf Anna"), "/start")
        assert any(said_any("start.member").search(m.text or "") for m in replies)
        assert (await again.add_persona("Hanna")).id == newcomer.id + 1


async def test_a_database_with_real_data_is_refused_and_left_alone(tmp_path: Path) -> None:
    settings = sandbox_settings(tmp_path)
    database = Database(settings.sandbox_database_url)
    now = datetime.now(UTC)
    try:
        await migrate.upgrade(database.engine)
        async with database.write() as session:
            session.add(
                User(
                    id=4242,
                    display_name="Echte Mens",
                    language="nl",
                    created_at=now,
                    last_seen_at=now,
                )
            )
    finally:
        await database.dispose()
    sandbox = Sandbox(settings)
    with pytest.raises(SandboxRefused) as refused:
        await sandbox.start()
    assert refused.value.key == "sandbox.cli.real_data"
    assert refused.value.params == {"database": str(tmp_path / "sandbox.db")}
    database = Database(settings.sandbox_database_url)
    try:
        async with database.read() as session:
            users = list(await session.scalars(select(User.id)))
            markers = await session.scalar(select(func.count()).select_from(SandboxMarker))
            pairs = await session.scalar(select(func.count()).select_from(Exchange))
    finally:
        await database.dispose()
    assert (users, markers, pairs) == ([4242], 0, 0)


async def test_reset_builds_the_demo_again(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        anna = persona(sandbox, "Juf Anna")
        demo_chat = [m.text for m in sandbox.tg.messages(anna.id)]
        await sandbox.say(anna.id, "/help")
        await sandbox.add_persona("Gert")
        await sandbox.jump("day")
        version = sandbox.version
        await sandbox.reset()
        assert sandbox.version > version
        assert sandbox.clock.is_real
        assert [p.name for p in sandbox.personas()] == [
            "Sanne",
            "Juf Anna",
            "Meester Bram",
            "Juf Carmen",
            "Meester Driss",
            "Eva",
            "Fatima",
        ]
        assert [m.text for m in sandbox.tg.messages(anna.id)] == demo_chat
        assert sandbox.tg.user_messages(anna.id)[-1]["text"].startswith("/start ")
        assert await count(sandbox, Exchange) == 2
        assert await count(sandbox, SandboxMarker) == 1


async def test_bad_input_gets_the_catalogue_errors(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        for name in ("", "   ", "x" * 41):
            with pytest.raises(SandboxInputError) as refused:
                await sandbox.add_persona(name)
            assert refused.value.key == "sandbox.errors.name"
        assert (await sandbox.add_persona("x" * 40)).name == "x" * 40
        with pytest.raises(SandboxInputError) as refused:
            await sandbox.say(1234, "/start")
        assert refused.value.key == "sandbox.errors.unknown_persona"
        with pytest.raises(SandboxInputError) as refused:
            await sandbox.say(persona(sandbox, "Eva").id, "  ")
        assert refused.value.key == "sandbox.errors.empty"
        with pytest.raises(SandboxInputError) as refused:
            await sandbox.press(1234, 1, "x")
        assert refused.value.key == "sandbox.errors.unknown_persona"


async def test_waiting_for_a_change(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        version = sandbox.version
        assert await sandbox.wait_version(version, 0.05) == version
        waiting = asyncio.create_task(sandbox.wait_version(version, 10))
        await sandbox.say(persona(sandbox, "Sanne").id, "/help")
        assert await waiting > version
        version = sandbox.version
        waiting = asyncio.create_task(sandbox.wait_version(version, 10))
        await sandbox.jump("now")
        assert await waiting > version
