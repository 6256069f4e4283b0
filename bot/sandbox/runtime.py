"""The sandbox at run time: the fake Bot API, the real bot against it, the demo data, the
people one can play, and the time machine.

Everything runs on the event loop that called `start`; the web page calls these methods
from there too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, text

from bot.app import build_application, start_beside, stop_beside
from bot.concurrency import PerChatUpdateProcessor
from bot.config import LANGUAGES, Settings
from bot.context import AppContext, BotApplication
from bot.domain.programme import load_programmes
from bot.jobs.outbox import use_limits
from bot.ratelimit import UNLIMITED
from bot.sandbox import demo, timemachine
from bot.sandbox.clock import SandboxClock
from bot.sandbox.timemachine import JUMPS
from bot.texts import Texts, get_texts
from db import migrate
from db.models import (
    ROLE_TEACHER,
    STATUS_ACTIVE,
    Base,
    Exchange,
    ExchangePhase,
    Membership,
    SandboxMarker,
    User,
)
from db.session import Database
from fake_telegram import FakeTelegram, FakeUser

__all__ = [
    "JUMPS",
    "JumpResult",
    "Persona",
    "Sandbox",
    "SandboxInputError",
    "SandboxRefused",
]

log = logging.getLogger(__name__)

FAKE_TOKEN = "123456:SANDBOX-TOKEN"
# Invite links name the bot; this one says where they work.
BOT_USERNAME = "wijkbot_sandbox_bot"
# The bot handles a message in well under a second; a page waiting longer is told so.
PROCESS_TIMEOUT = 10.0
MAX_NAME_LENGTH = 40
FIRST_ADDED_ID = 9100
CLIENT_LANGUAGE = "nl"
# Where a shared location comes from: Utrecht's Domplein.
UTRECHT = (52.0907, 5.1214)


@dataclass(frozen=True)
class Persona:
    id: int  # Telegram user id = private chat id
    name: str
    role: str  # "coordinator" | "teacher" | "begeleider" | "new"
    description: str  # one line, in the sandbox's default language
    language_code: str  # the Telegram client's language
    # The same line in every language of the page.
    descriptions: Mapping[str, str] = field(default_factory=dict, compare=False)

    def describe(self, lang: str) -> str:
        return self.descriptions.get(lang, self.description)


@dataclass(frozen=True)
class JumpResult:
    now: datetime  # sandbox time after the jump (aware UTC)
    delivered: int  # outbox rows dispatched during the jump


class SandboxInputError(Exception):
    """Input from the page that cannot be used; `key` names the catalogue text why."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params: dict[str, object] = params


