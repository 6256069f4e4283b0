"""Every migration upgrades, downgrades and upgrades again; head matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from db import migrate
from db.models import Base
from db.session import Database


async def test_upgrade_downgrade_upgrade_every_revision(database: Database) -> None:
    engine = database.engine
    revisions = migrate.revisions()
    assert revisions, "no migrations found"
    await migrate.downgrade(engine, "base")
    for revision in revisions:
        await migrate.upgrade(engine, revision)
        previous = revisions.index(revision) - 1
        await migrate.downgrade(engine, revisions[previous] if previous >= 0 else "base")
        await migrate.upgrade(engine, revision)

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
