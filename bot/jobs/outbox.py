"""The dispatcher: sends due outbox rows. Claim → commit → send → mark."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ContextTypes, ExtBot

from bot.context import KEY, AppContext, BotApplication
from bot.delivery import Sent, deliver, outcome_unknown
from bot.extbot import WijkBot
from bot.ratelimit import BULK, FIRST, TELEGRAM, Limits, Pacer
from bot.services import broadcasts, outbox, outbox_content
from bot.services.outbox_content import Content, Skip
from bot.ui import replies as rendering
from bot.ui.outbox import Rendered, render

log = logging.getLogger(__name__)
JOB_NAME = "dispatcher"
# Rows claimed at a time: about a second of sending at the bulk rate. The next batch is claimed
# once fewer than this many are still on their way, so a claimed row waits seconds (never its
# lease) and an alarm queued meanwhile goes ahead of the rows claimed after it.
CLAIM_SIZE = 25
# Sends under way at once: enough to hide Telegram's round trip and the database work of
# preparing the next message behind the one going out; the pacer spaces their departures.
IN_FLIGHT = 8
# Batches in a row that sent nothing (rows settled as too late, or moved to the morning) cost
# no Telegram call; this bounds the database work of one run after a long downtime.
MAX_IDLE_BATCHES = 20
# The member pushes of a claimed batch (digests, reminders) are read together right after the
# claim, in a few queries instead of a handful each. A row that waits longer than this before
# it goes (behind a chat's pace or Telegram's flood control) is read again, so what it says
# is never more than a few seconds old.
READ_AHEAD_SECONDS = 5.0
# Rows Telegram accepted are marked sent together, at most this long after they went: one
# write transaction a few times a second instead of one per message, so replies' writes
# rarely wait for the dispatcher's. A crash within it leaves those rows "sending"; they are
# looked at again after their lease, as any row whose process died (outbox.claim_due).
MARK_SENT_SECONDS = 0.25
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

    Rows are claimed a batch at a time and sent several at once (each chat's in the order
    they were claimed), paced by the limiter (bot/ratelimit.py), so a city's Monday goes out
    as fast as Telegram allows and never faster. At most `DISPATCH_BATCH_SIZE` rows are
    claimed per run; the caller runs again while that is used up. Once nothing is due, every
    broadcast whose rows are all settled gets its delivery report queued (and sent).
    """
    async with app.dispatch_lock:
        budget = app.settings.dispatch_batch_size
        flow = _Flow(app, bot, pacer_for(app))
        examined = idle = 0
        try:
            while examined < budget and idle < MAX_IDLE_BATCHES:
                await flow.wait_below(CLAIM_SIZE)
                async with app.db.write() as session:
                    claims = await outbox.claim_due(
                        session,
                        now=app.clock.now(),
                        limit=min(CLAIM_SIZE, budget - examined),
                        rules=app.rules,
                    )
                examined += claims.examined
                flow.add_all(claims.to_send, await _read_ahead(app, claims.to_send))
                idle = 0 if claims.to_send else idle + 1
                if claims.examined == 0:
                    if flow.busy:
                        # What is on its way may queue more (a report once a broadcast is done).
                        await flow.drain()
                        continue
                    if not await _report_broadcasts(app):
                        break
            await flow.drain()
        except BaseException:
            await flow.abandon()
            raise
        return examined


async def _read_ahead(app: AppContext, rows: list[outbox.Claimed]) -> dict[int, Content | Skip]:
    """What the batched rows among `rows` are written from; none when that cannot be read
    (each row is then read, and any error settled, when it goes)."""
    if not any(row.kind in outbox_content.BATCHED for row in rows):
        return {}
    try:
        async with app.db.read() as session:
            return await outbox_content.load_batch(session, rows, app.programmes)
    except Exception:
        log.exception("Could not read ahead %d claimed outbox rows", len(rows))
        return {}


