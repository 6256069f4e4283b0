"""Apply and inspect Alembic migrations from code."""

from __future__ import annotations

import contextlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def revisions(url: str = "sqlite+aiosqlite://") -> list[str]:
    """Every revision id from base to head, in order."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def _with_connection(engine: AsyncEngine, url: str, action: str, target: str) -> None:
    config = alembic_config(url)

    def run(connection: object) -> None:
        config.attributes["connection"] = connection
        getattr(command, action)(config, target)

    async with engine.connect() as connection:
        await connection.run_sync(run)
        await connection.commit()


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    """Upgrade the database behind `engine` to `target`."""
    await _with_connection(engine, str(engine.url.render_as_string(False)), "upgrade", target)


async def downgrade(engine: AsyncEngine, target: str) -> None:
    """Downgrade the database behind `engine` to `target`."""
    await _with_connection(engine, str(engine.url.render_as_string(False)), "downgrade", target)


async def create_postgres_database(admin_url: str, name: str) -> None:
    """Create the PostgreSQL database `name` on the server of `admin_url`, unless it exists.

    For runs that want a database of their own beside a given one (test workers, the bench).
    """
    import asyncpg  # type: ignore[import-untyped]  # only with the postgres extra

    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another run may create it meanwhile.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
