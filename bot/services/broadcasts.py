"""Broadcasts: a coordinator's message to many people, delivered through the outbox.

A confirmed broadcast is a `Broadcast` row and one outbox row per recipient (kind
"broadcast"), so the dispatcher sends it at Telegram's limits like any other push and a
restart loses nothing. Once every row is settled the coordinator gets one delivery report
(kind "broadcast_report"). Recipients may press "Gelezen"; each press is stored once.

Also here: what `/berichten` lists as not delivered, per pair and per person, and putting a
failed row back in the queue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    cast,
    distinct,
    exists,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.dates import DateParseError, parse_date, parse_time
from bot.domain.exchange_input import InputError
from bot.domain.outbox import (
    BROADCAST,
    BROADCAST_REPORT,
    UNDELIVERED_VALIDITY,
    BroadcastPayload,
    check_payload,
    read_payload,
)
from bot.domain.permissions import Action
from bot.domain.programme import Programme, Text
from bot.domain.timeline import PlannedPhase, current_phase
from bot.services import auth, outbox
from bot.services.exchanges import active_ids, label
from bot.services.outbox import (
    DEFAULT_VALIDITY,
    Claimed,
    enqueue,
    why_not_delivered,
)
from db.models import (
    OUTBOX_BLOCKED,
    OUTBOX_CANCELLED,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OUTBOX_SKIPPED,
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    STATUS_ACTIVE,
    Broadcast,
    BroadcastRead,
    Exchange,
    ExchangePhase,
    ExchangeSide,
    Membership,
    OutboxMessage,
    School,
    User,
)

# Whom a broadcast can go to.
ALL = "all"
TEACHERS = "teachers"
BEGELEIDERS = "begeleiders"
CITY = "city"
PHASE = "phase"
EXCHANGE = "exchange"
AUDIENCE_KINDS = (ALL, TEACHERS, BEGELEIDERS, CITY, PHASE, EXCHANGE)
# A broadcast still goes out this long after its time (a weekend and quiet hours in between).
BROADCAST_VALIDITY = timedelta(days=4)
# Further ahead than this is more likely a typo than a plan.
LONGEST_AHEAD = timedelta(days=90)
MEDIA_KINDS = ("photo", "document")
# Broadcast.status
SCHEDULED, SENDING, DONE = "scheduled", "sending", "done"
# Rows that are still to be settled; every other status is final.
UNSETTLED = (OUTBOX_PENDING, OUTBOX_SENDING)
IMAGE_TYPES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".heif", ".bmp")


@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to: a kind, its value (city, phase key, exchange id), and whether
    only the coordinator's own pairs (`mine`) or every active pair."""

    kind: str
    value: str | int | None = None
    mine: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "mine": self.mine}

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> Audience:
        return cls(str(stored.get("kind", ALL)), stored.get("value"), bool(stored.get("mine")))


@dataclass(frozen=True)
class Recipient:
    user_id: int
    exchange_id: int | None  # the pair through which they are reached


@dataclass(frozen=True)
class Draft:
    """What the coordinator composed."""

    text: str
    media_kind: str | None = None  # "photo" or "document"
    media_file_id: str | None = None
    media_filename: str | None = None


# -- who runs which pairs, and who is in them ----------------------------------------------


async def _phases_now(
    session: AsyncSession, exchange_ids: Select[int], today: date
) -> list[tuple[int, str, str | None]]:
    """(exchange id, programme key, the key of the phase it is in today) of each exchange with
    phases, by id; from its phases as plain rows."""
    # Plain rows need nothing of the ORM.
    rows = await (await session.connection()).execute(
        select(
            ExchangePhase.exchange_id,
            Exchange.programme_key,
            ExchangePhase.phase_key,
            ExchangePhase.starts_on,
            ExchangePhase.ends_on,
            ExchangePhase.start_time,
            ExchangePhase.host,
        )
        .join(Exchange, Exchange.id == ExchangePhase.exchange_id)
        .where(ExchangePhase.exchange_id.in_(exchange_ids))
        .order_by(ExchangePhase.exchange_id, ExchangePhase.starts_on, ExchangePhase.id)
    )
    planned: dict[tuple[int, str], list[PlannedPhase]] = {}
    for exchange_id, programme_key, key, starts_on, ends_on, start_time, host in rows:
        planned.setdefault((exchange_id, programme_key), []).append(
            PlannedPhase(key, "", starts_on, ends_on, start_time, host)
        )
    out = []
    for (exchange_id, programme_key), phases in planned.items():
        found = current_phase(phases, today)
        out.append((exchange_id, programme_key, found.key if found is not None else None))
    return out


