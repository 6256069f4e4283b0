"""People acting on the bot during a season, every action logged for the transcript."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from fake_telegram import BotMessage, FakeUser
from tests.harness import Harness
from tests.season.cast import COORDINATOR_ID, COORDINATOR_NAME, ExchangeSpec, Person
from tests.season.recorder import Log, StampedCalls

AMS = ZoneInfo("Europe/Amsterdam")
TOKEN = re.compile(r"\?start=([A-Za-z0-9_-]+)")
# People take a moment to read and type; without it a whole /nieuw would happen in one second.
HUMAN_PAUSE = timedelta(seconds=15)


class Season:
    """The harness, the cast and a log of what everyone did."""

    def __init__(self, h: Harness, specs: list[ExchangeSpec]) -> None:
        self.h = h
        self.exchanges = specs
        self.log = Log()
        self.error_calls: list[str] = []
        self.users: dict[int, FakeUser] = {}
        self.people: dict[int, Person] = {
            COORDINATOR_ID: Person(COORDINATOR_ID, COORDINATOR_NAME, "coordinator")
        }
        for spec in specs:
            for person in spec.teachers + spec.begeleiders:
                self.people[person.user_id] = person
        self.query_user: dict[str, int] = {}
        # Users who had blocked the bot at some time (their 403s are expected).
        self.ever_blocked: set[int] = set()
        # Positions in the call log after which a send's connection was dropped.
        self.dropped_after: list[int] = []
        # (person, exchange) taken off a pair: they no longer act in it.
        self.removed: set[tuple[int, int]] = set()
        # Positions in a chat worth remembering ("gathering": Carla's last message then).
        self.marks: dict[str, int] = {}
        h.tg.calls = StampedCalls(h.clock, h.tg.calls)
        self._watch_errors()

    @property
    def calls(self) -> StampedCalls:
        calls = self.h.tg.calls
        assert isinstance(calls, StampedCalls)
        return calls

    def _watch_errors(self) -> None:
        """Count every call of the bot's error handler (beside the bot's own one)."""
        assert self.h.app is not None

        async def record(update: object, context: Any) -> None:
            who = ""
            if isinstance(update, Update) and update.effective_user is not None:
                who = f" (user {update.effective_user.id})"
            self.error_calls.append(f"{self.h.clock.now().isoformat()}{who}: {context.error!r}")

        self.h.app.add_error_handler(record)

    async def restart(self) -> None:
        self.log.act(self.h.clock, COORDINATOR_ID, "system", "de bot wordt herstart")
        await self.h.restart()
        self._watch_errors()

    def user(self, person: Person | int) -> FakeUser:
        p = self.people[person] if isinstance(person, int) else person
        if p.user_id not in self.users:
            self.users[p.user_id] = self.h.user(
                p.user_id,
                p.first_name,
                last_name=p.last_name,
                username="carla_wimw" if p.user_id == COORDINATOR_ID else None,
            )
        return self.users[p.user_id]

    @property
    def coordinator(self) -> FakeUser:
        return self.user(COORDINATOR_ID)

    # -- acting -------------------------------------------------------------------------

    async def type(self, who: Person | FakeUser | int, text: str) -> list[BotMessage]:
        user = who if isinstance(who, FakeUser) else self.user(who)
        self.h.clock.advance(HUMAN_PAUSE)
        self.log.act(self.h.clock, user.id, "typed", text)
        return await self.h.send(user, text)

    def _remember_query(self, user: FakeUser, update_id: int) -> None:
        for update in self.h.tg._updates:  # the fake keeps every pushed update
            if update.get("update_id") == update_id and "callback_query" in update:
                self.query_user[update["callback_query"]["id"]] = user.id

    async def tap(
        self,
        who: Person | FakeUser | int,
        message: BotMessage,
        label: str,
        *,
        double: bool = False,
    ) -> list[BotMessage]:
        """Press the button labelled `label` (exact, else a unique part); `double`: tap twice."""
        user = who if isinstance(who, FakeUser) else self.user(who)
        current = next(
            (m for m in self.h.tg.messages(message.chat_id) if m.message_id == message.message_id),
            message,
        )
        buttons = [b for row in current.buttons for b in row]
        found = [b for b in buttons if b.text == label] or [b for b in buttons if label in b.text]
        assert len(found) == 1, (label, [b.text for b in buttons], current.text)
        button = found[0]
        self.h.clock.advance(HUMAN_PAUSE)
        self.log.act(
            self.h.clock,
            user.id,
            "pressed",
            button.text,
            "twee keer snel achter elkaar" if double else "",
        )
        mark = self.h.tg.last_message_id(user.id)
        if button.callback_data is None:  # a reply-keyboard button sends its text
            return await self.h.send(user, button.text)
        first = self.h.tg.push_callback(user, message.message_id, button.callback_data)
        self._remember_query(user, first)
        if double:
            # The second tap leaves the phone before the answer to the first arrives.
            second = self.h.tg.push_callback(
                user, message.message_id, button.callback_data, force=True
            )
            self._remember_query(user, second)
            await self.h.processed(first)
            await self.h.processed(second)
        else:
            await self.h.processed(first)
        return self.h.tg.messages_since(user.id, mark)

    async def photo(self, who: Person | FakeUser | int) -> list[BotMessage]:
        user = who if isinstance(who, FakeUser) else self.user(who)
        self.h.clock.advance(HUMAN_PAUSE)
        self.log.act(self.h.clock, user.id, "photo", "(foto)")
        mark = self.h.tg.last_message_id(user.id)
        await self.h.processed(self.h.tg.push_photo(user))
        return self.h.tg.messages_since(user.id, mark)

    async def send_then_edit(
        self, who: Person | FakeUser | int, text: str, edited: str
    ) -> tuple[list[BotMessage], list[BotMessage]]:
        """Type `text`, then change that same message into `edited` (Telegram's edit)."""
        user = who if isinstance(who, FakeUser) else self.user(who)
        self.h.clock.advance(HUMAN_PAUSE)
        self.log.act(self.h.clock, user.id, "typed", text)
        mark = self.h.tg.last_message_id(user.id)
        update_id = self.h.tg.push_text(user, text)
        # Read before awaiting: the fake forgets an update once the bot has confirmed it.
        original = next(u for u in self.h.tg._updates if u.get("update_id") == update_id)
        await self.h.processed(update_id)
        first = self.h.tg.messages_since(user.id, mark)
        self.h.clock.advance(HUMAN_PAUSE)
        self.log.act(self.h.clock, user.id, "edited", edited, f"bewerkt: was „{text}”")
        mark = self.h.tg.last_message_id(user.id)
        push_edit = getattr(self.h.tg, "push_edit", None)
        if push_edit is not None:
            edit_id = push_edit(user, original["message"]["message_id"], edited)
        else:
            message = dict(original["message"])
            message["text"] = edited
            message["edit_date"] = message["date"] + 60
            edit_id = self.h.tg.push_update({"edited_message": message})
        await self.h.processed(edit_id)
        return first, self.h.tg.messages_since(user.id, mark)

    def slow_telegram(self, method: str, seconds: float, times: int) -> None:
        """Telegram answers the next sends slowly (past the bot's read timeout, if longer)."""
        self.log.act(
            self.h.clock, COORDINATOR_ID, "system", f"Telegram traag: {times}× {seconds} s"
        )
        self.h.tg.delay_next(method, seconds, times=times)

    def drop_connection(self, method: str) -> None:
        """The next send is delivered, but the answer never reaches the bot."""
        self.log.act(self.h.clock, COORDINATOR_ID, "system", "verbinding valt weg")
        self.dropped_after.append(len(self.calls))
        self.h.tg.drop_next(method)

    def block(self, who: Person | int) -> None:
        user = self.user(who)
        self.log.act(self.h.clock, user.id, "blocked", "blokkeert de bot")
        self.h.tg.block_user(user.id)
        self.ever_blocked.add(user.id)

    def unblock(self, who: Person | int) -> None:
        user = self.user(who)
        self.log.act(self.h.clock, user.id, "unblocked", "deblokkeert de bot")
        self.h.tg.unblock_user(user.id)

    async def until(self, moment: datetime) -> None:
        """Let the season's clock run to `moment`, sending every push when it is due."""
        await self.h.run_until(moment)

    def at(self, moment: datetime) -> None:
        """Jump the clock (nothing due in between is sent: call `until` for that)."""
        self.h.clock.set(moment)

    # -- reading ------------------------------------------------------------------------

    def messages(self, who: Person | FakeUser | int) -> list[BotMessage]:
        if isinstance(who, int):
            user_id = who
        else:
            user_id = who.user_id if isinstance(who, Person) else who.id
        return self.h.tg.messages(user_id)

    def last(self, who: Person | FakeUser | int, containing: str = "") -> BotMessage | None:
        found = [m for m in self.messages(who) if containing in (m.text or "")]
        return found[-1] if found else None

    def first(self, who: Person | FakeUser | int, containing: str) -> BotMessage | None:
        return next((m for m in self.messages(who) if containing in (m.text or "")), None)

    def received_on(self, who: Person, day: date) -> list[BotMessage]:
        """The messages (as they are now) that the bot sent this person on that local day."""
        ids = {
            int(call.result["message_id"])
            for call in self.calls
            if call.ok
            and call.method in ("sendMessage", "sendPhoto", "sendDocument")
            and isinstance(call.result, dict)
            and int(call.params.get("chat_id", 0)) == who.user_id
            and self.calls.stamp(call).at.astimezone(AMS).date() == day
        }
        if not ids:
            return []
        # Only the day's messages are copied out of the fake, not the whole chat.
        since = self.h.tg.messages_since(who.user_id, min(ids) - 1)
        return [m for m in since if m.message_id in ids]

    def invite_tokens(self, message: BotMessage) -> list[str]:
        return TOKEN.findall(message.text or "")
