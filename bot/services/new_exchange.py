"""The /nieuw conversation: a coordinator creates an exchange step by step.

Every answer is validated before the conversation moves on; nothing is stored as an exchange
until the coordinator confirms the summary, so cancelling at any step leaves nothing behind.
The questions are asked by `bot/handlers/new_exchange.py`; this module checks and stores the
answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dialogs import data, store
from bot.dialogs.data import NewExchangeData
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
from bot.domain.programme import Programme
from bot.domain.timeline import programme_start
from bot.services import audit, exchanges
from db.models import Dialog, Exchange

KIND = "new_exchange"

# The steps in order, after the programme, the city and its region.
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

# Steps answered only with a button.
BUTTON_STEPS = ("programme", "region", "confirm", "edit")

# What the summary's "Wijzig…" offers, in the order of the summary ("region" only when it
# was asked, "programme" only when there is a choice).
FIELDS = (
    "programme",
    "city",
    "school_a",
    "address_a",
    "school_b",
    "address_b",
    "class_a",
    "class_b",
    "size_a",
    "size_b",
    "start",
    "region",
)


class NotOffered(Exception):
    """The choice is not one the current question offers (an old or forged button)."""


def side_of(step: str) -> str:
    """ "a" or "b": the school a per-school step ('size_b') is about."""
    return step[-1]


def _school(side: str, name: str) -> NewExchangeData:
    return {"school_a": name} if side == "a" else {"school_b": name}


def _address(side: str, address: str | None) -> NewExchangeData:
    return {"address_a": address} if side == "a" else {"address_b": address}


def _class(side: str, name: str) -> NewExchangeData:
    return {"class_a": name} if side == "a" else {"class_b": name}


def _size(side: str, size: int) -> NewExchangeData:
    return {"size_a": size} if side == "a" else {"size_b": size}


def _known(side: str, known: bool) -> NewExchangeData:
    """Whether the side's address was taken from a school already known."""
    return {"known_a": known} if side == "a" else {"known_b": known}


def _expect(dialog: Dialog, *steps: str) -> None:
    if dialog.step not in steps:
        raise NotOffered(dialog.step)


def editing(dialog: Dialog) -> str | None:
    """The field picked under "Wijzig…" while it is being answered again, else None."""
    return data.new_exchange(dialog).get("editing")


def _advance(
    dialog: Dialog,
    step: str,
    now: datetime,
    changes: NewExchangeData | None = None,
    *,
    within_edit: bool = False,
) -> None:
    """Move on to `step`; while a field is being changed, back to the summary instead.

    `within_edit` marks a step that belongs to the same change (the region of a new city, the
    address of a new school), which is still asked before the summary.
    """
    if editing(dialog) is not None and not within_edit:
        step = "confirm"
    if step == "confirm":
        done: NewExchangeData = {"editing": None}
        done.update(changes or {})
        changes = done
    store.advance(dialog, step, now, changes)


def fields(answers: NewExchangeData, programmes: Mapping[str, Programme]) -> list[str]:
    """The fields the summary's "Wijzig…" offers."""
    return [
        f
        for f in FIELDS
        if (f != "programme" or len(programmes) > 1)
        and (f != "region" or answers.get("region_asked"))
    ]


def edit(dialog: Dialog, now: datetime) -> None:
    """ "Wijzig…" under the summary: the list of fields to change."""
    _expect(dialog, "confirm")
    store.advance(dialog, "edit", now)


def edit_field(
    dialog: Dialog, field: str, programmes: Mapping[str, Programme], now: datetime
) -> None:
    """Ask one field's question again; its answer leads back to the summary."""
    _expect(dialog, "edit")
    answers = data.new_exchange(dialog)
    if field not in fields(answers, programmes):
        raise NotOffered(field)
    # Without known cities to offer, the city is typed straight away (as the first time).
    step = "city_new" if field == "city" and not answers.get("cities") else field
    store.advance(dialog, step, now, {"editing": field})


def back_to_summary(dialog: Dialog, now: datetime) -> None:
    """Leave the list of fields, or the question of the field picked, without a change."""
    if dialog.step != "edit" and not keeps(dialog):
        raise NotOffered(dialog.step)
    store.advance(dialog, "confirm", now, {"editing": None})


