"""Longer texts built from several catalogue entries: summaries, timelines, link lists.

Views are given the data they show and run no queries; the services load it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.domain.agreement import open_days
from bot.domain.calendar import CalendarEvent, event_sequence, event_uid, exchange_calendar
from bot.domain.dates import format_date, format_time
from bot.domain.programme import Phase, Programme
from bot.domain.timeline import plan_phases, timed_schedule
from bot.services.checklists import Progress
from bot.services.exchanges import label, side_of, title
from bot.services.next_steps import Standing
from bot.services.outbox import NotDelivered
from bot.services.schools import PhoneContact, Reader, reader_of
from bot.texts import Markup, Texts
from bot.ui import callbacks, outbox
from bot.ui import schools as school_texts
from bot.ui.replies import Btn, Deferred, Reply
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
    reader: Reader | None = None,
    phones: Sequence[PhoneContact] | None = None,
) -> Markup:
    """The /programma view of one exchange: who, what and when, both schools' addresses (a
    missing one with /school for the `reader` who can fill it in), the numbers to call
    (`phones`, those shared with the viewer), and, for coordinators, how the days went:
    `reports` are the check-ins with their evaluations."""
    reader = reader or Reader()
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
                school_texts.address(texts, lang, side.school, hint=letter in reader.edits),
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
    if phones is not None:
        lines += ["", *school_texts.phone_lines(texts, lang, phones, reader)]
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
    texts: Texts,
    lang: str,
    exchange: Exchange,
    programme: Programme,
    role: str,
    today: date,
    *,
    key: str = "join.next",
    key_now: str | None = None,
    brief: bool = False,
) -> Markup:
    """What comes next for someone: the first phase not over that concerns them, under `key`
    (`key_now` when it has begun), or only its line when `brief`."""
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
        if brief:
            return Markup(line)
        heading = key_now if key_now is not None and row.starts_on <= today else key
        return Markup(
            texts.get(lang, heading, phase=Markup(line), description=phase.description.get(lang))
        )
    return Markup(texts.get(lang, "join.nothing_next"))


# Exchanges in the answer to free text, each with a row of buttons: more is for /programma.
MAX_STANDINGS = 5


def _standing_buttons(standing: Standing, *, labelled: bool) -> tuple[Btn, ...]:
    """📅 Datum afspreken (a teacher with dates to agree), 📋 Checklist, 🗓 Programma; with
    `labelled`, each names the exchange ("📋 #12"), for a list of several."""
    exchange_id = standing.exchange.id
    suffix = "_for" if labelled else ""
    found = []
    if standing.open_dates:
        found.append(
            Btn(
                callbacks.action(callbacks.DATE_START_PREFIX, exchange_id),
                key=f"fallback.btn_dates{suffix}",
                params={"id": exchange_id},
            )
        )
    found.append(
        Btn(
            callbacks.action(callbacks.CHECKLIST_PREFIX, exchange_id),
            key=f"fallback.btn_checklist{suffix}",
            params={"id": exchange_id},
        )
    )
    found.append(
        Btn(
            callbacks.action(callbacks.PROGRAMME_PREFIX, exchange_id),
            key=f"fallback.btn_programme{suffix}",
            params={"id": exchange_id},
        )
    )
    return tuple(found)


def _standing_notes(texts: Texts, lang: str, standing: Standing) -> list[str]:
    notes = []
    if standing.open_items:
        notes.append(texts.amount(lang, "fallback.checklist_open", standing.open_items))
    if standing.open_dates:
        notes.append(texts.get(lang, "fallback.dates_open"))
    return notes


def free_text_answer(texts: Texts, lang: str, standings: Sequence[Standing], today: date) -> Reply:
    """The answer to text that is not part of a conversation: the member's next step in each
    of their exchanges (services.next_steps.standings), with the commands for it as buttons."""
    if len(standings) == 1:
        standing = standings[0]
        exchange = standing.exchange
        step = next_step(
            texts,
            lang,
            exchange,
            standing.programme,
            standing.role,
            today,
            key="fallback.next",
            key_now="fallback.now",
        )
        notes = _standing_notes(texts, lang, standing)
        parts = [step, "", *notes] if notes else [step]
        return Reply(
            "fallback.one",
            {"label": label(exchange), "body": _join(parts)},
            buttons=(_standing_buttons(standing, labelled=False),),
        )
    blocks = []
    for standing in standings[:MAX_STANDINGS]:
        exchange = standing.exchange
        line = next_step(
            texts, lang, exchange, standing.programme, standing.role, today, brief=True
        )
        blocks.append(
            "\n".join(
                [
                    texts.get(lang, "fallback.heading", label=label(exchange)),
                    line,
                    *_standing_notes(texts, lang, standing),
                ]
            )
        )
    if len(standings) > MAX_STANDINGS:
        blocks.append(texts.get(lang, "fallback.more", count=len(standings) - MAX_STANDINGS))
    buttons = tuple(_standing_buttons(s, labelled=True) for s in standings[:MAX_STANDINGS])
    return Reply("fallback.several", {"body": Markup("\n\n".join(blocks))}, buttons=buttons)


def overview(
    texts: Texts,
    lang: str,
    mine: Sequence[Exchange],
    programmes: Mapping[str, Programme],
    today: date,
) -> Markup:
    """A coordinator's list of every exchange, one line each, marking those whose dates are
    still to agree."""
    lines = []
    for exchange in mine:
        programme = programmes.get(exchange.programme_key)
        still_open = open_days(programme, exchange.phases, today) if programme else []
        key = "programme.overview_line_open" if still_open else "programme.overview_line"
        lines.append(
            texts.get(
                lang,
                key,
                label=label(exchange),
                start=format_date(exchange.start_date, lang),
            )
        )
    return _join(lines)


def progress(
    texts: Texts, lang: str, exchange: Exchange, groups: Sequence[Progress], today: date
) -> Markup:
    """Checklist progress for a coordinator: the pair's items once, each class's, and each
    member's own (services.checklists.progress), with who ticked what."""
    lines = [exchange_heading(texts, lang, exchange)]
    for group in groups:
        if group.group == "pair":
            who = texts.get(lang, "checklists.side_pair")
        elif group.group in ("A", "B"):
            who = texts.get(
                lang, "checklists.side_teachers", school=side_of(exchange, group.group).school.name
            )
        elif group.role == ROLE_TEACHER and group.side in ("A", "B"):
            school = side_of(exchange, group.side).school.name
            who = texts.get(lang, "checklists.side_teacher", name=group.name, school=school)
        else:
            who = texts.get(lang, "checklists.side_begeleider", name=group.name)
        lines.append("")
        lines.append(
            texts.get(
                lang,
                "checklists.progress_line",
                who=Markup(who),
                done=group.done,
                total=group.total,
            )
        )
        for entry in group.current[:8]:
            lines.append(outbox.checklist_line(texts, lang, entry, today))
        if len(group.current) > 8:
            lines.append(texts.get(lang, "checklists.more", count=len(group.current) - 8))
    return _join(lines)


