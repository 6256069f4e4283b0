"""The /nieuw conversation: a coordinator creates an exchange step by step.

Every answer is validated before the conversation moves on; nothing is stored as an exchange
until the coordinator confirms the summary, so cancelling at any step leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.dates import DateParseError, parse_date
from bot.domain.exchange_input import (
    CLASS_CHOICES,
    ExchangeInput,
    InputError,
    SideInput,
    check_start_date,
    clean_address,
    clean_city,
    clean_class_name,
    clean_class_size,
    clean_school,
    same_school,
)
from bot.domain.holidays import REGIONS
from bot.domain.numbers import read_int
from bot.domain.programme import Programme
from bot.domain.timeline import programme_start
from bot.services import dialogs, exchanges
from bot.ui import views
from bot.ui.callbacks import NEW_EXCHANGE_PREFIX
from bot.ui.replies import Btn, Deferred, Reply, rows
from db.models import Dialog, Exchange

KIND = "new_exchange"


@dataclass
class Outcome:
    """What the conversation says next, and the exchange if one was just created."""

    replies: list[Reply]
    created: Exchange | None = None
    finished: bool = False


def _data(dialog: Dialog, value: str) -> str:
    return dialogs.button_data(NEW_EXCHANGE_PREFIX, dialog, value)


def parse_callback(data: str) -> tuple[int, str] | None:
    """('nw:<version>:<value>') → (version, value), or None when malformed."""
    return dialogs.parse_button(data, NEW_EXCHANGE_PREFIX)


def _question(
    dialog: Dialog, programmes: Mapping[str, Programme], cities: list[str] | None = None
) -> Reply:
    """The question for the dialog's current step, with its buttons."""
    step = dialog.step
    data = dialog.data
    if step == "programme":
        buttons = [Btn(_data(dialog, f"p:{p.key}"), label=p.name) for p in programmes.values()]
        return Reply("new.ask_programme", buttons=rows(buttons, 1))
    if step == "city":
        city_buttons = [Btn(_data(dialog, f"c:{i}"), label=c) for i, c in enumerate(cities or [])]
        city_buttons.append(Btn(_data(dialog, "c:new"), key="new.btn_other_city"))
        return Reply("new.ask_city", buttons=rows(city_buttons, 2))
    if step == "city_new":
        return Reply("new.ask_city_new")
    if step == "region":
        buttons = [Btn(_data(dialog, f"r:{r}"), key=f"region.{r}") for r in REGIONS]
        return Reply("new.ask_region", {"city": data["city"]}, buttons=rows(buttons, 3))
    side = step[-1].upper()
    if step.startswith("school_"):
        return Reply("new.ask_school", {"side": side, "city": data["city"]})
    if step.startswith("address_"):
        skip = Btn(_data(dialog, "skip"), key="new.btn_skip_address")
        school = data[f"school_{side.lower()}"]
        return Reply("new.ask_address", {"school": school}, buttons=((skip,),))
    if step.startswith("class_"):
        buttons = [Btn(_data(dialog, f"g:{k}"), label=v) for k, v in CLASS_CHOICES.items()]
        school = data[f"school_{side.lower()}"]
        return Reply("new.ask_class", {"school": school}, buttons=rows(buttons, 3))
    if step.startswith("size_"):
        school = data[f"school_{side.lower()}"]
        return Reply("new.ask_size", {"school": school})
    if step == "start":
        return Reply("new.ask_start")
    if step == "confirm":
        programme = programmes[data["programme"]]
        summary = Deferred(partial(views.new_exchange_summary, data=data, programme=programme))
        return Reply(
            "new.confirm",
            {"summary": summary},
            buttons=(
                (Btn(_data(dialog, "save"), key="new.btn_save"),),
                (Btn(_data(dialog, "cancel"), key="new.btn_cancel"),),
            ),
        )
    raise ValueError(f"unknown step {step}")


async def begin(
    session: AsyncSession,
    *,
    chat_id: int,
    user_id: int,
    programmes: Mapping[str, Programme],
    now: datetime,
) -> Outcome:
    dialog = await dialogs.start(
        session, chat_id=chat_id, user_id=user_id, kind=KIND, step="programme", data={}, now=now
    )
    if len(programmes) == 1:
        only = next(iter(programmes))
        return await _after_programme(session, dialog, only, programmes, now)
    return Outcome([Reply("new.intro"), _question(dialog, programmes)])


async def _after_programme(
    session: AsyncSession,
    dialog: Dialog,
    key: str,
    programmes: Mapping[str, Programme],
    now: datetime,
) -> Outcome:
    cities = await exchanges.known_cities(session)
    dialogs.advance(dialog, "city" if cities else "city_new", now, programme=key, cities=cities)
    return Outcome([_question(dialog, programmes, cities)])


async def _set_city(session: AsyncSession, dialog: Dialog, city: str, now: datetime) -> None:
    """Store the city; its school-holiday region is asked only the first time."""
    region = await exchanges.region_of_city(session, city)
    if region is None:
        dialogs.advance(dialog, "region", now, city=city)
    else:
        dialogs.advance(dialog, "school_a", now, city=city, region=region)