async def cities(session: AsyncSession, coordinator: User, *, mine: bool) -> list[str]:
    """The cities of the pairs a broadcast may reach, each once, alphabetically."""
    found = await session.scalars(
        select(Exchange.city).where(Exchange.id.in_(active_ids(coordinator, mine=mine))).distinct()
    )
    return sorted(set(found), key=str.casefold)


async def phases(
    session: AsyncSession,
    coordinator: User,
    *,
    mine: bool,
    today: date,
    programmes: Mapping[str, Programme],
) -> list[tuple[str, Text]]:
    """The phases some of the pairs a broadcast may reach are in today, in programme order,
    with their names."""
    found: dict[str, tuple[int, Text]] = {}
    for _, programme_key, key in await _phases_now(
        session, active_ids(coordinator, mine=mine), today
    ):
        programme = programmes.get(programme_key)
        if key is None or programme is None or key in found:
            continue
        order = [p.key for p in programme.phases].index(key)
        found[key] = (order, programme.phase(key).name)
    return [(key, name) for key, (_, name) in sorted(found.items(), key=lambda kv: kv[1][0])]


async def labels(session: AsyncSession, coordinator: User, *, mine: bool) -> list[tuple[int, str]]:
    """(id, label) of each pair a broadcast may reach, newest first (services.exchanges.label:
    '#12 De Avonturijn – De Odyssee')."""
    # Plain rows need nothing of the ORM.
    rows = await (await session.connection()).execute(
        select(Exchange.id, School.name)
        .outerjoin(ExchangeSide, ExchangeSide.exchange_id == Exchange.id)
        .outerjoin(School, School.id == ExchangeSide.school_id)
        .where(Exchange.id.in_(active_ids(coordinator, mine=mine)))
        .order_by(Exchange.id.desc(), ExchangeSide.side)
    )
    names: dict[int, list[str]] = {}
    for exchange_id, name in rows:
        found = names.setdefault(exchange_id, [])
        if name is not None:
            found.append(name)
    return [(exchange_id, f"#{exchange_id} {' – '.join(n)}") for exchange_id, n in names.items()]


def _roles(audience: Audience) -> tuple[str, ...]:
    if audience.kind == TEACHERS:
        return (ROLE_TEACHER,)
    if audience.kind == BEGELEIDERS:
        return (ROLE_BEGELEIDER,)
    return (ROLE_TEACHER, ROLE_BEGELEIDER)


async def _audience_rows(
    session: AsyncSession, coordinator: User, audience: Audience, *, today: date
) -> tuple[Select[int], set[int] | None]:
    """The exchanges an audience reaches: a query of their ids, and for an audience by phase
    the ids of those in that phase today (None: every exchange of the query)."""
    # One exchange chosen by its button is reached whoever runs it.
    if audience.kind == EXCHANGE:
        return select(Exchange.id).where(
            Exchange.status == STATUS_ACTIVE, Exchange.id == audience.value
        ), None
    query = active_ids(coordinator, mine=audience.mine)
    if audience.kind == CITY:
        return query.where(Exchange.city == audience.value), None
    if audience.kind == PHASE:
        in_phase = {
            exchange_id
            for exchange_id, _, key in await _phases_now(session, query, today)
            if key == audience.value
        }
        return query, in_phase
    return query, None


def _people(audience: Audience, coordinator: User, reached: Select[int]) -> Select[int, int]:
    """The memberships of the reached exchanges that an audience names: people (no linked
    groups) still active, never the sender."""
    return (
        select(Membership.exchange_id, User.id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.exchange_id.in_(reached),
            Membership.role.in_(_roles(audience)),
            User.id != coordinator.id,
            User.is_group.is_(False),
            User.active.is_(True),
        )
    )


async def recipients(
    session: AsyncSession, coordinator: User, audience: Audience, *, today: date
) -> list[Recipient]:
    """Who would get a broadcast to `audience` now: every person the audience names, once
    (through the first of their pairs, by number), in order. Linked groups are not people and
    the sender does not message themselves; someone who blocked the bot stays in, so the
    report counts them."""
    reached, in_phase = await _audience_rows(session, coordinator, audience, today=today)
    return await _recipients(session, coordinator, audience, reached, in_phase)