def today(
    texts: Texts,
    lang: str,
    mine: Sequence[Exchange],
    programmes: Mapping[str, Programme],
    contacts: Mapping[int, Sequence[User]],
    day: date,
    *,
    viewer: User | None = None,
    phones: Mapping[int, Sequence[PhoneContact]] | None = None,
) -> Markup:
    """Today's schedules, or when the next exchange day is; `contacts` are whom to call per
    exchange id (services.exchanges.contacts), `phones` the numbers shared with `viewer`
    (services.schools.phone_books), whose side of a visit each schedule speaks to."""
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
                body = outbox.day_schedule(
                    texts,
                    lang,
                    exchange,
                    programme,
                    row,
                    reader=reader_of(exchange, viewer) if viewer is not None else None,
                    phones=phones.get(exchange.id, ()) if phones is not None else None,
                )
                # Whom to call never names the reader: a coordinator is not told to call herself.
                callers = [
                    u for u in contacts.get(exchange.id, ()) if viewer is None or u.id != viewer.id
                ]
                contact = outbox.contact_line(texts, lang, callers)
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
                sequence=event_sequence(row.revision, row.agreed),
                # A week of lessons is never agreed: only a day's date can be provisional.
                tentative=phase.kind == "day" and not row.agreed,
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


def edit_exchange_overview(texts: Texts, lang: str, *, exchange: Exchange) -> Markup:
    """What /wijzig can change of an exchange, as it is now."""
    lines = [exchange_heading(texts, lang, exchange)]
    for side in sorted(exchange.sides, key=lambda s: s.side):
        lines.append(
            _side_line(
                texts,
                lang,
                side.side,
                side.school.name,
                side.school.address,
                side.class_name,
                side.class_size,
            )
        )
    region = (
        texts.get(lang, f"region.{exchange.region}")
        if exchange.region
        else texts.get(lang, "edit_exchange.no_region")
    )
    lines.append(texts.get(lang, "exchange.region_line", region=region))
    return _join(lines)