def keeps(dialog: Dialog) -> bool:
    """Whether the current question may be left unanswered ("Niet wijzigen"): the field picked
    under "Wijzig…", but not a question a change brought along (the region of a new city)."""
    field = editing(dialog)
    return field is not None and (
        dialog.step == field or (field == "city" and dialog.step == "city_new")
    )


async def begin(
    session: AsyncSession,
    *,
    chat_id: int,
    user_id: int,
    programmes: Mapping[str, Programme],
    now: datetime,
) -> Dialog:
    """Start the conversation; with one programme there is nothing to choose."""
    dialog = await store.start(
        session, chat_id=chat_id, user_id=user_id, kind=KIND, step="programme", data={}, now=now
    )
    if len(programmes) == 1:
        await choose_programme(session, dialog, next(iter(programmes)), programmes, now)
    return dialog


async def choose_programme(
    session: AsyncSession,
    dialog: Dialog,
    key: str,
    programmes: Mapping[str, Programme],
    now: datetime,
) -> None:
    _expect(dialog, "programme")
    if key not in programmes:
        raise NotOffered(key)
    if editing(dialog) is not None:
        # Another programme changes the dates in the summary, nothing else.
        _advance(dialog, "confirm", now, {"programme": key})
        return
    cities = await exchanges.known_cities(session)
    step = "city" if cities else "city_new"
    store.advance(dialog, step, now, {"programme": key, "cities": cities})


async def _set_city(session: AsyncSession, dialog: Dialog, city: str, now: datetime) -> None:
    """Store the city; its school-holiday region is asked only the first time.

    When the city is changed from the summary, the schools are looked up again in the new
    city: a known school there lends its spelling and address, and an address taken from a
    school of the old city is dropped (it belongs to another school).
    """
    region = await exchanges.region_of_city(session, city)
    changes: NewExchangeData = {"city": city}
    if editing(dialog) is not None:
        changes.update(await _schools_in(session, data.new_exchange(dialog), city))
    if region is None:
        _advance(dialog, "region", now, changes, within_edit=True)
    else:
        changes.update({"region": region, "region_asked": False})
        _advance(dialog, "school_a", now, changes)


async def _schools_in(
    session: AsyncSession, answers: NewExchangeData, city: str
) -> NewExchangeData:
    """Both schools of the answers as known in `city` (for a city changed afterwards)."""
    changes: NewExchangeData = {}
    for side in ("a", "b"):
        name = data.school(answers, side)
        known = await exchanges.find_school(session, city, name)
        if known is not None and known.address:
            changes.update(_school(side, known.name))
            changes.update(_address(side, known.address))
            changes.update(_known(side, True))
        else:
            if known is not None:
                changes.update(_school(side, known.name))
            if answers.get(f"known_{side}"):
                changes.update(_address(side, None))
                changes.update(_known(side, False))
    return changes


async def choose_city(session: AsyncSession, dialog: Dialog, index: int, now: datetime) -> None:
    """One of the cities offered (by its place in the list)."""
    _expect(dialog, "city")
    cities = data.new_exchange(dialog).get("cities", [])
    if not 0 <= index < len(cities):
        raise NotOffered(index)
    await _set_city(session, dialog, cities[index], now)


def other_city(dialog: Dialog, now: datetime) -> None:
    """A city not offered: it is typed next."""
    _expect(dialog, "city")
    _advance(dialog, "city_new", now, within_edit=True)


def choose_region(dialog: Dialog, region: str, now: datetime) -> None:
    _expect(dialog, "region")
    if region not in REGIONS:
        raise NotOffered(region)
    _advance(dialog, "school_a", now, {"region": region, "region_asked": True})


def skip_address(dialog: Dialog, now: datetime) -> None:
    _expect(dialog, "address_a", "address_b")
    side = side_of(dialog.step)
    changes = _address(side, None)
    changes.update(_known(side, False))
    _advance(dialog, _NEXT[dialog.step], now, changes)


def choose_class(dialog: Dialog, key: str, now: datetime) -> None:
    _expect(dialog, "class_a", "class_b")
    if key not in CLASS_CHOICES:
        raise NotOffered(key)
    step = dialog.step
    _advance(dialog, _NEXT[step], now, _class(side_of(step), CLASS_CHOICES[key]))


