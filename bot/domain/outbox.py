"""Which pushes an exchange needs and when: the plan the outbox is (re)filled from.

`plan_messages` turns a snapshot of one exchange into every push it should ever get: the weekly
digest, the follow-up after the programme, the day schedule on each day phase and the checklist
nags before each deadline. Whoever stores the plan replaces an exchange's pending rows with it
whenever the exchange changes; the dedupe keys say which rows are "the same push" (DESIGN.md,
principle 1). Planning happens in local wall-clock time (a digest is at 08:00 in Amsterdam, in
winter and in summer); what comes out is UTC.

The dispatcher applies the same rules at send time: `next_allowed` for quiet hours, weekends
and holidays, `catch_up` for pushes it finds late (after a restart or an outage).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, TypeAlias, TypedDict, TypeVar, cast
from zoneinfo import ZoneInfo

from bot.domain.holidays import in_periods, is_public_holiday
from bot.domain.programme import ChecklistItem, Phase, Programme
from bot.domain.timeline import AMSTERDAM, due_date, programme_start

# The kinds of outbox row. Planned from the exchange's state (and replanned when it changes):
KINDS = ("digest", "follow_up", "day_schedule", "checklist_nag")
DIGEST, FOLLOW_UP, DAY_SCHEDULE, CHECKLIST_NAG = KINDS
CHECKIN_MISSING = "checkin_missing"  # planned by bot/domain/checkins.py
# Queued when something happens:
DATE_PROPOSAL = "date_proposal"
DATE_AGREED = "date_agreed"
DATE_DECLINED = "date_declined"
INCIDENT_ALERT = "incident_alert"
INCIDENT_REPEAT = "incident_repeat"  # nobody took the alert up in time
INCIDENT_UPDATE = "incident_update"  # the reporter added something
INCIDENT_SEEN = "incident_seen"  # to the reporter: someone took it up
INCIDENT_SOLVED = "incident_solved"  # to the reporter: someone solved or closed it
# The notice that a row was not delivered: never itself the subject of another notice.
UNDELIVERED = "undelivered"
# Coordinators hear once per exchange that a member blocked the bot, and (if they heard that)
# once when the member writes to the bot again.
USER_BLOCKED = "user_blocked"
USER_BACK = "user_back"
# Coordinators hear that someone joined, and that someone tried a link that had expired or
# was used up (with a button for new links).
MEMBER_JOINED = "member_joined"
INVITE_TRIED = "invite_tried"
# A begeleider hears that a coordinator planned them for a day of a pair (/beheer); a member
# hears once that a coordinator took them out of a pair.
MEMBER_ADDED = "member_added"
MEMBER_REMOVED = "member_removed"
# Coordinators hear at once that a member cannot come on an exchange day, or can after all;
# the member who said so is the sender, and hears if it does not arrive.
ABSENCE_NEWS = "absence_news"
# A coordinator's broadcast, one row per recipient; and its delivery report to the coordinator.
BROADCAST = "broadcast"
BROADCAST_REPORT = "broadcast_report"
BROADCAST_KINDS = (BROADCAST, BROADCAST_REPORT)
# Planned too: teachers of a pair whose dates are still open hear so in the first week.
DATE_REMINDER = "date_reminder"
# A linked Telegram group hears in one line that an incident was reported (no details).
GROUP_INCIDENT = "group_incident"
# A coordinator's Monday summary of the week across all their pairs (exchange_id None).
COORDINATOR_WEEK = "coordinator_week"
PLANNED_KINDS = frozenset({*KINDS, CHECKIN_MISSING, DATE_REMINDER})
# Kinds that carry a copy of the alert itself (edited in place when someone acts).
ALERT_KINDS = (INCIDENT_ALERT, INCIDENT_REPEAT, INCIDENT_UPDATE)
# Messages to whoever raised an incident: someone has seen it, someone has solved it.
REPORTER_NOTICES = (INCIDENT_SEEN, INCIDENT_SOLVED)
INCIDENT_KINDS = (*ALERT_KINDS, *REPORTER_NOTICES)
TEACHER = "teacher"
BEGELEIDER = "begeleider"
MEMBER_ROLES = (TEACHER, BEGELEIDER)
SIDES = ("A", "B")
# Hosts for which an item meant for "the host" or "the guest" concerns both classes.
TOO_LATE = "too_late"
# After this the push still goes out, but says it comes late.
LATE_AFTER = timedelta(minutes=15)
# Skipped because quiet hours, a weekend or a holiday last past the row's not_after.
QUIET_TOO_LATE = "quiet hours until too late"

# Who hears about a row that could not be delivered (too late, refused for good, blocked):
# a message between people has a sender, who must know the other never got it; a planned
# push that someone relies on (a day's schedule, a missing check-in) is the exchange
# coordinator's concern; routine pushes (digests, follow-ups, nags) are rightly dropped when
# late, and show only in /berichten.
TELL_SENDER = frozenset(
    {
        DATE_PROPOSAL,
        DATE_AGREED,
        DATE_DECLINED,
        INCIDENT_ALERT,
        INCIDENT_REPEAT,
        INCIDENT_UPDATE,
        # The reporter hears who took an alarm up or solved it; that person is the sender.
        INCIDENT_SEEN,
        INCIDENT_SOLVED,
        ABSENCE_NEWS,
    }
)
TELL_COORDINATOR = frozenset({DAY_SCHEDULE, CHECKIN_MISSING})
ROUTINE = frozenset({DIGEST, FOLLOW_UP, CHECKLIST_NAG})
# An incident stays news for a week: a low-severity report made on Friday evening still
# reaches its readers after a long weekend.
INCIDENT_VALIDITY = timedelta(days=7)
# A notice that something did not arrive is worth reading for two weeks.
UNDELIVERED_VALIDITY = timedelta(days=14)


def who_is_told(kind: str) -> str | None:
    """Who hears when a row of `kind` is not delivered: "sender", "coordinator" or None."""
    if kind in TELL_SENDER:
        return "sender"
    if kind in TELL_COORDINATOR:
        return "coordinator"
    return None


def end_of_day_utc(day: date, tz: ZoneInfo) -> datetime:
    """The last moment of `day` in `tz`, in UTC (a message about that day is useful until then)."""
    return datetime.combine(day, time.max, tzinfo=tz).astimezone(UTC)


# -- payloads -------------------------------------------------------------------------------
# What a row carries (its JSON `payload`) is what it is about, not its text: the text is written
# when it goes out, from the state then. Dates are ISO strings, as stored.


class DigestPayload(TypedDict):
    week: str  # the Monday of the week


class FollowUpPayload(TypedDict):
    pass


class DayPayload(TypedDict):
    """A day schedule, or the check whether every begeleider arrived that day."""

    phase: str
    date: str  # the day the row was planned for: a moved day makes the row stale


class NagPayload(TypedDict):
    deadline: str
    items: list[str]  # checklist item keys due then


class ProposalPayload(TypedDict):
    proposal: int  # DateProposal.id


class _AgreedPhase(TypedDict):
    phase: str


class AgreedPayload(_AgreedPhase, total=False):
    # Where the day was before, when it moved (ISO date, "HH:MM" or "" for no time). Optional
    # keys through total=False: NotRequired is not seen at run time in postponed annotations.
    was_date: str
    was_time: str


class DeclinedPayload(TypedDict):
    phase: str
    by: str  # the name of whoever declined


class IncidentPayload(TypedDict):
    """An alert, or its repeat: written from the incident as it is when it goes out."""

    incident: int


class IncidentNotePayload(TypedDict):
    """What the reporter added; retention replaces the whole payload by {"purged": true}."""

    incident: int
    note: str


class IncidentActionPayload(TypedDict):
    """To the reporter: the action (IncidentAction.id) of whoever saw or solved it."""

    incident: int
    action: int


class UndeliveredPayload(TypedDict):
    row: int  # the row that was not delivered
    kind: str  # its kind
    to: int  # its recipient
    reason: str  # too_late, failed or blocked
    about: dict[str, Any]  # its payload, as stored (of type PAYLOADS[kind])


class MemberPayload(TypedDict):
    """A member who joined, blocked the bot, or writes to it again."""

    user: int
    role: str
    side: str | None


class InviteTriedPayload(TypedDict):
    """A link of this exchange was tried after it had expired or been used up."""

    invite: int
    why: str  # "expired" or "used_up"


class AbsencePayload(TypedDict):
    """A member cannot come on a day (`absent`), or can after all: who, which day."""

    user: int
    phase: str
    date: str  # the day it was said for: a moved day makes the row stale
    absent: bool


class CoordinatorWeekPayload(TypedDict):
    """A coordinator's Monday summary: what it says is gathered when it goes out."""

    week: str  # the Monday