async def _recipients(
    session: AsyncSession,
    coordinator: User,
    audience: Audience,
    reached: Select[int],
    in_phase: set[int] | None,
) -> list[Recipient]:
    # Plain rows need nothing of the ORM.
    rows = await (await session.connection()).execute(
        _people(audience, coordinator, reached).order_by(Membership.exchange_id, Membership.id)
    )
    seen: set[int] = set()
    found: list[Recipient] = []
    for exchange_id, user_id in rows:
        if user_id in seen or (in_phase is not None and exchange_id not in in_phase):
            continue
        seen.add(user_id)
        found.append(Recipient(user_id, exchange_id))
    return found


async def count_recipients(
    session: AsyncSession, coordinator: User, audience: Audience, *, today: date
) -> int:
    """How many people `recipients` gives, counted by the database."""
    reached, in_phase = await _audience_rows(session, coordinator, audience, today=today)
    return await _count(session, coordinator, audience, reached, in_phase)


async def _count(
    session: AsyncSession,
    coordinator: User,
    audience: Audience,
    reached: Select[int],
    in_phase: set[int] | None,
) -> int:
    if in_phase is not None:
        return len(await _recipients(session, coordinator, audience, reached, in_phase))
    people = _people(audience, coordinator, reached).subquery()
    found = await session.scalar(select(func.count(distinct(people.c.id))))
    return int(found or 0)


# -- what was typed --------------------------------------------------------------------------


def check_draft(draft: Draft) -> None:
    """InputError for a broadcast with nothing in it (no text and no file)."""
    if not draft.text.strip() and draft.media_file_id is None:
        raise InputError("broadcast.empty")


def check_media(kind: str, filename: str | None, mime_type: str | None) -> None:
    """InputError for a file that says it is a picture but is not one.

    A file named like a picture (foto.jpg) whose type is something else, or a picture type
    under another name, would reach everyone as a broken photo.
    """
    if kind != "document":
        return
    named_image = (filename or "").lower().endswith(IMAGE_TYPES)
    typed_image = (mime_type or "").lower().startswith("image/")
    if named_image and mime_type and not typed_image:
        raise InputError("broadcast.not_an_image", name=filename or "")


_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("maandag", "ma", "monday", "mon"),
            ("dinsdag", "di", "tuesday", "tue"),
            ("woensdag", "wo", "wednesday", "wed"),
            ("donderdag", "do", "thursday", "thu"),
            ("vrijdag", "vr", "friday", "fri"),
            ("zaterdag", "za", "saturday", "sat"),
            ("zondag", "zo", "sunday", "sun"),
        )
    )
    for name in names
}
_AT = re.compile(r"^(?:(?P<day>.+?)\s+)?(?:om\s+|at\s+)?(?P<time>[0-9][0-9:.]*\s*(?:u|uur|h)?)$")