async def _set_school(session: AsyncSession, dialog: Dialog, text: str, now: datetime) -> None:
    """Store the school; known schools keep their address, so that question is skipped.

    A school changed from the summary keeps the address typed for it, unless that address
    came from the school it replaces: then the new school's address is asked.
    """
    side = side_of(dialog.step)
    answers = data.new_exchange(dialog)
    name = clean_school(text)
    other = answers.get("school_b") if side == "a" else answers.get("school_a")
    if other and same_school(name, other):
        raise InputError(
            "new_exchange.same_school" if side == "b" else "new_exchange.same_school_a"
        )
    known = await exchanges.find_school(session, answers["city"], name)
    changes = _school(side, known.name if known else name)
    address_step = _NEXT[dialog.step]
    if known is not None and known.address:
        changes.update(_address(side, known.address))
        changes.update(_known(side, True))
        _advance(dialog, _NEXT[address_step], now, changes)
    elif editing(dialog) is not None and not answers.get(f"known_{side}"):
        _advance(dialog, "confirm", now, changes)
    else:
        changes.update(_known(side, False))
        _advance(dialog, address_step, now, changes, within_edit=True)


async def answer(
    session: AsyncSession, dialog: Dialog, text: str, *, now: datetime, tz: tzinfo
) -> bool:
    """A typed answer to the current question, checked and stored.

    False when the question wants a button; raises InputError for a bad answer (nothing is
    stored then).
    """
    step = dialog.step
    if step in BUTTON_STEPS:
        return False
    if step in ("city", "city_new"):
        await _set_city(session, dialog, clean_city(text), now)
    elif step.startswith("school_"):
        await _set_school(session, dialog, text, now)
    elif step.startswith("address_"):
        changes = _address(side_of(step), clean_address(text))
        changes.update(_known(side_of(step), False))
        _advance(dialog, _NEXT[step], now, changes)
    elif step.startswith("class_"):
        _advance(dialog, _NEXT[step], now, _class(side_of(step), clean_class_name(text)))
    elif step.startswith("size_"):
        _advance(dialog, _NEXT[step], now, _size(side_of(step), clean_class_size(text)))
    elif step == "start":
        today = now.astimezone(tz).date()
        try:
            typed = parse_date(text, today)
        except DateParseError as exc:
            raise InputError(f"input.date_{exc.reason}") from exc
        check_start_date(typed, today)
        _advance(dialog, "confirm", now, {"start": programme_start(typed).isoformat()})
    else:
        raise ValueError(f"unknown step {step}")
    return True


async def save(
    session: AsyncSession,
    dialog: Dialog,
    *,
    programmes: Mapping[str, Programme],
    created_by: int,
    now: datetime,
) -> Exchange:
    """Create the exchange from the confirmed answers; the conversation ends."""
    _expect(dialog, "confirm")
    answers = data.new_exchange(dialog)
    exchange = await exchanges.create_exchange(
        session,
        to_input(answers),
        programmes[answers["programme"]],
        created_by=created_by,
        now=now,
    )
    audit.record(
        session,
        exchange_id=exchange.id,
        user_id=created_by,
        action=audit.EXCHANGE_CREATED,
        now=now,
        details={"programme": exchange.programme_key, "start": exchange.start_date.isoformat()},
    )
    await store.finish(session, dialog.chat_id)
    return exchange


async def cancel(session: AsyncSession, dialog: Dialog) -> None:
    """Stop at the summary: nothing is saved."""
    _expect(dialog, "confirm")
    await store.finish(session, dialog.chat_id)


def to_input(answers: NewExchangeData) -> ExchangeInput:
    return ExchangeInput(
        programme_key=answers["programme"],
        city=answers["city"],
        region=answers.get("region"),
        start_date=date.fromisoformat(answers["start"]),
        sides=[
            SideInput(
                school=answers["school_a"],
                address=answers.get("address_a"),
                class_name=answers["class_a"],
                class_size=int(answers["size_a"]),
            ),
            SideInput(
                school=answers["school_b"],
                address=answers.get("address_b"),
                class_name=answers["class_b"],
                class_size=int(answers["size_b"]),
            ),
        ],
    )
