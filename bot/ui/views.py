"""Longer texts built from several catalogue entries: summaries, timelines, link lists.

Views are given the data they show and run no queries; the services load it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.domain.calendar import CalendarEvent, event_uid, exchange_calendar
from bot.domain.dates import format_date, format_time
from bot.domain.programme import Phase, Programme
from bot.domain.timeline import plan_phases, timed_schedule
from bot.services.checklists import SideProgress
from bot.services.exchanges import side_of, title
from bot.services.outbox import NotDelivered
from bot.texts import Markup, Texts
from bot.ui import outbox
from bot.ui.replies import Deferred, Reply
from db.models import (
    OUTBOX_STATES,
    ROLE_TEACHER,
    CheckIn,
    Exchange,
    ExchangePhase,
    Membership,
    User,
)


def _join(lines: Sequence[str]) -> Markup:
    return Markup("\n".join(lines))


def _side_line(
    texts: Texts,
    lang: str,
    letter: str,
    school: str,
    address: str | None,
    class_name: str,
    size: int,
) -> str:
    key = "exchange.side_line" if address else "exchange.side_line_no_address"
    return texts.get(
        lang,
        key,
        side=letter,
        school=school,
        address=address or "",
        class_name=class_name,
        size=size,
    )


def _span(lang: str, start: date, end: date) -> str:
    if start == end:
        return format_date(start, lang)
    return f"{format_date(start, lang)} – {format_date(end, lang)}"


def new_exchange_summary(
    texts: Texts, lang: str, *, data: Mapping[str, Any], programme: Programme
) -> Markup:
    """The confirmation summary of the /nieuw conversation."""
    start = date.fromisoformat(data["start"])
    lines = [
        texts.get(
            lang, "exchange.programme_line", programme=programme.name.get(lang), city=data["city"]
        ),
    ]
    for letter in ("a", "b"):
        lines.append(
            _side_line(
                texts,
                lang,
                letter.upper(),
                data[f"school_{letter}"],
                data.get(f"address_{letter}"),
                data[f"class_{letter}"],
                data[f"size_{letter}"],
            )
        )
    lines.append("")
    hosts = {"A": data["school_a"], "B": data["school_b"]}
    for planned in plan_phases(programme, start):
        phase = programme.phase(planned.key)
        lines.append(_phase_line(texts, lang, phase, planned, hosts, agreed=False))
    return _join(lines)


def _host_text(texts: Texts, lang: str, host: str, hosts: Mapping[str, str]) -> str:
    if host in hosts:
        return texts.get(lang, "exchange.host_at", school=hosts[host])
    return texts.get(lang, f"exchange.host_{host}")


class _Dated(Protocol):
    """The dates of a phase: a stored row or one planned from the template (read only)."""

    @property
    def starts_on(self) -> date: ...
    @property
    def ends_on(self) -> date: ...
    @property
    def start_time(self) -> time | None: ...
    @property
    def host(self) -> str: ...


def _phase_line(
    texts: Texts,
    lang: str,
    phase: Phase,
    dates: _Dated,
    hosts: Mapping[str, str],
    *,
    agreed: bool,
) -> str:
    """One line of a timeline: a week with its span, or a day with time, place and status."""
    name, starts_on, ends_on = phase.name.get(lang), dates.starts_on, dates.ends_on
    start_time, host = dates.start_time, dates.host
    if phase.kind == "week":
        return texts.get(
            lang, "exchange.phase_week", name=name, span=_span(lang, starts_on, ends_on)
        )
    when = format_date(starts_on, lang)
    if start_time is not None:
        when = f"{when}, {format_time(start_time)}"
    status = "" if agreed else texts.get(lang, "exchange.not_agreed")
    return texts.get(
        lang,
        "exchange.phase_day",
        name=name,
        when=when,
        host=Markup(_host_text(texts, lang, host, hosts)),
        status=Markup(status),
    )


def exchange_heading(texts: Texts, lang: str, exchange: Exchange) -> str:
    return texts.get(lang, "exchange.heading", id=exchange.id, title=title(exchange))


def timeline(
    texts: Texts,
    lang: str,
    exchange: Exchange,
    programme: Programme,
    *,
    viewer_id: int | None = None,
    reports: Sequence[tuple[CheckIn, User]] = (),
) -> Markup:
    """The /programma view of one exchange: who, what and when (and, for coordinators, how
    the days went: `reports` are the check-ins with their evaluations)."""
    lines = [
        exchange_heading(texts, lang, exchange),
        texts.get(
            lang, "exchange.programme_line", programme=programme.name.get(lang), city=exchange.city
        ),
    ]
    for letter in ("A", "B"):
        side = side_of(exchange, letter)
        lines.append(
            _side_line(
                texts,
                lang,
                letter,
                side.school.name,
                side.school.address,
                side.class_name,
                side.class_size,
            )
        )
    mine = [m for m in exchange.memberships if m.user_id == viewer_id]
    for membership in mine:
        lines.append(role_line(texts, lang, exchange, membership))
    lines.append("")
    hosts = {s.side: s.school.name for s in exchange.sides}
    phases: list[ExchangePhase] = sorted(exchange.phases, key=lambda p: p.starts_on)
    for row in phases:
        try:
            phase = programme.phase(row.phase_key)
        except KeyError:
            continue
        lines.append(_phase_line(texts, lang, phase, row, hosts, agreed=row.agreed))
    lines.append("")
    lines.extend(_people(texts, lang, exchange))
    if reports:
        lines += ["", texts.get(lang, "exchange.reports_header")]
        lines += [_report_line(texts, lang, checkin, user) for checkin, user in reports]
    return _join(lines)


def _report_line(texts: Texts, lang: str, checkin: CheckIn, user: User) -> str:
    day = format_date(checkin.day, lang)
    if checkin.checked_out_at is None:
        return texts.get(lang, "exchange.report_open", day=day, name=user.display_name)
    tension = (
        texts.plain(lang, "exchange.tension_yes", note=checkin.tension_note or "-")
        if checkin.tension
        else texts.plain(lang, "exchange.tension_no")
    )
    return texts.get(
        lang,
        "exchange.report",
        day=day,
        name=user.display_name,
        rating=checkin.rating,
        tension=tension,
        remarks=checkin.remarks or "-",
    )


def role_line(texts: Texts, lang: str, exchange: Exchange, membership: Membership) -> str:
    if membership.role == ROLE_TEACHER and membership.side:
        school = side_of(exchange, membership.side).school.name
        return texts.get(lang, "exchange.your_role_teacher", school=school)
    return texts.get(lang, "exchange.your_role_begeleider")


def _people(texts: Texts, lang: str, exchange: Exchange) -> list[str]:
    teachers: list[str] = []
    begeleiders: list[str] = []
    for membership in sorted(exchange.memberships, key=lambda m: m.joined_at):
        if membership.role == ROLE_TEACHER and membership.side:
            school = side_of(exchange, membership.side).school.name
            teachers.append(
                texts.get(
                    lang, "exchange.person_at", name=membership.user.display_name, school=school
                )
            )
        else:
            begeleiders.append(
                texts.get(lang, "exchange.person", name=membership.user.display_name)
            )
    nobody = texts.get(lang, "exchange.nobody_yet")
    return [
        texts.get(lang, "exchange.teachers", names=Markup(", ".join(teachers) or nobody)),
        texts.get(lang, "exchange.begeleiders", names=Markup(", ".join(begeleiders) or nobody)),
    ]


def next_step(
    texts: Texts, lang: str, exchange: Exchange, programme: Programme, role: str, today: date
) -> Markup:
    """What comes next for someone who just joined: the first phase that concerns them."""
    hosts = {s.side: s.school.name for s in exchange.sides}
    for row in sorted(exchange.phases, key=lambda p: p.starts_on):
        if row.ends_on < today:
            continue
        try:
            phase = programme.phase(row.phase_key)
        except KeyError:
            continue
        if role != ROLE_TEACHER and not phase.needs_begeleider:
            continue
        line = _phase_line(texts, lang, phase, row, hosts, agreed=row.agreed)
        return Markup(
            texts.get(
                lang, "join.next", phase=Markup(line), description=phase.description.get(lang)
            )
        )
    return Markup(texts.get(lang, "join.nothing_next"))


def progress(texts: Texts, lang: str, exchange: Exchange, sides: Sequence[SideProgress]) -> Markup:
    """Checklist progress per class (and the begeleiders) for a coordinator: `sides` as
    services.checklists.progress finds them."""
    lines = [exchange_heading(texts, lang, exchange)]
    for side in sides:
        if side.side in ("A", "B"):
            who = texts.get(
                lang, "checklists.side_teachers", school=side_of(exchange, side.side).school.name
            )
        else:
            who = texts.get(lang, "checklists.side_begeleiders")
        lines.append("")
        lines.append(
            texts.get(
                lang, "checklists.progress_line", who=Markup(who), done=side.done, total=side.total
            )
        )
        for entry in side.open_items[:8]:
            lines.append(
                texts.get(
                    lang,
                    "checklists.line",
                    item=entry.item.text.get(lang),
                    deadline=format_date(entry.deadline, lang),
                )
            )
        if len(side.open_items) > 8:
            lines.append(texts.get(lang, "checklists.more", count=len(side.open_items) - 8))
    return _join(lines)


def today(
    texts: Texts,
    lang: str,
    mine: Sequence[Exchange],
    programmes: Mapping[str, Programme],
    contacts: Mapping[int, Sequence[User]],
    day: date,
) -> Markup:
    """Today's schedules, or when the next exchange day is; `contacts` are whom to call per
    exchange id (services.exchanges.contacts)."""
    if not mine:
        return Markup(texts.get(lang, "programme.none"))
    parts: list[str] = []
    upcoming: list[tuple[date, str]] = []
    for exchange in mine:
        programme = programmes[exchange.programme_key]
        for row in sorted(exchange.phases, key=lambda p: p.starts_on):
            if programme.phase(row.phase_key).kind != "day":
                continue
            if row.starts_on == day:
                body = outbox.day_schedule(texts, lang, exchange, programme, row)
                contact = outbox.contact_line(texts, lang, contacts.get(exchange.id, ()))
                parts.append("\n".join(x for x in (body, contact) if x))
            elif row.starts_on > day:
                upcoming.append(
                    (
                        row.starts_on,
                        texts.get(
                            lang,
                            "today.next",
                            title=title(exchange),
                            line=Markup(outbox.day_line(texts, lang, exchange, programme, row)),
                        ),
                    )
                )
    if parts:
        return _join(["\n\n".join(parts)])
    if upcoming:
        return Markup(texts.get(lang, "today.nothing", next=Markup(min(upcoming)[1])))
    return Markup(texts.get(lang, "today.nothing_left"))


def calendar(
    texts: Texts,
    lang: str,
    exchange: Exchange,
    programme: Programme,
    *,
    tz: ZoneInfo,
    stamp: datetime,
) -> bytes:
    """The exchange's phases as an iCalendar file with stable UIDs."""
    events = []
    for row in sorted(exchange.phases, key=lambda p: p.starts_on):
        try:
            phase = programme.phase(row.phase_key)
        except KeyError:
            continue
        location = None
        if row.host in ("A", "B"):
            school = side_of(exchange, row.host).school
            location = f"{school.name}, {school.address}" if school.address else school.name
        elif row.host == "online":
            location = texts.plain(lang, "exchange.host_online")
        schedule = timed_schedule(phase, row.start_time) if phase.kind == "day" else []
        duration = None
        if schedule and row.start_time is not None:
            start = datetime.combine(row.starts_on, row.start_time)
            duration = datetime.combine(row.starts_on, schedule[-1].ends_at) - start
        events.append(
            CalendarEvent(
                uid=event_uid(exchange.id, row.phase_key),
                summary=texts.plain(
                    lang, "calendar.summary", phase=phase.name.get(lang), title=title(exchange)
                ),
                description=phase.description.get(lang),
                location=location,
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                start_time=row.start_time if phase.kind == "day" else None,
                duration=duration,
                sequence=row.revision,
            )
        )
    name = texts.plain(lang, "calendar.name", id=exchange.id, title=title(exchange))
    return exchange_calendar(events, name=name, tz=tz, stamp=stamp)