def read_send_at(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """The moment typed ("morgen 08:00", "vr 9:00", "14-3 13:30", "15:00"), in UTC.

    A weekday is its next occurrence (today if the time is still to come); a time alone is
    today. InputError when it cannot be read, is past, or is more than LONGEST_AHEAD away.
    """
    cleaned = " ".join(text.lower().replace(",", " ").split())
    match = _AT.fullmatch(cleaned)
    if match is None:
        raise InputError("broadcast.when_unreadable")
    local_now = now.astimezone(tz)
    today = local_now.date()
    try:
        at = parse_time(match["time"])
        day_text = match["day"]
        if day_text is None:
            day = today
        elif day_text.rstrip(".") in _WEEKDAYS:
            ahead = (_WEEKDAYS[day_text.rstrip(".")] - today.weekday()) % 7
            day = today + timedelta(days=ahead)
            if ahead == 0 and at <= local_now.time():
                day += timedelta(days=7)
        else:
            day = parse_date(day_text, today)
    except DateParseError:
        raise InputError("broadcast.when_unreadable") from None
    moment = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
    if moment <= now:
        raise InputError("broadcast.when_past")
    if moment - now > LONGEST_AHEAD:
        raise InputError("broadcast.when_too_far", days=LONGEST_AHEAD.days)
    return moment


# -- confirming --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmed:
    broadcast: Broadcast
    recipients: int


@dataclass(frozen=True)
class AlreadySent:
    broadcast: Broadcast


@dataclass(frozen=True)
class Nobody:
    pass


async def sent_with(session: AsyncSession, confirm_key: str) -> Broadcast | None:
    """The broadcast a confirmation key was used for, if it was."""
    return await session.scalar(select(Broadcast).where(Broadcast.confirm_key == confirm_key))


async def confirm(
    session: AsyncSession,
    coordinator: User,
    draft: Draft,
    audience: Audience,
    *,
    read_button: bool,
    send_at: datetime | None,
    confirm_key: str,
    now: datetime,
    today: date,
) -> Confirmed | AlreadySent | Nobody:
    """Store the broadcast and one outbox row per recipient; nothing twice for one key."""
    await auth.require(session, coordinator, Action.BROADCAST)
    check_draft(draft)
    earlier = await sent_with(session, confirm_key)
    if earlier is not None:
        return AlreadySent(earlier)
    reached, in_phase = await _audience_rows(session, coordinator, audience, today=today)
    count = await _count(session, coordinator, audience, reached, in_phase)
    if not count:
        return Nobody()
    due = send_at if send_at is not None and send_at > now else now
    broadcast = Broadcast(
        created_by=coordinator.id,
        created_at=now,
        text=draft.text,
        media_kind=draft.media_kind,
        media_file_id=draft.media_file_id,
        media_filename=draft.media_filename,
        audience=audience.to_json(),
        read_button=read_button,
        send_at=due,
        status=SCHEDULED if due > now else SENDING,
        recipients=count,
        confirm_key=confirm_key,
    )
    session.add(broadcast)
    await session.flush()
    payload = BroadcastPayload(broadcast=broadcast.id)
    check_payload(BROADCAST, payload)
    # One statement that makes all rows in the database from the recipients' rows: a
    # broadcast to a city reaches thousands, and the values of each row need not pass
    # through here.
    first = _first_pairs(audience, coordinator, reached, in_phase)
    columns = OutboxMessage.__table__.c
    values: dict[str, object] = {
        "kind": BROADCAST,
        "payload": dict(payload),
        "urgent": False,
        "status": OUTBOX_PENDING,
        "due_at": due,
        "not_after": due + BROADCAST_VALIDITY,
        "next_attempt_at": due,
        "attempts": 0,
        "broadcast_id": broadcast.id,
        "created_at": now,
        "updated_at": now,
    }
    rows: dict[str, ColumnElement[Any]] = {
        "user_id": first.c.user_id,
        "exchange_id": first.c.exchange_id,
        "dedupe_key": literal(f"{BROADCAST}:{broadcast.id}:", String)
        + cast(first.c.user_id, String),
        **{name: literal(value, columns[name].type) for name, value in values.items()},
    }
    result = await session.execute(
        insert(OutboxMessage).from_select(
            list(rows),
            select(*(value.label(name) for name, value in rows.items())).order_by(
                first.c.exchange_id, first.c.membership_id
            ),
        )
    )
    made = max(int(getattr(result, "rowcount", 0) or 0), 0)
    if made != count:
        # Someone joined or left between the count and the rows.
        broadcast.recipients = made
    return Confirmed(broadcast, broadcast.recipients)


def _first_pairs(
    audience: Audience, coordinator: User, reached: Select[int], in_phase: set[int] | None
) -> Subquery:
    """Each recipient once, through the first of their pairs (by number, then membership):
    the columns user_id, exchange_id and membership_id, as `recipients` orders them."""
    people = _people(audience, coordinator, reached)
    if in_phase is not None:
        people = people.where(Membership.exchange_id.in_(sorted(in_phase)))
    ranked = people.add_columns(
        Membership.id.label("membership_id"),
        func.row_number()
        .over(partition_by=User.id, order_by=(Membership.exchange_id, Membership.id))
        .label("place"),
    ).subquery()
    return (
        select(
            ranked.c.id.label("user_id"),
            ranked.c.exchange_id,
            ranked.c.membership_id,
        )
        .where(ranked.c.place == 1)
        .subquery()
    )


# -- delivering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastMessage:
    """What a recipient gets: the text, the file, who sent it, maybe a "Gelezen" button."""

    broadcast: Broadcast
    sender: str


@dataclass(frozen=True)
class Counts:
    recipients: int = 0
    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    not_sent: int = 0  # too late, cancelled
    waiting: int = 0
    read: int = 0

    @classmethod
    def of(cls, broadcast: Broadcast, by_status: Mapping[str, int], read: int) -> Counts:
        return cls(
            recipients=broadcast.recipients,
            delivered=by_status.get(OUTBOX_SENT, 0),
            blocked=by_status.get(OUTBOX_BLOCKED, 0),
            failed=by_status.get(OUTBOX_FAILED, 0),
            not_sent=by_status.get(OUTBOX_SKIPPED, 0) + by_status.get(OUTBOX_CANCELLED, 0),
            waiting=by_status.get(OUTBOX_PENDING, 0) + by_status.get(OUTBOX_SENDING, 0),
            read=read,
        )


@dataclass(frozen=True)
class Missed:
    """One recipient the broadcast did not reach, and why (services.outbox.why_not_delivered)."""

    name: str
    exchange: str | None
    reason: str


@dataclass(frozen=True)
class BroadcastReport:
    """To the coordinator, once every row is settled."""

    broadcast: Broadcast
    counts: Counts
    missed: tuple[Missed, ...] = field(default_factory=tuple)


async def _counts(session: AsyncSession, broadcast_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {b: {} for b in broadcast_ids}
    if not broadcast_ids:
        return found
    rows = await session.execute(
        select(OutboxMessage.broadcast_id, OutboxMessage.status, func.count())
        .where(OutboxMessage.broadcast_id.in_(broadcast_ids), OutboxMessage.kind == BROADCAST)
        .group_by(OutboxMessage.broadcast_id, OutboxMessage.status)
    )
    for broadcast_id, status, n in rows:
        if broadcast_id is not None:
            found[broadcast_id][status] = int(n)
    return found


async def _reads(session: AsyncSession, broadcast_ids: Sequence[int]) -> dict[int, int]:
    if not broadcast_ids:
        return {}
    rows = await session.execute(
        select(BroadcastRead.broadcast_id, func.count())
        .where(BroadcastRead.broadcast_id.in_(broadcast_ids))
        .group_by(BroadcastRead.broadcast_id)
    )
    return {broadcast_id: int(n) for broadcast_id, n in rows}


async def _missed(session: AsyncSession, broadcast_id: int) -> tuple[Missed, ...]:
    rows = list(
        await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.kind == BROADCAST,
                OutboxMessage.status.in_(
                    (OUTBOX_FAILED, OUTBOX_BLOCKED, OUTBOX_SKIPPED, OUTBOX_CANCELLED)
                ),
            )
            .order_by(OutboxMessage.id)
        )
    )
    names, labels = await outbox.names_and_labels(session, rows)
    return tuple(
        Missed(
            names.get(row.user_id, "?"),
            labels.get(row.exchange_id) if row.exchange_id is not None else None,
            "cancelled" if row.status == OUTBOX_CANCELLED else why_not_delivered(row),
        )
        for row in rows
    )