class _SentMarks:
    """Rows Telegram accepted, waiting to be marked sent: together, MARK_SENT_SECONDS after
    the first of them, or at once when the run settles or stops (`flush`)."""

    def __init__(self, app: AppContext) -> None:
        self._app = app
        self._marks: list[outbox.SentMark] = []
        # Waiting to write (only while it sleeps: a write under way is never cancelled).
        self._timer: asyncio.Task[None] | None = None
        self._writing = asyncio.Lock()

    def add(self, mark: outbox.SentMark) -> None:
        self._marks.append(mark)
        if self._timer is None:
            self._timer = asyncio.create_task(self._later(), name="outbox-mark-sent")

    async def _later(self) -> None:
        await asyncio.sleep(MARK_SENT_SECONDS)
        self._timer = None
        await self._write()

    async def flush(self) -> None:
        """Mark what is waiting now; returns once every mark so far is written."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        await self._write()

    async def _write(self) -> None:
        async with self._writing:
            marks, self._marks = self._marks, []
            if not marks:
                return
            try:
                async with self._app.db.write() as session:
                    await outbox.mark_all_sent(session, marks)
            except Exception:
                # They stay "sending" and are looked at again once their lease is over.
                log.exception("Could not mark %d sent outbox rows", len(marks))


class _Flow:
    """Claimed rows on their way out: up to IN_FLIGHT at once, each chat's one after another."""

    def __init__(self, app: AppContext, bot: Bot, pacer: Pacer) -> None:
        self._app = app
        self._bot = bot
        self._pacer = pacer
        self._sent = _SentMarks(app)
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_of_chat: dict[int, asyncio.Task[None]] = {}
        self._waiting: dict[int, outbox.Claimed] = {}  # claimed, not yet being sent
        # What rows are written from, read with their batch, and when (time.monotonic).
        self._ready: dict[int, tuple[float, Content | Skip]] = {}

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def add_all(
        self, rows: list[outbox.Claimed], ready: dict[int, Content | Skip] | None = None
    ) -> None:
        # Chats that may have a message now go first: one waiting for its second (a
        # coordinator told of several things at once) does not hold the others up.
        read_at = time.monotonic()
        for row_id, content in (ready or {}).items():
            self._ready[row_id] = (read_at, content)
        for row in sorted(rows, key=lambda row: self._pacer.ready_in(row.user_id) > 0):
            self._waiting[row.id] = row
            before = self._last_of_chat.get(row.user_id)
            task = asyncio.create_task(self._one(row, before), name=f"outbox-row-{row.id}")
            self._tasks.add(task)
            self._last_of_chat[row.user_id] = task
            task.add_done_callback(partial(self._forget, row.user_id))

    def _forget(self, chat_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._last_of_chat.get(chat_id) is task:
            del self._last_of_chat[chat_id]

    async def _one(self, row: outbox.Claimed, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])
        async with self._slots:
            if self._waiting.pop(row.id, None) is None:
                return  # abandoned (the bot stops) and put back in the queue: not sent here
            read_at, content = self._ready.pop(row.id, (0.0, None))
            if time.monotonic() - read_at > READ_AHEAD_SECONDS:
                content = None
            try:
                await _deliver(self._app, self._bot, row, self._pacer, content, self._sent.add)
            except Exception:
                # The row stays "sending" and is looked at again once its lease is over.
                log.exception("Delivering outbox row %s (%s) failed", row.id, row.kind)

    async def wait_below(self, count: int) -> None:
        while len(self._tasks) >= count:
            await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks)
        await self._sent.flush()

    async def abandon(self) -> None:
        """The run is stopped (the bot shuts down): rows not yet being sent go back to the
        queue as they were; a row being sent is settled as usual, or looked at again once
        its lease is over."""
        for task in self._tasks:
            task.cancel()
        waiting = list(self._waiting)
        self._waiting.clear()
        self._ready.clear()
        await self._sent.flush()
        if not waiting:
            return
        try:
            async with self._app.db.write() as session:
                await outbox.release(session, waiting, now=self._app.clock.now())
        except Exception:
            log.exception("Could not put %d claimed outbox rows back", len(waiting))


async def _report_broadcasts(app: AppContext) -> int:
    """Queue the reports of broadcasts that are done; read first, so a quiet tick writes nothing."""
    async with app.db.read() as session:
        if not await broadcasts.unreported(session):
            return 0
    async with app.db.write() as session:
        return await broadcasts.report_finished(session, now=app.clock.now())


@dataclass(frozen=True, slots=True)
class _SentText:
    message_id: int


