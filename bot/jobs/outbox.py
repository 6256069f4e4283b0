"""The dispatcher: sends due outbox rows. Claim → commit → send → mark."""

from __future__ import annotations

import logging
import weakref
from datetime import timedelta
from typing import Any, cast

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.context import KEY, AppContext, BotApplication
from bot.delivery import deliver, outcome_unknown
from bot.ratelimit import TELEGRAM, Limits, Pacer
from bot.services import broadcasts, outbox, outbox_content
from bot.services.outbox_content import Skip
from bot.ui import replies as rendering
from bot.ui.outbox import Rendered, render

log = logging.getLogger(__name__)
JOB_NAME = "dispatcher"
# Rows claimed at a time: about a second of sending at the bulk rate, so a claimed row waits
# seconds (never its lease) and an alarm queued meanwhile goes ahead of the next batch.
CLAIM_SIZE = 25
# Batches in a row that sent nothing (rows settled as too late, or moved to the morning) cost
# no Telegram call; this bounds the database work of one run after a long downtime.
MAX_IDLE_BATCHES = 20
# One pacer per running bot (Telegram's limits are per bot), kept beside its AppContext.
_PACERS: dict[int, Pacer] = {}


def use_limits(app: AppContext, limits: Limits) -> Pacer:
    """Pace this bot's dispatcher by `limits`: Telegram's (the default), or none at all for a
    test world whose clock plays weeks in seconds of real time."""
    key = id(app)
    if key not in _PACERS:
        weakref.finalize(app, _PACERS.pop, key, None)
    _PACERS[key] = Pacer(limits)
    return _PACERS[key]


def pacer_for(app: AppContext) -> Pacer:
    """The pacer of this bot's dispatcher (made at its first dispatch)."""
    found = _PACERS.get(id(app))
    return found if found is not None else use_limits(app, TELEGRAM)


async def run_dispatch(app: AppContext, bot: Bot) -> int:
    """Send due rows at Telegram's limits until none is due; returns how many were looked at.

    Rows are claimed a batch at a time and sent paced by the limiter (bot/ratelimit.py), so
    a broadcast to hundreds goes out as fast as Telegram allows and never faster. At most
    `DISPATCH_BATCH_SIZE` messages go out per run; the next run goes on. Once nothing is due,
    every broadcast whose rows are all settled gets its delivery report queued (and sent).
    """
    async with app.dispatch_lock:
        budget = app.settings.dispatch_batch_size
        pacer = pacer_for(app)
        examined = sent = idle = 0
        while sent < budget and idle < MAX_IDLE_BATCHES:
            async with app.db.write() as session:
                claims = await outbox.claim_due(
                    session,
                    now=app.clock.now(),
                    limit=min(CLAIM_SIZE, budget - sent),
                    rules=app.rules,
                )
            examined += claims.examined
            # Chats that may have a message now go first: one waiting for its second (a
            # coordinator told of several things at once) does not hold the others up.
            ready = sorted(claims.to_send, key=lambda row: pacer.ready_in(row.user_id) > 0)
            for row in ready:
                await _deliver(app, bot, row, pacer)
            sent += len(claims.to_send)
            idle = 0 if claims.to_send else idle + 1
            if claims.examined == 0 and not await _report_broadcasts(app):
                break
        return examined


async def _report_broadcasts(app: AppContext) -> int:
    """Queue the reports of broadcasts that are done; read first, so a quiet tick writes nothing."""
    async with app.db.read() as session:
        if not await broadcasts.unreported(session):
            return 0
    async with app.db.write() as session:
        return await broadcasts.report_finished(session, now=app.clock.now())


class _Paced:
    """The bot, each send waiting until it fits Telegram's limits (one row may be several
    messages: a long text in parts, a photo and then its text)."""

    def __init__(self, bot: Bot, pacer: Pacer) -> None:
        self._bot = bot
        self._pacer = pacer

    async def send_message(self, chat_id: int, *args: Any, **kwargs: Any) -> Message:
        await self._pacer.acquire(chat_id)
        return await self._bot.send_message(chat_id, *args, **kwargs)

    async def send_photo(self, chat_id: int, *args: Any, **kwargs: Any) -> Message:
        await self._pacer.acquire(chat_id)
        return await self._bot.send_photo(chat_id, *args, **kwargs)

    async def send_document(self, chat_id: int, *args: Any, **kwargs: Any) -> Message:
        await self._pacer.acquire(chat_id)
        return await self._bot.send_document(chat_id, *args, **kwargs)


async def _deliver(app: AppContext, bot: Bot, row: outbox.Claimed, pacer: Pacer) -> None:
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
    await _send(app, bot, row, result, pacer)


async def _send(
    app: AppContext, bot: Bot, row: outbox.Claimed, message: Rendered, pacer: Pacer
) -> None:
    lang = row.language
    try:
        markup = rendering.keyboard(app.texts, lang, message.buttons)
        # Whole, never cut: a caption that does not fit becomes the photo and then the text.
        sent = await deliver(
            cast(Bot, _Paced(bot, pacer)),
            row.user_id,
            message.text,
            reply_markup=markup,
            photo=message.photo,
            document=message.document,
            filename=message.filename,
            file_caption=message.file_caption,
        )
    except Forbidden:
        log.info("User %s has blocked the bot; their pushes stop", row.user_id)
        async with app.db.write() as session:
            await outbox.mark_user_blocked(session, row.user_id, row.id, now=app.clock.now())
    except RetryAfter as error:
        wait = error.retry_after
        delay = wait if isinstance(wait, timedelta) else timedelta(seconds=float(wait))
        # Telegram's flood control: nothing more goes out before it has passed.
        pacer.pause(delay.total_seconds())
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


async def dispatch_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback of the regular tick: send what is due, unless a dispatch is under way
    (a kick, a long broadcast, the sandbox's time machine). That one sends what is due, and the
    next tick comes anyway; waiting for it would only pile ticks up behind the lock."""
    app: AppContext = context.application.bot_data[KEY]
    if app.dispatch_lock.locked():
        return
    await run_dispatch(app, context.bot)


def schedule(application: BotApplication, interval: float) -> None:
    """Run the dispatcher every `interval` seconds; a late tick is still run, never skipped."""
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        dispatch_tick,
        interval=interval,
        first=1,
        name=JOB_NAME,
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )


def kick(application: BotApplication) -> None:
    """Dispatch now (after a change queued something), instead of at the next tick."""
    if application.job_queue is not None:
        application.job_queue.run_once(dispatch_job, 0, name=f"{JOB_NAME}-now")