async def content(session: AsyncSession, row: Claimed) -> BroadcastMessage | BroadcastReport | str:
    """What a broadcast row or a report row is written from; a str: why it is skipped."""
    broadcast_id = read_payload(BroadcastPayload, row.payload)["broadcast"]
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return "broadcast gone"
    if row.kind == BROADCAST_REPORT:
        counts = (await _counts(session, [broadcast.id]))[broadcast.id]
        reads = (await _reads(session, [broadcast.id])).get(broadcast.id, 0)
        return BroadcastReport(
            broadcast, Counts.of(broadcast, counts, reads), await _missed(session, broadcast.id)
        )
    if broadcast.status == "cancelled":
        return "broadcast cancelled"
    sender = (
        await session.scalar(select(User.display_name).where(User.id == broadcast.created_by))
        if broadcast.created_by is not None
        else None
    )
    return BroadcastMessage(broadcast, sender or "")


async def unreported(session: AsyncSession) -> bool:
    """Whether some broadcast still waits for its delivery report."""
    found = await session.scalar(
        select(Broadcast.id)
        .where(Broadcast.reported_at.is_(None), Broadcast.status != "cancelled")
        .limit(1)
    )
    return found is not None


async def report_finished(session: AsyncSession, *, now: datetime) -> int:
    """Queue the delivery report of every broadcast whose rows are all settled; how many.

    Each report is queued once: `reported_at` is set in the same transaction, and its dedupe
    key is the broadcast's.
    """
    unsettled = exists().where(
        and_(
            OutboxMessage.broadcast_id == Broadcast.id,
            OutboxMessage.kind == BROADCAST,
            OutboxMessage.status.in_(UNSETTLED),
        )
    )
    finished = list(
        await session.scalars(
            select(Broadcast)
            .where(
                Broadcast.reported_at.is_(None),
                Broadcast.status != "cancelled",
                Broadcast.send_at <= now,
                ~unsettled,
            )
            .with_for_update(skip_locked=True)
        )
    )
    for broadcast in finished:
        broadcast.reported_at = now
        broadcast.status = DONE
        if broadcast.created_by is None:
            continue
        await enqueue(
            session,
            user_id=broadcast.created_by,
            exchange_id=None,
            kind=BROADCAST_REPORT,
            dedupe_key=f"{BROADCAST_REPORT}:{broadcast.id}",
            payload=BroadcastPayload(broadcast=broadcast.id),
            now=now,
            not_after=now + UNDELIVERED_VALIDITY,
        )
    await session.flush()
    return len(finished)