def outbox_status(
    texts: Texts,
    lang: str,
    counts: Mapping[str, int],
    failures: Sequence[NotDelivered],
    *,
    tz: ZoneInfo,
    uncertain: int = 0,
) -> Markup:
    """The coordinator's view of the outbox: counts per state and what did not arrive."""
    lines = [texts.get(lang, "outbox.counts", **{s: counts.get(s, 0) for s in OUTBOX_STATES})]
    if uncertain:
        lines.append(texts.get(lang, "outbox.uncertain", count=uncertain))
    if failures:
        lines += ["", texts.get(lang, "outbox.failures_header")]
        for failure in failures:
            when = failure.at.astimezone(tz)
            kind_key = f"outbox.kind_{failure.kind}"
            if not texts.has(kind_key):
                kind_key = "outbox.kind_other"
            lines.append(
                texts.get(
                    lang,
                    "outbox.failure" if failure.exchange else "outbox.failure_no_exchange",
                    when=f"{format_date(when.date(), lang)} {format_time(when.time())}",
                    kind=texts.plain(lang, kind_key),
                    name=failure.recipient,
                    exchange=failure.exchange or "",
                    reason=texts.plain(lang, f"outbox.reason_{failure.reason}"),
                )
            )
    return _join(lines)


# -- what a sender hears of a message that waits for quiet hours to end ----------------------


def format_moment(texts: Texts, lang: str, at: datetime, tz: ZoneInfo) -> Markup:
    """A moment as a reader says it: "maandag 1 februari om 07:00" in the bot's time zone."""
    local = at.astimezone(tz)
    return Markup(
        texts.get(
            lang,
            "common.moment",
            day=format_date(local.date(), lang),
            time=format_time(local.time()),
        )
    )


def waiting(key: str, params: Mapping[str, object], arrives: datetime, tz: ZoneInfo) -> Reply:
    """Reply `key`, which says the message goes out at {when} (`arrives`), not now."""
    when = Deferred(lambda texts, lang: format_moment(texts, lang, arrives, tz))
    return Reply(key, {**params, "when": when})


def sent_or_waiting(
    key: str,
    later_key: str,
    params: Mapping[str, object],
    *,
    arrives: datetime | None,
    tz: ZoneInfo,
) -> Reply:
    """The reply to someone whose message went into the outbox: `key` ("is verstuurd") when it
    goes out at once, `later_key` with the moment it goes out when it waits for quiet hours
    (outbox.delivery_time) — a sender is never told "sent" of a message still waiting."""
    if arrives is None:
        return Reply(key, params)
    return waiting(later_key, params, arrives, tz)
