"""School holidays per region, loaded from a file by the holidays command."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.domain.holidays import HolidayPeriod
from bot.domain.outbox import Rules
from bot.domain.programme import Programme
from bot.services.exchanges import active_exchange_ids
from bot.services.outbox import replan_many
from db.models import SchoolHoliday
from db.session import Database


async def store_periods(session: AsyncSession, periods: Sequence[HolidayPeriod]) -> tuple[int, int]:
    """Add new periods and correct the end of known ones; returns (added, updated)."""
    added = updated = 0
    for period in periods:
        existing = await session.scalar(
            select(SchoolHoliday).where(
                SchoolHoliday.region == period.region,
                SchoolHoliday.starts_on == period.starts_on,
                SchoolHoliday.name == period.name[:100],
            )
        )
        if existing is None:
            session.add(
                SchoolHoliday(
                    region=period.region,
                    name=period.name[:100],
                    starts_on=period.starts_on,
                    ends_on=period.ends_on,
                )
            )
            added += 1
        elif existing.ends_on != period.ends_on:
            existing.ends_on = period.ends_on
            updated += 1
    await session.flush()
    return added, updated


async def replan_regions(
    database: Database,
    regions: set[str],
    programmes: Mapping[str, Programme],
    rules: Rules,
    *,
    clock: Clock,
) -> int:
    """Re-plan every active exchange in these regions; returns how many.

    The holiday periods must be committed first: the exchanges are re-planned a chunk per
    short write transaction (outbox.replan_many), so people keep working meanwhile.
    """
    async with database.read() as session:
        ids = [
            exchange_id
            for region in sorted(regions)
            for exchange_id in await active_exchange_ids(session, region)
        ]
    done = await replan_many(database, ids, programmes, rules, clock=clock)
    return done.exchanges
