"""School holidays per region, loaded from a file by the holidays command."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.holidays import HolidayPeriod
from bot.domain.outbox import Rules
from bot.domain.programme import Programme
from bot.services.exchanges import active_exchange_ids
from bot.services.outbox import replan_exchange
from db.models import SchoolHoliday


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
    session: AsyncSession,
    regions: set[str],
    programmes: Mapping[str, Programme],
    rules: Rules,
    *,
    now: datetime,
) -> int:
    """Re-plan every active exchange in these regions; returns how many."""
    count = 0
    for region in sorted(regions):
        for exchange_id in await active_exchange_ids(session, region):
            await replan_exchange(session, exchange_id, programmes, rules, now=now)
            count += 1
    return count