# -- "Gelezen" -------------------------------------------------------------------------------

READ, ALREADY_READ, NOT_YOURS = "read", "already_read", "not_yours"


async def mark_read(session: AsyncSession, user: User, broadcast_id: int, *, now: datetime) -> str:
    """Store that `user` read the broadcast, once; READ, ALREADY_READ or NOT_YOURS."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None or not broadcast.read_button:
        return NOT_YOURS
    got_it = await session.scalar(
        select(OutboxMessage.id)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.user_id == user.id)
        .limit(1)
    )
    if got_it is None:
        return NOT_YOURS
    earlier = await session.scalar(
        select(BroadcastRead.id).where(
            BroadcastRead.broadcast_id == broadcast_id, BroadcastRead.user_id == user.id
        )
    )
    if earlier is not None:
        return ALREADY_READ
    session.add(BroadcastRead(broadcast_id=broadcast_id, user_id=user.id, at=now))
    await session.flush()
    return READ


# -- past broadcasts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Past:
    broadcast: Broadcast
    counts: Counts


async def past(session: AsyncSession, coordinator: User, *, limit: int = 5) -> list[Past]:
    """The coordinator's latest broadcasts with their counts as they are now (three queries)."""
    found = list(
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.created_by == coordinator.id)
            .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
            .limit(limit)
        )
    )
    ids = [b.id for b in found]
    counts = await _counts(session, ids)
    reads = await _reads(session, ids)
    return [Past(b, Counts.of(b, counts[b.id], reads.get(b.id, 0))) for b in found]


async def exchange_label(session: AsyncSession, exchange_id: int) -> str | None:
    exchange = await session.scalar(
        select(Exchange)
        .where(Exchange.id == exchange_id)
        .options(selectinload(Exchange.sides).joinedload(ExchangeSide.school))
    )
    return label(exchange) if exchange is not None else None


# -- /berichten: what did not arrive, and trying again ----------------------------------------


@dataclass(frozen=True)
class Failure:
    """A row that did not reach its recipient."""

    row_id: int
    at: datetime
    kind: str
    user_id: int
    name: str
    exchange: str | None  # its label, None for a message about no pair
    reason: str  # services.outbox.why_not_delivered
    retryable: bool  # failed (not blocked: that would fail the same way)


async def failures(session: AsyncSession, *, limit: int = 30) -> list[Failure]:
    """The latest failed and blocked rows, with names and pairs (three queries)."""
    rows = list(
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_((OUTBOX_FAILED, OUTBOX_BLOCKED)))
            .order_by(OutboxMessage.updated_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
        )
    )
    names, labels = await outbox.names_and_labels(session, rows)
    return [
        Failure(
            row.id,
            row.updated_at,
            row.kind,
            row.user_id,
            names.get(row.user_id, "?"),
            labels.get(row.exchange_id) if row.exchange_id is not None else None,
            why_not_delivered(row),
            row.status == OUTBOX_FAILED,
        )
        for row in rows
    ]


QUEUED, NOT_FAILED, GONE = "queued", "not_failed", "gone"


async def retry(session: AsyncSession, user: User, row_id: int, *, now: datetime) -> str:
    """Put a failed row back in the queue: QUEUED, NOT_FAILED (blocked, or already back in the
    queue by an earlier press) or GONE."""
    await auth.require(session, user, Action.VIEW_OUTBOX)
    row = await session.get(OutboxMessage, row_id, with_for_update=True)
    if row is None:
        return GONE
    if row.status != OUTBOX_FAILED:
        return NOT_FAILED
    row.status = OUTBOX_PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.not_after = max(row.not_after, now + DEFAULT_VALIDITY)
    row.updated_at = now
    await session.flush()
    return QUEUED


def local_time(moment: datetime, tz: ZoneInfo) -> tuple[date, time]:
    local = moment.astimezone(tz)
    return local.date(), local.time().replace(second=0, microsecond=0)