class MemberAddedPayload(TypedDict):
    """To a begeleider planned for a day of the pair: which day (its date is read when it goes
    out)."""

    phase: str


class MemberRemovedPayload(TypedDict):
    """To a member taken out of the pair: the role they had there."""

    role: str
    side: str | None


class BroadcastPayload(TypedDict):
    """A broadcast (Broadcast.id): its message, or its delivery report."""

    broadcast: int


class DateReminderPayload(TypedDict):
    """The reminder to agree the dates: which are still open is read when it goes out."""

    date: str  # the day it was planned for: days before it are over, not open


Payload: TypeAlias = (
    DigestPayload
    | FollowUpPayload
    | DayPayload
    | NagPayload
    | ProposalPayload
    | AgreedPayload
    | DeclinedPayload
    | IncidentPayload
    | IncidentNotePayload
    | IncidentActionPayload
    | UndeliveredPayload
    | MemberPayload
    | InviteTriedPayload
    | DateReminderPayload
    | BroadcastPayload
    | AbsencePayload
    | MemberAddedPayload
    | MemberRemovedPayload
    | CoordinatorWeekPayload
)
# Every kind of row and the payload it carries.
PAYLOADS: Mapping[str, type[Payload]] = {
    ABSENCE_NEWS: AbsencePayload,
    DIGEST: DigestPayload,
    FOLLOW_UP: FollowUpPayload,
    DAY_SCHEDULE: DayPayload,
    CHECKLIST_NAG: NagPayload,
    CHECKIN_MISSING: DayPayload,
    DATE_PROPOSAL: ProposalPayload,
    DATE_AGREED: AgreedPayload,
    DATE_DECLINED: DeclinedPayload,
    INCIDENT_ALERT: IncidentPayload,
    INCIDENT_REPEAT: IncidentPayload,
    INCIDENT_UPDATE: IncidentNotePayload,
    INCIDENT_SEEN: IncidentActionPayload,
    INCIDENT_SOLVED: IncidentActionPayload,
    UNDELIVERED: UndeliveredPayload,
    USER_BLOCKED: MemberPayload,
    USER_BACK: MemberPayload,
    MEMBER_JOINED: MemberPayload,
    INVITE_TRIED: InviteTriedPayload,
    DATE_REMINDER: DateReminderPayload,
    BROADCAST: BroadcastPayload,
    BROADCAST_REPORT: BroadcastPayload,
    MEMBER_ADDED: MemberAddedPayload,
    MEMBER_REMOVED: MemberRemovedPayload,
    GROUP_INCIDENT: IncidentPayload,
    COORDINATOR_WEEK: CoordinatorWeekPayload,
}

