"""The dispatcher: sends due outbox rows. Claim → commit → send → mark."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.context import KEY, AppContext, BotApplication
from bot.delivery import deliver, outcome_unknown
from bot.services import outbox, outbox_content
from bot.services.outbox_content import Skip
from bot.ui import replies as rendering
from bot.ui.outbox import Rendered, render

log = logging.getLogger(__name__)
JOB_NAME = "dispatcher"
# Rows settled without sending (too late, waiting for the morning) cost no Telegram call, so
# a run looks further; this bounds the database work of one run after a long downtime.
MAX_BATCHES_PER_RUN = 20


async def run_dispatch(app: AppContext, bot: Bot) -> int:
    """Send up to one batch of due rows; returns how many rows were looked at.

    At most `DISPATCH_BATCH_SIZE` messages go out per run, so late rows after downtime go
    out at the normal rate.
    """
    async with app.dispatch_lock:
        limit = app.settings.dispatch_batch_size
        examined = sent = 0
        for _ in range(MAX_BATCHES_PER_RUN):
            async with app.db.write() as session:
                claims = await outbox.claim_due(
                    session, now=app.clock.now(), limit=limit - sent, rules=app.rules
                )
            examined += claims.examined
            for row in claims.to_send:
                await _deliver(app, bot, row)
            sent += len(claims.to_send)
            if claims.examined == 0 or sent >= limit:
                break
        return examined


async def _deliver(app: AppContext, bot: Bot, row: outbox.Claimed) -> None:
    """Load what the row's message needs, write it, and send it (or settle why not)."""
    try:
        async with app.db.read() as session:
            content = await outbox_content.load(session, row, app.programmes)
        result = (
            content
            if isinstance(content, Skip)
            else render(
                app.texts,
                row.language,
                content,
                tz=app.settings.tz,
                ack_minutes=app.settings.incident_ack_minutes,
            )
        )
    except Exception as error:
        log.exception("Could not write outbox row %s (%s)", row.id, row.kind)
        async with app.db.write() as session:
            await outbox.mark_failed(
                session, row.id, f"{outbox.RENDER_ERROR}{error!r}", now=app.clock.now()
            )
        return
    if isinstance(result, Skip):
        async with app.db.write() as session:
            await outbox.mark_skipped(session, row.id, result.reason, now=app.clock.now())
        return
    await _send(app, bot, row, result)


async def _send(app: AppContext, bot: Bot, row: outbox.Claimed, message: Rendered) -> None:
    lang = row.language
    try:
        markup = rendering.keyboard(app.texts, lang, message.buttons)
        # Whole, never cut: a caption that does not fit becomes the photo and then the text.
        sent = await deliver(
            bot,
            row.user_id,
            message.text,
            reply_markup=markup,
            photo=message.photo,
            file_caption=message.file_caption,
        )
    except Forbidden:
        log.info("User %s has blocked the bot; their pushes stop", row.user_id)
        async with app.db.write() as session:
            await outbox.mark_user_blocked(session, row.user_id, row.id, now=app.clock.now())
    except RetryAfter as error:
        wait = error.retry_after
        delay = wait if isinstance(wait, timedelta) else timedelta(seconds=float(wait))
        async with app.db.write() as session:
            await outbox.mark_retry(
                session,
                row.id,
                f"flood control: {delay}",
                now=app.clock.now(),
                max_attempts=app.settings.send_max_attempts,
                retry_after=delay,
            )
    except BadRequest as error:
        # Telegram refuses this message as it is; sending it again would fail the same way.
        log.error("Telegram refused outbox row %s: %s", row.id, error.message)
        async with app.db.write() as session:
            await outbox.mark_failed(session, row.id, error.message, now=app.clock.now())
    except TelegramError as error:
        if outcome_unknown(error):
            # Telegram may have delivered it (a slow answer, a dropped connection): one more
            # try at most, and never "failed", so a slow minute cannot send it five times.
            log.warning("Outbox row %s: outcome unknown (%s)", row.id, type(error).__name__)
            async with app.db.write() as session:
                await outbox.mark_uncertain(
                    session,
                    row.id,
                    str(error),
                    now=app.clock.now(),
                    max_attempts=app.settings.send_max_attempts,
                )
            return
        log.warning("Sending outbox row %s failed, will retry: %s", row.id, error)
        async with app.db.write() as session:
            status = await outbox.mark_retry(
                session,
                row.id,
                str(error),
                now=app.clock.now(),
                max_attempts=app.settings.send_max_attempts,
            )
        if status == "failed":
            log.error("Outbox row %s failed for good after retries", row.id)
    else:
        async with app.db.write() as session:
            await outbox.mark_sent(
                session,
                row.id,
                now=app.clock.now(),
                message_id=sent.message_id,
                as_caption=sent.as_caption,
            )


async def dispatch_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback: send what is due."""
    await run_dispatch(context.application.bot_data[KEY], context.bot)


def schedule(application: BotApplication, interval: float) -> None:
    """Run the dispatcher every `interval` seconds; a late tick is still run, never skipped."""
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        dispatch_job,
        interval=interval,
        first=1,
        name=JOB_NAME,
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )


def kick(application: BotApplication) -> None:
    """Dispatch now (after a change queued something), instead of at the next tick."""
    if application.job_queue is not None:
        application.job_queue.run_once(dispatch_job, 0, name=f"{JOB_NAME}-now")
