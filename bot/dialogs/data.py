"""What each kind of conversation keeps between its steps (`Dialog.data`), typed.

The row stores a JSON object; each kind reads it through its TypedDict here, so mypy
checks every key a step reads or writes. Every key is optional: a conversation gathers
them step by step, and a row written by an older version of the bot still loads.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

from db.models import Dialog


class Choosing(TypedDict, total=False):
    """A conversation that first asks to pick one of a list (`engine.start_dialog`)."""

    choices: list[list[Any]]  # [id, label], newest first
    page: int  # the offset of the page of choices shown


class CountData(Choosing, total=False):
    """/aanwezig: the pupils counted per school."""

    exchange: int
    moment: str
    side: str  # "A" or "B", the school being counted
    entry: str  # the digits typed on the keypad so far
    drops: list[int]  # headcounts lower than before, asked about once both are counted


class BothCountData(TypedDict, total=False):
    """`/aanwezig 24 22`: both schools' counts, stored once the moment is tapped."""

    exchange: int
    day: str  # ISO date of the exchange day counted
    counts: list[int]  # school A, school B


class ReportData(Choosing, total=False):
    """/incident: a guided report."""

    exchange: int
    category: str
    severity: str
    team: int | None
    description: str
    photo: str | None  # Telegram's file id


class CheckoutData(Choosing, total=False):
    """/checkout: the evaluation of the day (the choices are check-ins)."""

    checkin: int
    rating: int
    tension: bool
    tension_note: str


class DateData(Choosing, total=False):
    """/datum: a proposed date for a phase."""

    exchange: int
    phase: str
    day: str  # ISO date


class NoteData(TypedDict, total=False):
    """After a missing-pupil alarm: every typed text goes to the alarm."""

    incident: int


class ResolutionData(TypedDict, total=False):
    """The note with which an incident is solved ("resolve") or closed ("close")."""

    incident: int
    action: str


class NewExchangeData(TypedDict, total=False):
    """/nieuw: a coordinator's answers, until the exchange is saved."""

    programme: str
    cities: list[str]
    city: str
    region: str | None
    school_a: str
    address_a: str | None
    class_a: str
    size_a: int
    school_b: str
    address_b: str | None
    class_b: str
    size_b: int
    start: str  # ISO date, a Monday
    region_asked: bool  # the region was asked (a city without earlier exchanges)
    known_a: bool  # the address of school A was taken from a school already known
    known_b: bool
    editing: str | None  # the field being changed from the summary ("Wijzig…")


class SchoolData(TypedDict, total=False):
    """/school: the address (of `side`) or the phone number being typed."""

    exchange: int  # the exchange whose /school view it came from, if any
    side: str  # "A" or "B": whose address


class EditExchangeData(Choosing, total=False):
    """/wijzig: the exchange being changed, and a school offered for one of its sides."""

    exchange: int
    school: int  # an existing school with the name typed (to take it, or not)


class BroadcastData(Choosing, total=False):
    """/bericht: the message being composed, its audience and when it goes."""

    draft: str  # a token for this composition: the confirmation key of what it sends
    text: str
    media_kind: str | None  # "photo" or "document"
    media_file_id: str | None
    media_filename: str | None
    audience: str  # services.broadcasts.AUDIENCE_KINDS
    value: str | int | None  # the city, phase key or exchange id the audience names
    mine: bool  # only the coordinator's own pairs
    preset: bool  # the audience came with the start (one pair), not asked
    options: list[str]  # the cities or phase keys offered as choices, by choice number - 1
    read: bool  # with a "Gelezen" button
    send_at: str | None  # ISO, UTC; None: now
    editing: bool  # changing one answer from the preview: back to the preview after it


class Refs(TypedDict, total=False):
    """What any conversation may be about (to end it when its exchange is archived)."""

    exchange: int
    incident: int
    checkin: int


# What a step may store: a dict literal passed as one of these is checked against them.
DialogData = (
    Choosing
    | CountData
    | BothCountData
    | ReportData
    | CheckoutData
    | DateData
    | NoteData
    | ResolutionData
    | NewExchangeData
    | SchoolData
    | EditExchangeData
    | BroadcastData
)


def choosing(dialog: Dialog) -> Choosing:
    return cast(Choosing, dialog.data)


def count(dialog: Dialog) -> CountData:
    return cast(CountData, dialog.data)


def both_counts(dialog: Dialog) -> BothCountData:
    return cast(BothCountData, dialog.data)


def report(dialog: Dialog) -> ReportData:
    return cast(ReportData, dialog.data)


def checkout(dialog: Dialog) -> CheckoutData:
    return cast(CheckoutData, dialog.data)


def date(dialog: Dialog) -> DateData:
    return cast(DateData, dialog.data)


def note(dialog: Dialog) -> NoteData:
    return cast(NoteData, dialog.data)


def resolution(dialog: Dialog) -> ResolutionData:
    return cast(ResolutionData, dialog.data)


def new_exchange(dialog: Dialog) -> NewExchangeData:
    return cast(NewExchangeData, dialog.data)


def edit_exchange(dialog: Dialog) -> EditExchangeData:
    return cast(EditExchangeData, dialog.data)


def school_edit(dialog: Dialog) -> SchoolData:
    return cast(SchoolData, dialog.data)


def broadcast(dialog: Dialog) -> BroadcastData:
    return cast(BroadcastData, dialog.data)


def refs(dialog: Dialog) -> Refs:
    return cast(Refs, dialog.data or {})


def school(answers: NewExchangeData, side: str) -> str:
    """The school of side "a" or "b" in the /nieuw answers."""
    return answers["school_a"] if side == "a" else answers["school_b"]