_NEXT = {
    "school_a": "address_a",
    "address_a": "class_a",
    "class_a": "size_a",
    "size_a": "school_b",
    "school_b": "address_b",
    "address_b": "class_b",
    "class_b": "size_b",
    "size_b": "start",
    "start": "confirm",
}


async def _set_school(session: AsyncSession, dialog: Dialog, text: str, now: datetime) -> str:
    """Store the school; known schools keep their address, so that question is skipped."""
    side = dialog.step[-1]
    name = clean_school(text)
    other = dialog.data.get("school_a") if side == "b" else None
    if other and same_school(name, other):
        raise InputError("new.same_school")
    known = await exchanges.find_school(session, dialog.data["city"], name)
    changes: dict[str, Any] = {f"school_{side}": known.name if known else name}
    next_step = _NEXT[dialog.step]
    if known is not None and known.address:
        changes[f"address_{side}"] = known.address
        next_step = _NEXT[next_step]
    dialogs.advance(dialog, next_step, now, **changes)
    return next_step


def _today(now: datetime, tz: Any) -> date:
    return now.astimezone(tz).date()


async def on_text(
    session: AsyncSession,
    dialog: Dialog,
    text: str,
    *,
    programmes: Mapping[str, Programme],
    now: datetime,
    tz: Any,
) -> Outcome:
    """A typed answer to the current question."""
    step = dialog.step
    try:
        if step in ("programme", "confirm"):
            # These steps want a button; repeat the question with its buttons.
            return Outcome([Reply("new.use_buttons"), _question(dialog, programmes)])
        if step in ("city", "city_new"):
            await _set_city(session, dialog, clean_city(text), now)
        elif step == "region":
            return Outcome([Reply("new.use_buttons"), _question(dialog, programmes)])
        elif step.startswith("school_"):
            await _set_school(session, dialog, text, now)
        elif step.startswith("address_"):
            dialogs.advance(dialog, _NEXT[step], now, **{step: clean_address(text)})
        elif step.startswith("class_"):
            dialogs.advance(dialog, _NEXT[step], now, **{step: clean_class_name(text)})
        elif step.startswith("size_"):
            dialogs.advance(dialog, _NEXT[step], now, **{step: clean_class_size(text)})
        elif step == "start":
            today = _today(now, tz)
            try:
                typed = parse_date(text, today)
            except DateParseError as exc:
                raise InputError(f"input.date_{exc.reason}") from exc
            check_start_date(typed, today)
            dialogs.advance(dialog, "confirm", now, start=programme_start(typed).isoformat())
        else:
            raise ValueError(f"unknown step {step}")
    except InputError as problem:
        return Outcome([Reply(problem.key, problem.params), _question(dialog, programmes)])
    return Outcome([_question(dialog, programmes, dialog.data.get("cities"))])


async def on_choice(
    session: AsyncSession,
    dialog: Dialog,
    value: str,
    *,
    programmes: Mapping[str, Programme],
    created_by: int,
    now: datetime,
) -> Outcome:
    """A pressed button of the current question (already checked to be of this version)."""
    step = dialog.step
    if step == "programme" and value.startswith("p:") and value[2:] in programmes:
        return await _after_programme(session, dialog, value[2:], programmes, now)
    if step == "city" and value == "c:new":
        dialogs.advance(dialog, "city_new", now)
        return Outcome([_question(dialog, programmes)])
    if step == "city" and value.startswith("c:"):
        cities = dialog.data.get("cities", [])
        index = read_int(value[2:], lo=0, hi=len(cities) - 1)
        if index is not None:
            await _set_city(session, dialog, cities[index], now)
            return Outcome([_question(dialog, programmes)])
    if step == "region" and value.startswith("r:") and value[2:] in REGIONS:
        dialogs.advance(dialog, "school_a", now, region=value[2:])
        return Outcome([_question(dialog, programmes)])
    if step.startswith("address_") and value == "skip":
        dialogs.advance(dialog, _NEXT[step], now, **{step: None})
        return Outcome([_question(dialog, programmes)])
    if step.startswith("class_") and value.startswith("g:") and value[2:] in CLASS_CHOICES:
        dialogs.advance(dialog, _NEXT[step], now, **{step: CLASS_CHOICES[value[2:]]})
        return Outcome([_question(dialog, programmes)])
    if step == "confirm" and value == "cancel":
        await dialogs.finish(session, dialog.chat_id)
        return Outcome([Reply("common.cancelled")], finished=True)
    if step == "confirm" and value == "save":
        exchange = await exchanges.create_exchange(
            session,
            to_input(dialog.data),
            programmes[dialog.data["programme"]],
            created_by=created_by,
            now=now,
        )
        await dialogs.finish(session, dialog.chat_id)
        return Outcome([], created=exchange, finished=True)
    return Outcome([Reply("common.button_expired")])


def to_input(data: Mapping[str, Any]) -> ExchangeInput:
    return ExchangeInput(
        programme_key=data["programme"],
        city=data["city"],
        region=data.get("region"),
        start_date=date.fromisoformat(data["start"]),
        sides=[
            SideInput(
                school=data[f"school_{s}"],
                address=data.get(f"address_{s}"),
                class_name=data[f"class_{s}"],
                class_size=int(data[f"size_{s}"]),
            )
            for s in ("a", "b")
        ],
    )