class _Paced:
    """The bot, each send going through the pacer in the dispatcher's lane: bulk, or first
    for an alarm (one row may be several messages: a long text in parts, a photo and then
    its text). The pacing itself is the bot's rate limiter (bot/ratelimit.py). A text goes
    by `WijkBot.send_text`, which keeps only the new message's id (bot/extbot.py)."""

    def __init__(self, bot: Bot, lane: str) -> None:
        self._bot = bot
        self._lane = lane
        # Only python-telegram-bot's ExtBot has a rate limiter to tell the lane to.
        self._limited: dict[str, Any] = {"rate_limit_args": lane} if isinstance(bot, ExtBot) else {}

    async def send_message(self, chat_id: int, text: str, *, reply_markup: Any = None) -> Sent:
        if isinstance(self._bot, WijkBot):
            sent = await self._bot.send_text(
                chat_id, text, reply_markup=reply_markup, rate_limit_args=self._lane
            )
            return _SentText(sent)
        return await self._bot.send_message(
            chat_id, text, reply_markup=reply_markup, **self._limited
        )

    async def send_photo(
        self,
        chat_id: int,
        photo: str | bytes | InputFile,
        *,
        caption: str | None = None,
        reply_markup: Any = None,
    ) -> Sent:
        return await self._bot.send_photo(
            chat_id, photo, caption=caption, reply_markup=reply_markup, **self._limited
        )

    async def send_document(
        self,
        chat_id: int,
        document: str | bytes | InputFile,
        *,
        filename: str | None = None,
        caption: str | None = None,
        reply_markup: Any = None,
    ) -> Sent:
        return await self._bot.send_document(
            chat_id,
            document,
            filename=filename,
            caption=caption,
            reply_markup=reply_markup,
            **self._limited,
        )


async def _deliver(
    app: AppContext,
    bot: Bot,
    row: outbox.Claimed,
    pacer: Pacer,
    content: Content | Skip | None,
    on_sent: Callable[[outbox.SentMark], None],
) -> None:
    """Load what the row's message needs (unless read with its batch: `content`), write it,
    and send it (or settle why not); `on_sent` marks it sent once Telegram accepted it."""
    try:
        if content is None:
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
    await _send(app, bot, row, result, pacer, on_sent)


async def _send(
    app: AppContext,
    bot: Bot,
    row: outbox.Claimed,
    message: Rendered,
    pacer: Pacer,
    on_sent: Callable[[outbox.SentMark], None],
) -> None:
    lang = row.language
    try:
        markup = rendering.keyboard_dict(app.texts, lang, message.buttons)
        # Whole, never cut: a caption that does not fit becomes the photo and then the text.
        sent = await deliver(
            _Paced(bot, FIRST if row.urgent else BULK),
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
        on_sent(outbox.SentMark(row.id, app.clock.now(), sent.message_id, sent.as_caption))


async def dispatch_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback: send what is due."""
    await dispatch_all(context.application.bot_data[KEY], context.bot)


async def dispatch_all(app: AppContext, bot: Bot) -> None:
    """Run the dispatcher again as long as each run used its whole budget: a city's Monday
    goes out in one go, not `DISPATCH_BATCH_SIZE` rows per tick."""
    while await run_dispatch(app, bot) >= app.settings.dispatch_batch_size:
        pass


async def dispatch_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback of the regular tick: send what is due, unless a dispatch is under way
    (a kick, a long broadcast, the sandbox's time machine). That one sends what is due, and the
    next tick comes anyway; waiting for it would only pile ticks up behind the lock."""
    app: AppContext = context.application.bot_data[KEY]
    if app.dispatch_lock.locked():
        return
    await dispatch_all(app, context.bot)


def schedule(application: BotApplication, interval: float) -> None:
    """Run the dispatcher every `interval` seconds; a late tick is still run, never skipped.

    Two instances may run at once: a tick that comes while a long dispatch (a city's Monday)
    is still under way returns at once instead of being reported as skipped.
    """
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        dispatch_tick,
        interval=interval,
        first=1,
        name=JOB_NAME,
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 2},
    )


def kick(application: BotApplication) -> None:
    """Dispatch now (after a change queued something), instead of at the next tick."""
    if application.job_queue is not None:
        application.job_queue.run_once(dispatch_job, 0, name=f"{JOB_NAME}-now")
