"""The conversation rows: one per chat, kept in the database so a restart loses no answer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dialogs import data
from bot.dialogs.data import DialogData
from bot.domain.numbers import MAX_ID, read_id, read_int
from db.models import STATUS_ARCHIVED, CheckIn, Dialog, Exchange, Incident
from db.session import rowcount

# A conversation left alone this long is forgotten rather than resumed out of the blue.
DIALOG_TTL = timedelta(hours=24)

# How long each kind of conversation lasts when it differs from DIALOG_TTL (an incident
# report half typed an hour ago is stale). Computed from the settings and passed in
# (`AppContext.dialog_ttls`), never kept in a module.
Lifetimes = Mapping[str, timedelta]

# What `lookup` reports when it ended a conversation because its exchange was archived.
ARCHIVED = "archived"


def lifetime(ttls: Lifetimes, kind: str) -> timedelta:
    return ttls.get(kind, DIALOG_TTL)


async def _found(
    session: AsyncSession, chat_id: int, *, now: datetime, ttls: Lifetimes, lock: bool
) -> tuple[Dialog | None, str | None]:
    """The chat's conversation row and, when it has ended, why: its kind when it lapsed,
    ARCHIVED when its exchange was archived."""
    dialog = await session.get(Dialog, chat_id, with_for_update=lock)
    if dialog is None:
        return None, None
    if now - dialog.updated_at > lifetime(ttls, dialog.kind):
        return dialog, dialog.kind
    if await _about_archived_exchange(session, dialog):
        # An archived exchange is read-only: its open questions and keypads end here.
        return dialog, ARCHIVED
    return dialog, None


async def lookup(
    session: AsyncSession,
    chat_id: int,
    *,
    now: datetime,
    ttls: Lifetimes,
    lock: bool = False,
) -> tuple[Dialog | None, str | None]:
    """The chat's conversation, or (None, kind) when one of that kind just lapsed.

    An ended conversation is deleted, so this needs a write transaction; `peek` does not.
    """
    dialog, ended = await _found(session, chat_id, now=now, ttls=ttls, lock=lock)
    if dialog is not None and ended is not None:
        await session.delete(dialog)
        await session.flush()
        return None, ended
    return dialog, None


async def peek(
    session: AsyncSession, chat_id: int, *, now: datetime, ttls: Lifetimes
) -> tuple[Dialog | None, str | None]:
    """What `lookup` would answer, changing nothing (for a read transaction): an ended
    conversation is reported, and left for `lookup` in a write to delete."""
    dialog, ended = await _found(session, chat_id, now=now, ttls=ttls, lock=False)
    return (None, ended) if ended is not None else (dialog, None)


async def exists(session: AsyncSession, chat_id: int) -> bool:
    """Whether the chat has a conversation row at all (ended or not)."""
    found = await session.scalar(select(Dialog.chat_id).where(Dialog.chat_id == chat_id))
    return found is not None


async def _about_archived_exchange(session: AsyncSession, dialog: Dialog) -> bool:
    """Whether the conversation is about an archived exchange (directly, or through an incident
    or a check-in of it). Read without locks: the exchange's own lock is taken by the write."""
    about = data.refs(dialog)
    exchange_id = about.get("exchange")
    incident_id = about.get("incident")
    checkin_id = about.get("checkin")
    if exchange_id is None and isinstance(incident_id, int):
        exchange_id = await session.scalar(
            select(Incident.exchange_id).where(Incident.id == incident_id)
        )
    if exchange_id is None and isinstance(checkin_id, int):
        exchange_id = await session.scalar(
            select(CheckIn.exchange_id).where(CheckIn.id == checkin_id)
        )
    if not isinstance(exchange_id, int):
        return False
    status = await session.scalar(select(Exchange.status).where(Exchange.id == exchange_id))
    return status == STATUS_ARCHIVED


async def current(
    session: AsyncSession,
    chat_id: int,
    *,
    now: datetime,
    ttls: Lifetimes,
    lock: bool = False,
) -> Dialog | None:
    return (await lookup(session, chat_id, now=now, ttls=ttls, lock=lock))[0]


async def start(
    session: AsyncSession,
    *,
    chat_id: int,
    user_id: int,
    kind: str,
    step: str,
    data: DialogData,
    now: datetime,
) -> Dialog:
    """Begin a conversation, replacing whatever this chat had going."""
    await session.execute(delete(Dialog).where(Dialog.chat_id == chat_id))
    dialog = Dialog(
        chat_id=chat_id,
        user_id=user_id,
        kind=kind,
        step=step,
        data=dict(data),
        version=1,
        updated_at=now,
    )
    session.add(dialog)
    await session.flush()
    return dialog


def _merged(dialog: Dialog, changes: DialogData | None) -> None:
    # A new dict, so SQLAlchemy sees the JSON column change.
    merged = dict(dialog.data or {})
    if changes:
        merged.update(changes)
    dialog.data = merged


def remember(dialog: Dialog, now: datetime, changes: DialogData | None = None) -> None:
    """Store answers without moving on (the buttons of the question stay valid)."""
    _merged(dialog, changes)
    dialog.updated_at = now


def advance(dialog: Dialog, step: str, now: datetime, changes: DialogData | None = None) -> None:
    """Move to `step`, storing the answers given so far."""
    _merged(dialog, changes)
    dialog.step = step
    dialog.version += 1
    dialog.updated_at = now


async def finish(session: AsyncSession, chat_id: int) -> bool:
    """End the chat's conversation; True if there was one."""
    result = await session.execute(delete(Dialog).where(Dialog.chat_id == chat_id))
    return bool(rowcount(result))


def button_data(prefix: str, dialog: Dialog, value: str) -> str:
    """Callback data for a button of the dialog's current question."""
    return f"{prefix}:{dialog.version}:{value}"


def parse_button(raw: str, prefix: str) -> tuple[int, str] | None:
    """'<prefix>:<version>:<value>' → (version, value), or None when malformed."""
    parts = raw.split(":", 2)
    version = read_id(parts[1]) if len(parts) == 3 and parts[0] == prefix else None
    if version is None:
        return None
    return version, parts[2]


def chosen(dialog: Dialog, value: str) -> int | None:
    """The id picked with an 'x:<id>' button, if it is one of the dialog's offered choices."""
    raw = value.removeprefix("x:")
    picked = read_id(raw) if raw != value else None
    if picked is None:
        return None
    offered = {choice[0] for choice in data.choosing(dialog).get("choices", [])}
    return picked if picked in offered else None


# Marks a 'Meer…' button of a paged list: '<prefix>+<offset>' (or 'x:+<offset>' in a dialog).
MORE = "+"


def page_of(value: str) -> int | None:
    """The offset a 'Meer…' button asks for ('+10'), or None when it is not one."""
    if not value.startswith(MORE):
        return None
    return read_int(value[len(MORE) :], lo=0, hi=MAX_ID)
