"""What the bot does once when it starts: bring every active exchange's plan up to date.

Templates, reminder rules and settings (quiet hours, lead times) may have changed since the
bot last ran; the outbox must follow them, not what an older version planned. Re-planning
is idempotent: rows that still fit stay as they are, sent rows are never touched.
"""

from __future__ import annotations

import logging

from bot.context import AppContext
from bot.services.exchanges import active_exchange_ids
from bot.services.outbox import replan_exchange

log = logging.getLogger(__name__)


async def replan_all(app: AppContext) -> int:
    """Re-plan every active exchange in one transaction; returns how many were planned."""
    now = app.clock.now()
    changed = 0
    async with app.db.write() as session:
        ids = await active_exchange_ids(session)
        for exchange_id in ids:
            result = await replan_exchange(session, exchange_id, app.programmes, app.rules, now=now)
            changed += bool(result.created or result.updated or result.cancelled)
    log.info("Re-planned %d active exchange(s) at start-up, %d changed", len(ids), changed)
    return len(ids)