P = TypeVar("P")


def _keys(shape: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The required and the optional keys of a TypedDict class (typing has no type for one)."""
    return shape.__required_keys__, shape.__optional_keys__


# Each kind's required keys, and every key its payload may have.
_SHAPES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    kind: (_keys(shape)[0], _keys(shape)[0] | _keys(shape)[1]) for kind, shape in PAYLOADS.items()
}


def check_payload(kind: str, payload: Mapping[str, object]) -> None:
    """ValueError unless `payload` has exactly the keys that PAYLOADS gives `kind`."""
    shape = _SHAPES.get(kind)
    if shape is None:
        raise ValueError(f"unknown outbox kind {kind!r}")
    required, allowed = shape
    keys = payload.keys()
    if keys >= required and keys <= allowed:
        return
    missing = required - keys
    unknown = keys - allowed
    raise ValueError(f"{kind} payload: missing {sorted(missing)}, unknown {sorted(unknown)}")


def read_payload(shape: type[P], stored: Mapping[str, Any]) -> P:
    """A stored payload as the TypedDict `shape`; KeyError when a key it needs is missing."""
    missing = _keys(shape)[0] - stored.keys()
    if missing:
        raise KeyError(f"{shape.__name__} without {', '.join(sorted(missing))}")
    return cast(P, dict(stored))


def note_of(stored: Mapping[str, Any]) -> str:
    """What an incident_update row adds; "" once retention has purged it."""
    return str(stored.get("note", ""))


# outbox.dedupe_key is a String(200).
MAX_DEDUPE_KEY_LENGTH = 200
# A region's longest school holiday is the summer (six weeks); this bounds the search for the
# next allowed day, so a nonsense holiday list cannot make it loop for ever.
_MAX_SEARCH_DAYS = 400
_SCHOOL_DAYS = 5


@dataclass(frozen=True)
class Member:
    user_id: int
    role: str  # "teacher" | "begeleider"
    side: str | None  # "A"/"B" for teachers, None for begeleiders
    # A begeleider's days (phase keys) when planned for some only; None: every day.
    days: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PhaseDates:
    key: str
    starts_on: date
    ends_on: date
    start_time: time | None
    host: str
    agreed: bool


@dataclass(frozen=True)
class ExchangeSnapshot:
    id: int
    programme: Programme
    active: bool
    # The exchange's current dates: agreed ones, or still the template's defaults.
    phases: tuple[PhaseDates, ...]
    members: tuple[Member, ...]
    # Inclusive periods of the exchange's region.
    school_holidays: tuple[tuple[date, date], ...] = ()
    # Chat ids of the Telegram groups linked to the exchange: they get the day schedules.
    groups: tuple[int, ...] = ()


@dataclass(frozen=True)
class Rules:
    tz: ZoneInfo = AMSTERDAM
    # No push that can wait goes out between quiet_start and quiet_end.
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    digest_time: time = time(8, 0)  # on Monday
    day_schedule_time: time = time(7, 30)
    nag_time: time = time(15, 0)
    nag_lead_days: int = 1
    digest_grace: timedelta = timedelta(hours=12)
    # Coordinators hear this long before a begeleider day starts who has not checked in.
    checkin_lead: timedelta = timedelta(minutes=15)


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class PlannedMessage:
    user_id: int
    exchange_id: int
    kind: str
    due_at: datetime  # UTC, already out of quiet hours, weekends and holidays
    not_after: datetime  # UTC: later than this the push is pointless and skipped
    dedupe_key: str  # the same push planned again gets the same key
    payload: Payload  # what the text is written from when it goes out (PAYLOADS[kind])


@dataclass(frozen=True)
class CatchUp:
    send: bool
    late: bool
    reason: str | None  # when not sending: "too_late"


@dataclass(frozen=True)
class _Recipient:
    """One user with every membership they have in the exchange (teacher and begeleider)."""

    user_id: int
    memberships: tuple[Member, ...]

    def has_role(self, role: str) -> bool:
        return any(m.role == role for m in self.memberships)

    def comes_on(self, phase_key: str) -> bool:
        """Whether they are a begeleider planned for this day phase."""
        return any(
            m.role == BEGELEIDER and planned_for(m.days, phase_key) for m in self.memberships
        )


@dataclass(frozen=True)
class _Wish:
    """A push at its ideal local moment, before quiet hours and holidays move it."""

    user_id: int
    kind: str
    at: datetime  # aware, local
    dedupe_key: str
    payload: Payload
    # A fixed last moment, or (when None) `grace` after wherever the due time ends up.
    not_after: datetime | None = None
    grace: timedelta = timedelta(0)


# -- quiet hours ----------------------------------------------------------------------------


def is_quiet(
    moment: datetime, rules: Rules, school_holidays: Sequence[tuple[date, date]] = ()
) -> bool:
    """Whether a push that can wait must wait at `moment` (quiet hours, weekend, holiday)."""
    local = _to_local(moment, rules)
    return not _allowed_day(local.date(), school_holidays) or _in_quiet_hours(local.time(), rules)


def next_allowed(
    moment: datetime, rules: Rules, school_holidays: Sequence[tuple[date, date]] = ()
) -> datetime:
    """The first moment at or after `moment` a push that can wait may go out, in UTC.

    That is `moment` itself when it is allowed, else quiet_end (07:00) on the next allowed day:
    a school day (Monday to Friday) that is neither a Dutch public holiday nor in one of the
    exchange's school holidays.
    """
    local = _to_local(moment, rules)
    if not is_quiet(local, rules, school_holidays):
        return local.astimezone(UTC)
    # Before quiet_end the same day may still do; after it, its allowed time is over.
    day = local.date() if local.time() < rules.quiet_end else local.date() + timedelta(days=1)
    for _ in range(_MAX_SEARCH_DAYS):
        if _allowed_day(day, school_holidays):
            return datetime.combine(day, rules.quiet_end, tzinfo=rules.tz).astimezone(UTC)
        day += timedelta(days=1)
    raise ValueError(f"no allowed day within {_MAX_SEARCH_DAYS} days after {moment.isoformat()}")


@lru_cache(maxsize=4096)
def _moved(
    moment: datetime, rules: Rules, school_holidays: tuple[tuple[date, date], ...]
) -> datetime:
    """`next_allowed`, remembered: one plan asks it for the same moments several times (a
    digest's day decides about nags and reminders too), and a city's pairs share their weeks."""
    return next_allowed(moment, rules, school_holidays)


def waits_until(
    moment: datetime,
    rules: Rules,
    school_holidays: Sequence[tuple[date, date]] = (),
    *,
    urgent: bool = False,
) -> datetime | None:
    """When a message queued at `moment` goes out, in UTC; None when it goes out at once.

    An urgent message never waits; any other waits for the end of quiet hours, a weekend or a
    holiday (the dispatcher moves it there, see `next_allowed`).
    """
    if urgent or not is_quiet(moment, rules, school_holidays):
        return None
    return next_allowed(moment, rules, school_holidays)


def _to_local(moment: datetime, rules: Rules) -> datetime:
    # A naive datetime silently read as UTC (or as local) is the classic off-by-an-hour bug.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"an aware datetime is needed, got {moment!r}")
    return moment.astimezone(rules.tz)


def _allowed_day(d: date, school_holidays: Sequence[tuple[date, date]]) -> bool:
    return (
        d.weekday() < _SCHOOL_DAYS
        and not is_public_holiday(d)
        and not in_periods(d, school_holidays)
    )


def _in_quiet_hours(t: time, rules: Rules) -> bool:
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= t < end
    # The usual case: the quiet period runs over midnight.
    return t >= start or t < end


# -- catch-up -------------------------------------------------------------------------------


def catch_up(push_kind: str, due_at: datetime, not_after: datetime, now: datetime) -> CatchUp:
    """Whether a push the dispatcher picks up at `now` still goes out, and whether it is late.

    It goes out until its not_after (for a digest 12 hours after it was due, for a day schedule
    only on its own day, for a nag until the end of its deadline day); more than 15 minutes after
    due_at it is late, which the digest says. Picking a row up before its due_at is the
    dispatcher's business, not a reason to skip it: such a row goes out, not late. Quiet hours
    are not checked here (`next_allowed`).
    """
    # The rule is the same for every kind, including the outbox's immediate messages (alerts,
    # proposals); `push_kind` is there so a kind can get its own rule without changing callers.
    for moment in (due_at, not_after, now):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"an aware datetime is needed, got {moment!r}")
    late = now - due_at > LATE_AFTER
    if now > not_after:
        return CatchUp(send=False, late=late, reason=TOO_LATE)
    return CatchUp(send=True, late=late, reason=None)


# -- planning -------------------------------------------------------------------------------


def plan_messages(snapshot: ExchangeSnapshot, rules: Rules = DEFAULT_RULES) -> list[PlannedMessage]:
    """Every push the exchange needs, moved out of quiet hours, weekends and holidays.

    An inactive exchange needs none. A push that cannot go out before its not_after (a nag for a
    deadline in a holiday, a day schedule on a public holiday) is left out. Past pushes are
    planned too: leaving out what is over is for whoever knows the time. Sorted by due time, then
    dedupe key.
    """
    if not snapshot.active or not snapshot.phases:
        return []
    phases = _phases_with_dates(snapshot)
    recipients = _recipients(snapshot.members)
    digests = list(_digests(snapshot, phases, recipients, rules))
    wishes: list[_Wish] = [
        *digests,
        *_follow_ups(snapshot, phases, recipients, rules),
        *_day_schedules(snapshot, phases, recipients, rules),
        *_group_schedules(snapshot, phases, rules),
        *_nags(snapshot, phases, recipients, rules, digests=digests),
    ]
    wishes += _date_reminders(snapshot, phases, recipients, rules, planned=wishes)
    pushes: list[PlannedMessage] = []
    for wish in wishes:
        due_at = _moved(wish.at, rules, snapshot.school_holidays)
        not_after = wish.not_after if wish.not_after is not None else due_at + wish.grace
        if due_at > not_after:
            continue
        pushes.append(
            PlannedMessage(
                user_id=wish.user_id,
                exchange_id=snapshot.id,
                kind=wish.kind,
                due_at=due_at,
                not_after=not_after.astimezone(UTC),
                dedupe_key=wish.dedupe_key,
                payload=wish.payload,
            )
        )
    pushes.sort(key=lambda p: (p.due_at, p.dedupe_key))
    _check_unique(pushes)
    return pushes


def _phases_with_dates(snapshot: ExchangeSnapshot) -> list[tuple[Phase, PhaseDates]]:
    # Progress is stored by key, so a snapshot that does not match its template is a bug to see,
    # not a push to leave out quietly.
    by_key = {p.key: p for p in snapshot.phases}
    if len(by_key) != len(snapshot.phases):
        raise ValueError(f"exchange {snapshot.id}: a phase appears twice in the snapshot")
    template = [p.key for p in snapshot.programme.phases]
    missing = [key for key in template if key not in by_key]
    unknown = [key for key in by_key if key not in template]
    if missing or unknown:
        raise ValueError(
            f"exchange {snapshot.id}: phases do not match programme "
            f"{snapshot.programme.key!r} (missing: {missing}, unknown: {unknown})"
        )
    return [(phase, by_key[phase.key]) for phase in snapshot.programme.phases]


def _recipients(members: Iterable[Member]) -> list[_Recipient]:
    grouped: dict[int, list[Member]] = {}
    for member in members:
        if member.role not in MEMBER_ROLES:
            raise ValueError(f"user {member.user_id}: unknown role {member.role!r}")
        if member.side is not None and member.side not in SIDES:
            raise ValueError(f"user {member.user_id}: unknown side {member.side!r}")
        grouped.setdefault(member.user_id, []).append(member)
    return [_Recipient(user_id, tuple(grouped[user_id])) for user_id in sorted(grouped)]


def _local(day: date, at: time, rules: Rules) -> datetime:
    return datetime.combine(day, at, tzinfo=rules.tz)


def _end_of_day(day: date, rules: Rules) -> datetime:
    return datetime.combine(day, time.max, tzinfo=rules.tz)


def _mondays(first: date, last: date) -> Iterator[date]:
    monday = programme_start(first)
    while monday <= last:
        yield monday
        monday += timedelta(days=7)


def _week_in_holiday(monday: date, school_holidays: Sequence[tuple[date, date]]) -> bool:
    return all(in_periods(monday + timedelta(days=n), school_holidays) for n in range(_SCHOOL_DAYS))


def _digests(
    snapshot: ExchangeSnapshot,
    phases: Sequence[tuple[Phase, PhaseDates]],
    recipients: Sequence[_Recipient],
    rules: Rules,
) -> Iterator[_Wish]:
    first = min(dates.starts_on for _, dates in phases)
    last = max(dates.ends_on for _, dates in phases)
    # Begeleiders only come to the day phases that need them, and only to those they are
    # planned for; other weeks are not theirs.
    begeleider_days = [
        (phase.key, programme_start(dates.starts_on))
        for phase, dates in phases
        if phase.kind == "day" and phase.needs_begeleider
    ]
    for monday in _mondays(first, last):
        if _week_in_holiday(monday, snapshot.school_holidays):
            continue
        for recipient in recipients:
            if not (
                recipient.has_role(TEACHER)
                or any(week == monday and recipient.comes_on(key) for key, week in begeleider_days)
            ):
                continue
            yield _Wish(
                user_id=recipient.user_id,
                kind=DIGEST,
                at=_local(monday, rules.digest_time, rules),
                dedupe_key=f"digest:{snapshot.id}:{recipient.user_id}:{monday.isoformat()}",
                payload=DigestPayload(week=monday.isoformat()),
                grace=rules.digest_grace,
            )


def _follow_ups(
    snapshot: ExchangeSnapshot,
    phases: Sequence[tuple[Phase, PhaseDates]],
    recipients: Sequence[_Recipient],
    rules: Rules,
) -> Iterator[_Wish]:
    last = max(dates.ends_on for _, dates in phases)
    monday = programme_start(last) + timedelta(days=7)
    for recipient in recipients:
        if recipient.has_role(TEACHER):
            yield _Wish(
                user_id=recipient.user_id,
                kind=FOLLOW_UP,
                at=_local(monday, rules.digest_time, rules),
                dedupe_key=f"follow_up:{snapshot.id}:{recipient.user_id}",
                payload=FollowUpPayload(),
                grace=rules.digest_grace,
            )


def _day_schedules(
    snapshot: ExchangeSnapshot,
    phases: Sequence[tuple[Phase, PhaseDates]],
    recipients: Sequence[_Recipient],
    rules: Rules,
) -> Iterator[_Wish]:
    for phase, dates in phases:
        if phase.kind != "day":
            continue
        day = dates.starts_on
        for recipient in recipients:
            if not (
                recipient.has_role(TEACHER)
                or (phase.needs_begeleider and recipient.comes_on(phase.key))
            ):
                continue
            yield _Wish(
                user_id=recipient.user_id,
                kind=DAY_SCHEDULE,
                at=_local(day, rules.day_schedule_time, rules),
                # The date is in the key: a moved day is a new push, and the old one is dropped.
                dedupe_key=f"day:{snapshot.id}:{phase.key}:{recipient.user_id}:{day.isoformat()}",
                payload=DayPayload(phase=phase.key, date=day.isoformat()),
                # A schedule for a day that is over helps nobody.
                not_after=_end_of_day(day, rules),
            )


def planned_for(membership_days: Sequence[str] | None, phase_key: str) -> bool:
    """Whether a begeleider with these planned days (Membership.days) comes on this day phase:
    None means every day."""
    return membership_days is None or phase_key in membership_days


def item_applies(item: ChecklistItem, member: Member, host: str) -> bool:
    """Whether a checklist item is this member's to do, for a phase with this host.

    Begeleider items are for every begeleider. A teacher's item is for both classes, or only for
    the hosting or only for the visiting class when the phase is at school A or B. A teacher whose
    side is not known gets the items of both, so nothing is missed.
    """
    return item.applies_to(member.role, member.side, host)


def _nags(
    snapshot: ExchangeSnapshot,
    phases: Sequence[tuple[Phase, PhaseDates]],
    recipients: Sequence[_Recipient],
    rules: Rules,
    *,
    digests: Sequence[_Wish],
) -> Iterator[_Wish]:
    # (deadline, host, item) in template order: the phases and their checklists are in order.
    items = [
        (due_date(item, dates.starts_on), dates.host, item)
        for phase, dates in phases
        for item in phase.checklist
    ]
    deadlines = sorted({deadline for deadline, _, _ in items})
    # A reminder that would go out on a day the reader gets a digest (often Monday 07:00, moved
    # there from the weekend, or 15:00 for a Tuesday deadline) is folded into that digest: its
    # items are due that day or the next, so the digest lists them (services.checklists.to_do),
    # and a teacher gets one routine message that day, not two.
    holidays = snapshot.school_holidays

    def day_of(at: datetime) -> date:
        return _moved(at, rules, holidays).astimezone(rules.tz).date()

    # The digests of a week share their moment: each moment's day is worked out once.
    digest_day = {at: day_of(at) for at in {wish.at for wish in digests}}
    digest_days = {(wish.user_id, digest_day[wish.at]) for wish in digests}
    # When each deadline's reminder is meant to go out, and the day it can: the same for all.
    moments = {}
    for deadline in deadlines:
        at = _local(deadline - timedelta(days=rules.nag_lead_days), rules.nag_time, rules)
        moments[deadline] = (at, day_of(at))
    # Whose items are whose depends on role and side only: worked out once per kind of reader
    # (the begeleiders of a pair, its teachers of one school), not once per person.
    by_kind: dict[frozenset[tuple[str, str | None]], dict[date, list[str]]] = {}
    for recipient in recipients:
        kind = frozenset((m.role, m.side) for m in recipient.memberships)
        theirs = by_kind.get(kind)
        if theirs is None:
            # The recipient's items by deadline, each list in template order.
            theirs = by_kind[kind] = {}
            for item_deadline, host, item in items:
                if any(item.applies_to(role, side, host) for role, side in kind):
                    theirs.setdefault(item_deadline, []).append(item.key)
        for deadline in deadlines:
            keys = theirs.get(deadline)
            if not keys:
                continue
            at, day = moments[deadline]
            if (recipient.user_id, day) in digest_days:
                continue
            yield _Wish(
                user_id=recipient.user_id,
                kind=CHECKLIST_NAG,
                at=at,
                dedupe_key=f"nag:{snapshot.id}:{recipient.user_id}:{deadline.isoformat()}",
                payload=NagPayload(deadline=deadline.isoformat(), items=list(keys)),
                not_after=_end_of_day(deadline, rules),
            )


# The reminder to agree the dates goes out from the Wednesday of the first week, on the first
# school day within this many days on which the teacher gets no other planned message.
def _group_schedules(
    snapshot: ExchangeSnapshot, phases: Sequence[tuple[Phase, PhaseDates]], rules: Rules
) -> Iterator[_Wish]:
    """A linked group gets every day's schedule, at the time the members get theirs."""
    for phase, dates in phases:
        if phase.kind != "day":
            continue
        day = dates.starts_on
        for chat_id in snapshot.groups:
            yield _Wish(
                user_id=chat_id,
                kind=DAY_SCHEDULE,
                at=_local(day, rules.day_schedule_time, rules),
                dedupe_key=f"day:{snapshot.id}:{phase.key}:{chat_id}:{day.isoformat()}",
                payload=DayPayload(phase=phase.key, date=day.isoformat()),
                not_after=_end_of_day(day, rules),
            )


_REMINDER_FROM = timedelta(days=2)
_REMINDER_SEARCH_DAYS = 10


def _date_reminders(
    snapshot: ExchangeSnapshot,
    phases: Sequence[tuple[Phase, PhaseDates]],
    recipients: Sequence[_Recipient],
    rules: Rules,
    *,
    planned: Sequence[_Wish],
) -> list[_Wish]:
    """A friendly reminder to each teacher to agree the dates, while a day phase is open.

    It comes in the middle of the first week (Wednesday, at the digest's time) or, when the
    teacher already gets a message that day (`planned`), on the next school day that is free:
    a teacher hears from the programme at most once on a normal school day. It must come
    before the first open day, or it is too late for that day: with no free day before then it
    comes on the first possible one anyway. Never on or after the first open day.
    """
    still_open = [
        dates.starts_on for phase, dates in phases if phase.kind == "day" and not dates.agreed
    ]
    if not still_open:
        return []
    first = min(dates.starts_on for _, dates in phases)
    start = programme_start(first) + _REMINDER_FROM
    days = [
        start + timedelta(days=n)
        for n in range(_REMINDER_SEARCH_DAYS)
        if _allowed_day(start + timedelta(days=n), snapshot.school_holidays)
        and start + timedelta(days=n) < min(still_open)
    ]
    if not days:
        return []
    wishes = []
    for recipient in recipients:
        if not recipient.has_role(TEACHER):
            continue
        busy = {
            _moved(w.at, rules, snapshot.school_holidays).astimezone(rules.tz).date()
            for w in planned
            if w.user_id == recipient.user_id
        }
        day = next((d for d in days if d not in busy), days[0])
        wishes.append(
            _Wish(
                user_id=recipient.user_id,
                kind=DATE_REMINDER,
                at=_local(day, rules.digest_time, rules),
                dedupe_key=f"date_reminder:{snapshot.id}:{recipient.user_id}",
                payload=DateReminderPayload(date=day.isoformat()),
                grace=rules.digest_grace,
            )
        )
    return wishes


def _check_unique(pushes: Sequence[PlannedMessage]) -> None:
    seen: set[str] = set()
    for push in pushes:
        if push.dedupe_key in seen:
            raise ValueError(f"dedupe key planned twice: {push.dedupe_key}")
        if len(push.dedupe_key) > MAX_DEDUPE_KEY_LENGTH:
            raise ValueError(f"dedupe key longer than {MAX_DEDUPE_KEY_LENGTH}: {push.dedupe_key}")
        seen.add(push.dedupe_key)