class SandboxRefused(Exception):
    """The sandbox does not start on this database (it holds real data)."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params: dict[str, object] = params


@dataclass(frozen=True)
class _Member:
    role: str
    side: str | None
    exchange_id: int


class Sandbox:
    """The real bot on a demo database, driven by one person through the web chat."""

    def __init__(self, settings: Settings) -> None:
        self.clock = SandboxClock()
        self.tg = FakeTelegram(
            token=FAKE_TOKEN, bot_username=BOT_USERNAME, clock=self.clock.timestamp
        )
        self.texts: Texts = get_texts()
        self.database_url = settings.sandbox_database_url
        self.lang = settings.default_language
        self._given = settings
        self.settings = self._bot_settings("http://127.0.0.1")
        self.app: BotApplication | None = None
        self.context: AppContext | None = None
        self.db: Database | None = None
        self._lock = asyncio.Lock()
        self._counter = 0
        self._bumped = asyncio.Event()
        self._added: dict[int, str] = {}
        self._personas: list[Persona] = []
        self._exchange_days: list[date] = []
        self._building = False

    # -- settings ---------------------------------------------------------------------------

    def _bot_settings(self, api_url: str) -> Settings:
        given = self._given
        values: dict[str, object] = {
            "telegram_token": FAKE_TOKEN,
            "telegram_api_url": api_url,
            "database_url": self.database_url,
            "sandbox_database_url": self.database_url,
            "coordinator_ids": (demo.COORDINATOR.id,),
            "dispatch_interval_seconds": 1,
            "timezone": given.timezone,
            "default_language": given.default_language,
            "log_level": given.log_level,
        }
        return Settings(_env_file=None, **values)

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Migrate, refuse real data, build the demo when the database is new, and start the
        fake Bot API and the bot."""
        fresh = await self._prepare_database()
        await self.tg.start()
        try:
            self.settings = self._bot_settings(self.tg.url)
            await self._start_bot()
            if fresh:
                await self._build_demo()
            await self._refresh()
        except BaseException:
            await self._stop_bot()
            await self.tg.stop()
            raise

    async def stop(self) -> None:
        await self._stop_bot()
        await self.tg.stop()

    async def reset(self) -> None:
        """Start again from fresh demo data: the bot, the database and the chats."""
        async with self._lock:
            await self._stop_bot()
            database = Database(self.database_url)
            try:
                await _wipe(database, self.clock.now())
            finally:
                await database.dispose()
            self.tg.reset()
            self._added.clear()
            self.clock.back_to_real()
            await self._start_bot()
            await self._build_demo()
            await self._refresh()
            self._bump()

    async def _build_demo(self) -> None:
        # While the demo's people join one by one, the page keeps the list it had: a chat it
        # shows must not vanish (and come back) half-way through a reset.
        self._building = True
        try:
            await demo.build(self)
        finally:
            self._building = False

    async def _prepare_database(self) -> bool:
        """Bring the schema up to date; True when the demo data is still to be made."""
        database = Database(self.database_url)
        try:
            await migrate.upgrade(database.engine)
            async with database.write() as session:
                if await session.scalar(select(func.count()).select_from(SandboxMarker)):
                    return False
                people = await session.scalar(select(func.count()).select_from(User))
                pairs = await session.scalar(select(func.count()).select_from(Exchange))
                if people or pairs:
                    raise SandboxRefused("sandbox.cli.real_data", database=self._where())
                session.add(SandboxMarker(created_at=self.clock.now()))
            return True
        finally:
            await database.dispose()

    def _where(self) -> str:
        path = self.settings.sqlite_path(self.database_url)
        return str(path) if path is not None else self.database_url

    async def _start_bot(self) -> None:
        self.db = Database(self.database_url)
        self.context = AppContext(
            settings=self.settings,
            db=self.db,
            clock=self.clock,
            programmes=load_programmes(),
            texts=self.texts,
        )
        # The time machine plays days in seconds: Telegram's real-time limits would only
        # make each jump wait.
        use_limits(self.context, UNLIMITED)
        self.app = build_application(self.context, FAKE_TOKEN)
        await start_beside(self.app)  # its job queue is the live dispatcher

    async def _stop_bot(self) -> None:
        app, self.app = self.app, None
        if app is not None:
            await stop_beside(app)
        if self.db is not None:
            await self.db.dispose()
            self.db = None
        self.context = None

    def _running_bot(self) -> tuple[AppContext, BotApplication]:
        if self.context is None or self.app is None:
            raise RuntimeError("the sandbox is not running")
        return self.context, self.app

    # -- the people -------------------------------------------------------------------------

    def personas(self) -> list[Persona]:
        """Everyone one can play: the demo people first (the coordinator first of all), then
        anyone else the bot knows, then the people added on the page."""
        return list(self._personas)

    def persona(self, persona_id: int) -> Persona:
        for persona in self._personas:
            if persona.id == persona_id:
                return persona
        raise SandboxInputError("sandbox.errors.unknown_persona")

    async def add_persona(self, name: str) -> Persona:
        """Someone new, not in any pair yet: they join with an invite link, as in real life."""
        cleaned = " ".join(name.split())
        if not 1 <= len(cleaned) <= MAX_NAME_LENGTH:
            raise SandboxInputError("sandbox.errors.name")
        async with self._lock:
            taken = {p.id for p in self._personas} | set(self._added)
            new_id = max((i + 1 for i in taken if i >= FIRST_ADDED_ID), default=FIRST_ADDED_ID)
            self._added[new_id] = cleaned
            self.tg.open_chat(self.tg.user(new_id, cleaned, language_code=CLIENT_LANGUAGE))
            await self._refresh()
            self._bump()
            return self.persona(new_id)

    def _persona(self, user_id: int, name: str, role: str, lines: dict[str, str]) -> Persona:
        return Persona(user_id, name, role, lines[self.lang], CLIENT_LANGUAGE, lines)

    def _newcomer(self) -> dict[str, str]:
        return {lang: self.texts.plain(lang, "sandbox.demo.new") for lang in LANGUAGES}

    def _fake_user(self, persona_id: int) -> FakeUser:
        persona = self.persona(persona_id)
        return self.tg.user(persona.id, persona.name, language_code=persona.language_code)

    async def _refresh(self) -> None:
        """Read again who is who, and the exchange days (after anything that may change them)."""
        context, _ = self._running_bot()
        async with context.db.read() as session:
            users = list(await session.scalars(select(User).where(User.id > 0)))
            rows = await session.execute(
                select(Membership.user_id, Membership.role, Membership.side, Exchange.id)
                .join(Exchange, Exchange.id == Membership.exchange_id)
                .where(Exchange.status == STATUS_ACTIVE)
                .order_by(Exchange.id, Membership.id)
            )
            members: dict[int, list[_Member]] = {}
            for user_id, role, side, exchange_id in rows:
                members.setdefault(user_id, []).append(_Member(role, side, exchange_id))
            exchanges = {e.id: e for e in await demo.load_active_exchanges(session)}
            days = await session.scalars(
                select(ExchangePhase.starts_on)
                .join(Exchange, Exchange.id == ExchangePhase.exchange_id)
                .where(
                    Exchange.status == STATUS_ACTIVE,
                    ExchangePhase.phase_key.in_(demo.day_phase_keys(context.programmes)),
                )
            )
            self._exchange_days = sorted(set(days))
        cities = sorted({e.city for e in exchanges.values()})
        city = ", ".join(cities) or "—"
        found: dict[int, Persona] = {}
        for user in users:
            mine = members.get(user.id, [])
            if user.is_coordinator:
                role = "coordinator"
                lines = {
                    lang: self.texts.plain(lang, "sandbox.demo.coordinator", city=city)
                    for lang in LANGUAGES
                }
            elif mine:
                first = next((m for m in mine if m.role == ROLE_TEACHER), mine[0])
                role = first.role
                lines = {
                    lang: demo.describe(self.texts, lang, first, exchanges) for lang in LANGUAGES
                }
            else:
                role, lines = "new", self._newcomer()
            found[user.id] = self._persona(user.id, user.display_name, role, lines)
        for added_id, name in self._added.items():
            if added_id not in found:
                found[added_id] = self._persona(added_id, name, "new", self._newcomer())
        order = {person.id: n for n, person in enumerate(demo.PEOPLE)}
        self._personas = sorted(found.values(), key=lambda p: (order.get(p.id, len(order)), p.id))
        for persona in self._personas:
            self.tg.user(persona.id, persona.name, language_code=persona.language_code)

    # -- acting as someone ------------------------------------------------------------------

    async def say(self, persona_id: int, text: str) -> None:
        """The persona sends `text`; returns once the bot has handled it."""
        if not text.strip():
            raise SandboxInputError("sandbox.errors.empty")
        user = self._fake_user(persona_id)
        async with self._lock:
            await self._handled(self.tg.push_text(user, text))

    async def press(self, persona_id: int, message_id: int, data: str) -> None:
        """The persona presses the inline button with this callback data."""
        user = self._fake_user(persona_id)
        async with self._lock:
            try:
                update_id = self.tg.push_callback(user, message_id, data)
            except AssertionError as error:
                raise SandboxInputError("sandbox.errors.no_button") from error
            await self._handled(update_id)

    async def share_location(self, persona_id: int) -> None:
        """The persona shares a location (in Utrecht), as a location button asks."""
        user = self._fake_user(persona_id)
        async with self._lock:
            await self._handled(self.tg.push_location(user, *UTRECHT))

    # The demo plays its people through these: it holds the lock already, and the people it
    # plays are not listed yet while they join.

    async def _say(self, persona_id: int, text: str) -> None:
        await self._handled(self.tg.push_text(self._demo_user(persona_id), text))

    async def _share_location(self, persona_id: int) -> None:
        await self._handled(self.tg.push_location(self._demo_user(persona_id), *UTRECHT))

    def _demo_user(self, persona_id: int) -> FakeUser:
        person = demo.BY_ID[persona_id]
        return self.tg.user(person.id, person.name, language_code=CLIENT_LANGUAGE)

    async def _handled(self, update_id: int) -> None:
        _, app = self._running_bot()
        processor = app.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        async with asyncio.timeout(PROCESS_TIMEOUT):
            await processor.wait_processed(update_id)
        if not self._building:
            await self._refresh()

    # -- the time machine -------------------------------------------------------------------

    def next_exchange_day(self) -> datetime | None:
        """07:30 local time of the next exchange day of an active pair (aware UTC)."""
        found = timemachine.next_exchange_day(
            self._exchange_days, self.clock.now(), self.settings.tz
        )
        return found.astimezone(self.clock.now().tzinfo) if found is not None else None

    async def jump(self, to: str) -> JumpResult:
        """Move the clock (see JUMPS); forward jumps let the skipped time pass."""
        if to not in JUMPS:
            raise SandboxInputError("sandbox.errors.unknown_jump")
        async with self._lock:
            delivered = 0
            if to == "now":
                self.clock.back_to_real()
                landed = self.clock.now()
            else:
                landed = self._target(to, self.clock.now())
                delivered = await self.travel(landed)
            await self._refresh()
            self._bump()
            return JumpResult(landed.astimezone(UTC), delivered)

    def _target(self, to: str, now: datetime) -> datetime:
        if to == "hour":
            return now + timedelta(hours=1)
        if to == "day":
            return now + timedelta(days=1)
        if to == "monday":
            return timemachine.next_monday(now, self.settings.tz)
        found = self.next_exchange_day()
        if found is None:
            raise SandboxInputError("sandbox.errors.no_exchange_day")
        return found

    async def travel(self, target: datetime) -> int:
        """Let time pass until `target` (the caller holds the lock or is building the demo)."""
        context, app = self._running_bot()
        # Only the time machine dispatches while time is skipped: a regular tick in between
        # would dispatch at whatever moment the clock stands on, and pile up behind it.
        assert app.job_queue is not None
        app.job_queue.scheduler.pause()
        try:
            return await timemachine.travel(context, app.bot, self.clock, target)
        finally:
            app.job_queue.scheduler.resume()

    # -- changes, for the page to follow ----------------------------------------------------

    @property
    def version(self) -> int:
        """Goes up with every change to a chat, every jump and every reset."""
        return self.tg.revision + self._counter

    def _bump(self) -> None:
        self._counter += 1
        self._bumped.set()
        self._bumped = asyncio.Event()

    async def wait_version(self, after: int, timeout: float) -> int:  # noqa: ASYNC109
        """Wait until `version` is above `after` (or `timeout` passes); returns it then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.version <= after:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            bumped = asyncio.ensure_future(self._bumped.wait())
            changed = asyncio.ensure_future(self.tg.wait_revision(self.tg.revision, remaining))
            try:
                await asyncio.wait(
                    {bumped, changed}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for task in (bumped, changed):
                    task.cancel()
        return self.version


async def _wipe(database: Database, now: datetime) -> None:
    """Empty every table, keeping the mark that this is the sandbox's database."""
    async with database.write() as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(text(f"DELETE FROM {table.name}"))
        session.add(SandboxMarker(created_at=now))
