"""Deleting free texts and photos that may identify children once they are no longer needed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import time, timedelta

from sqlalchemy import delete, func, select, update
from telegram.ext import ContextTypes

from bot.context import KEY, AppContext, BotApplication
from bot.dialogs.store import DIALOG_TTL
from bot.domain.timeline import exchange_ended
from db.models import CheckIn, Dialog, ExchangePhase, Incident, IncidentAction, OutboxMessage
from db.session import rowcount

log = logging.getLogger(__name__)
JOB_NAME = "retention"


@dataclass(frozen=True)
class Purged:
    incidents: int
    checkins: int


async def purge(app: AppContext) -> Purged:
    """Blank incident texts, photos and evaluation notes of exchanges that ended long ago.

    Counts, categories, severities and times stay, for reports.
    """
    now = app.clock.now()
    today = app.today()
    async with app.db.write() as session:
        ends = await session.execute(
            select(ExchangePhase.exchange_id, func.max(ExchangePhase.ends_on)).group_by(
                ExchangePhase.exchange_id
            )
        )
        done = [
            exchange_id
            for exchange_id, last_day in ends
            if exchange_ended(last_day, today, app.settings.retention_days)
        ]
        if not done:
            return Purged(0, 0)
        incident_ids = list(
            await session.scalars(
                select(Incident.id).where(
                    Incident.exchange_id.in_(done), Incident.purged_at.is_(None)
                )
            )
        )
        if incident_ids:
            await session.execute(
                update(Incident)
                .where(Incident.id.in_(incident_ids))
                .values(description=None, photo_file_id=None, purged_at=now)
            )
            await session.execute(
                update(IncidentAction)
                .where(IncidentAction.incident_id.in_(incident_ids))
                .values(note=None)
            )
        # Notes travelled in the payload of their update messages; those go too.
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.exchange_id.in_(done), OutboxMessage.kind == "incident_update")
            .values(payload={"purged": True})
        )
        checkins = await session.execute(
            update(CheckIn)
            .where(
                CheckIn.exchange_id.in_(done),
                (CheckIn.tension_note.is_not(None)) | (CheckIn.remarks.is_not(None)),
            )
            .values(tension_note=None, remarks=None)
        )
        # Half-finished conversations can hold a typed description; none lives past its day.
        await session.execute(delete(Dialog).where(Dialog.updated_at < now - DIALOG_TTL))
    result = Purged(len(incident_ids), rowcount(checkins))
    if result.incidents or result.checkins:
        log.info("Retention: purged %s incidents and %s evaluations", *result.__dict__.values())
    return result


async def retention_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback: the daily purge."""
    await purge(context.application.bot_data[KEY])


def schedule(application: BotApplication, app: AppContext) -> None:
    """Every night at 03:00 local time."""
    assert application.job_queue is not None
    application.job_queue.run_daily(
        retention_job,
        time(3, 0, tzinfo=app.settings.tz),
        name=JOB_NAME,
        job_kwargs={"misfire_grace_time": int(timedelta(hours=6).total_seconds())},
    )
