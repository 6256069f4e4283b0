"""What each outbox message says, written when it goes out from what was loaded for it.

bot/services/outbox_content.py loads the current state a message needs (one object per kind);
these functions turn that into text and buttons, and run no queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.agreement import open_days
from bot.domain.dates import format_date, format_time
from bot.domain.outbox import (
    INCIDENT_REPEAT,
    INCIDENT_SEEN,
    INCIDENT_UPDATE,
    MEMBER_JOINED,
    USER_BACK,
    USER_BLOCKED,
)
from bot.domain.programme import Programme
from bot.domain.timeline import timed_schedule
from bot.services import checklists, exchanges, headcounts
from bot.services.broadcasts import BroadcastMessage, BroadcastReport
from bot.services.groups import IncidentNotice
from bot.services.outbox_content import (
    AbsenceNews,
    Agreed,
    Alert,
    CheckinMissing,
    Content,
    DateReminder,
    DayOffer,
    DaySchedule,
    Declined,
    Digest,
    FollowUp,
    InviteTried,
    MemberAdded,
    MemberNews,
    MemberRemoved,
    Nag,
    Proposal,
    ReporterNotice,
    Undelivered,
)
from bot.services.schools import PhoneContact, Reader
from bot.services.summary import Summary
from bot.texts import Markup, Texts
from bot.ui import callbacks
from bot.ui import groups as group_texts
from bot.ui import manage as manage_texts
from bot.ui import schools as school_texts
from bot.ui import summary as summary_texts
from bot.ui.replies import Btn
from db.models import (
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    Exchange,
    ExchangePhase,
    Incident,
    IncidentAction,
    User,
)


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: tuple[tuple[Btn, ...], ...] = ()
    photo: str | None = None  # a Telegram file id, sent with the text as its caption
    # What the photo says when the text is too long for a caption and follows on its own.
    file_caption: str | None = None
    document: str | None = None  # a Telegram file id, sent like the photo
    filename: str | None = None


def item_label(texts: Texts, lang: str, entry: checklists.Entry) -> str:
    """The item with the day it is for, as plain text: "Dag 1 · Vervoer geregeld …"."""
    label = entry.phase.item_label
    text = entry.item.text.get(lang)
    if label is None:
        return text
    return texts.plain(lang, "checklists.labelled", label=label.get(lang), item=text)


def check_button(texts: Texts, lang: str, exchange_id: int, entry: checklists.Entry) -> Btn:
    mark = "✅" if entry.done else "⬜"
    return Btn(
        callbacks.check(exchange_id, entry.item.key),
        label=f"{mark} {item_label(texts, lang, entry)}",
    )


_SCOPE_NOTES = {
    ("teacher", "pair"): "checklists.scope_pair",
    ("teacher", "person"): "checklists.scope_person",
    ("begeleider", "pair"): "checklists.scope_begeleiders",
}


def checklist_line(
    texts: Texts,
    lang: str,
    entry: checklists.Entry,
    today: date,
    *,
    labelled: bool = True,
    whose: bool = False,
) -> str:
    """One item with its deadline ("was uiterlijk …" when that passed), or who ticked it.

    `labelled`: with the day it is for (not under a heading of that day); `whose`: an open
    item says whose tick it is when that is not the reader's usual (the class for a teacher,
    themselves for a begeleider); a ticked one says who ticked it.
    """
    item = item_label(texts, lang, entry) if labelled else entry.item.text.get(lang)
    if entry.done:
        return texts.get(lang, "checklists.line_done", item=item, name=entry.done_by or "?")
    note = _SCOPE_NOTES.get((entry.item.role, entry.item.scope)) if whose else None
    if note is not None:
        item = texts.plain(lang, note, item=item)
    key = "checklists.line_late" if entry.overdue(today) else "checklists.line"
    return texts.get(lang, key, item=item, deadline=format_date(entry.deadline, lang))


def _host_line(texts: Texts, lang: str, exchange: Exchange, row: ExchangePhase) -> str:
    if row.host in ("A", "B"):
        school = exchanges.side_of(exchange, row.host).school
        if school.address:
            return texts.get(lang, "day.host_address", school=school.name, address=school.address)
        return texts.get(lang, "day.host", school=school.name)
    return texts.get(lang, f"exchange.host_{row.host}")


def visit_line(
    texts: Texts, lang: str, exchange: Exchange, row: ExchangePhase, side: str | None
) -> str | None:
    """Who goes where on a day at school A or B, said to the reader's side (`side`, the class
    they teach): the visitors go to the host (and are expected at the start), the hosts
    receive the other school; anyone else reads who visits whom. None for a day online."""
    if row.host not in ("A", "B"):
        return None
    host = exchanges.side_of(exchange, row.host).school
    guest = exchanges.side_of(exchange, "B" if row.host == "A" else "A").school
    where = (
        texts.get(lang, "day.at_address", school=host.name, address=host.address)
        if host.address
        else texts.get(lang, "day.at_no_address", school=host.name)
    )
    start = format_time(row.start_time) if row.start_time is not None else None
    if side == row.host:
        key = "day.visit_host" if start else "day.visit_host_no_time"
        return texts.get(lang, key, school=guest.name, time=start or "")
    if side in ("A", "B"):
        key = "day.visit_guest" if start else "day.visit_guest_no_time"
        return texts.get(lang, key, where=Markup(where), time=start or "")
    return texts.get(lang, "day.visit_neutral", guest=guest.name, where=Markup(where))


def day_line(
    texts: Texts, lang: str, exchange: Exchange, programme: Programme, row: ExchangePhase
) -> str:
    """One day phase with its date, time and place, as in digests and /programma."""
    phase = programme.phase(row.phase_key)
    when = format_date(row.starts_on, lang)
    if row.start_time is not None:
        when = f"{when}, {format_time(row.start_time)}"
    key = "digest.day_line" if row.agreed else "digest.day_line_provisional"
    return texts.get(
        lang,
        key,
        name=phase.name.get(lang),
        when=when,
        place=Markup(_host_line(texts, lang, exchange, row)),
    )


def day_schedule(
    texts: Texts,
    lang: str,
    exchange: Exchange,
    programme: Programme,
    row: ExchangePhase,
    *,
    reader: Reader | None = None,
    phones: Sequence[PhoneContact] | None = None,
) -> str:
    """The schedule of a day: who goes where (said to the `reader`'s side), both schools'
    addresses, times, activities, places, who is there and the numbers to call (`phones`,
    those shared with the reader; None leaves them out)."""
    reader = reader or Reader()
    phase = programme.phase(row.phase_key)
    lines = [
        texts.get(
            lang,
            "day.title",
            phase=phase.name.get(lang),
            title=exchanges.title(exchange),
            date=format_date(row.starts_on, lang),
        )
    ]
    visit = visit_line(texts, lang, exchange, row, reader.side)
    if visit is None:
        lines.append(_host_line(texts, lang, exchange, row))
    else:
        lines.append(visit)
        lines += school_texts.address_lines(texts, lang, exchange, row.host, reader)
    lines.append("")
    for item in timed_schedule(phase, row.start_time):
        place = item.item.place.get(lang) if item.item.place else ""
        lines.append(
            texts.get(
                lang,
                "day.item" if place else "day.item_no_place",
                start=format_time(item.starts_at),
                end=format_time(item.ends_at),
                activity=item.item.activity.get(lang),
                place=place,
            )
        )
    lines.append("")
    begeleiders = [m.user.display_name for m in exchange.memberships if m.role == ROLE_BEGELEIDER]
    teachers = [
        texts.plain(
            lang,
            "exchange.person_at",
            name=m.user.display_name,
            school=exchanges.side_of(exchange, m.side).school.name,
        )
        for m in exchange.memberships
        if m.role == ROLE_TEACHER and m.side
    ]
    nobody = texts.plain(lang, "exchange.nobody_yet")
    lines.append(texts.get(lang, "exchange.teachers", names=", ".join(teachers) or nobody))
    lines.append(texts.get(lang, "exchange.begeleiders", names=", ".join(begeleiders) or nobody))
    if phones is not None:
        lines += ["", *school_texts.phone_lines(texts, lang, phones, reader)]
    return "\n".join(lines)


def contact_line(texts: Texts, lang: str, people: Sequence[User]) -> str:
    """Whom to call: `people` are the coordinator who made the exchange, else every coordinator
    (services.exchanges.coordinators_of)."""
    names = [f"{u.display_name} (@{u.username})" if u.username else u.display_name for u in people]
    if not names:
        return ""
    return texts.get(lang, "day.contact", names=", ".join(names))


def render(
    texts: Texts, lang: str, content: Content, *, tz: ZoneInfo, ack_minutes: int
) -> Rendered:
    """The message written from `content`: `tz` for the times of an incident, `ack_minutes`
    for how long an alert waited before it was repeated."""
    if isinstance(content, BroadcastMessage | BroadcastReport):
        from bot.ui import broadcasts  # it writes a Rendered from this module

        return broadcasts.render(texts, lang, content, tz=tz)
    if isinstance(content, Digest):
        return digest(texts, lang, content)
    if isinstance(content, FollowUp):
        return follow_up(texts, lang, content)
    if isinstance(content, DaySchedule):
        body = day_schedule(
            texts,
            lang,
            content.exchange,
            content.programme,
            content.day,
            reader=content.reader,
            phones=content.phones,
        )
        contact = contact_line(texts, lang, content.contacts)
        return Rendered(
            "\n".join(x for x in (body, contact) if x),
            absence_buttons(texts, lang, content.exchange, content.programme, content.offers),
        )
    if isinstance(content, Nag):
        return nag(texts, lang, content)
    if isinstance(content, Proposal):
        return proposal(texts, lang, content)
    if isinstance(content, Agreed):
        return agreed(texts, lang, content)
    if isinstance(content, Declined):
        return declined(texts, lang, content)
    if isinstance(content, Alert):
        return alert_message(texts, lang, content, tz=tz, ack_minutes=ack_minutes)
    if isinstance(content, ReporterNotice):
        return reporter_notice(texts, lang, content, tz=tz)
    if isinstance(content, CheckinMissing):
        return checkin_missing(texts, lang, content)
    if isinstance(content, AbsenceNews):
        return absence_news(texts, lang, content)
    if isinstance(content, Undelivered):
        return undelivered(texts, lang, content)
    if isinstance(content, InviteTried):
        return invite_tried(texts, lang, content)
    if isinstance(content, DateReminder):
        return date_reminder(texts, lang, content)
    if isinstance(content, MemberAdded):
        return Rendered(manage_texts.member_added(texts, lang, content))
    if isinstance(content, MemberRemoved):
        return Rendered(manage_texts.member_removed(texts, lang, content))
    if isinstance(content, IncidentNotice):
        return Rendered(group_texts.incident_notice(texts, lang, content))
    if isinstance(content, Summary):
        return Rendered(summary_texts.week(texts, lang, content, tz=tz))
    return member_news(texts, lang, content)


def digest(texts: Texts, lang: str, content: Digest) -> Rendered:
    """The week's phases and days, and the checklist items due by the end of next week."""
    exchange, programme, monday = content.exchange, content.programme, content.monday
    friday = monday + timedelta(days=4)
    week_no = (monday - exchange.start_date).days // 7 + 1
    lines = [
        texts.get(
            lang,
            "digest.title",
            week=week_no,
            weeks=programme.weeks,
            title=exchanges.title(exchange),
        )
    ]
    if content.late:
        lines.append(texts.get(lang, "digest.late"))
    this_week = [
        p
        for p in sorted(exchange.phases, key=lambda p: p.starts_on)
        if p.starts_on <= friday and p.ends_on >= monday
    ]
    for row in this_week:
        phase = programme.phase(row.phase_key)
        lines += [
            "",
            texts.get(
                lang,
                "digest.phase",
                phase=phase.name.get(lang),
                description=phase.description.get(lang),
            ),
        ]
        # Who goes where, for the reader's side: the description says what happens.
        visit = visit_line(texts, lang, exchange, row, content.side)
        if phase.kind == "day" and visit is not None:
            lines.append(visit)
    if not this_week:
        lines += ["", texts.get(lang, "digest.no_phase")]
    days = [p for p in this_week if programme.phase(p.phase_key).kind == "day"]
    if days:
        lines += ["", texts.get(lang, "digest.days_header")]
        lines += [day_line(texts, lang, exchange, programme, p) for p in days]
        if any(not p.agreed for p in days) and content.teaches:
            lines.append(texts.get(lang, "digest.agree_hint"))
    # Open items due this coming week or overdue (at most eight), and how many more are open.
    todo = checklists.to_do(content.entries, monday)
    buttons: tuple[tuple[Btn, ...], ...] = ()
    if todo.items:
        lines += ["", texts.get(lang, "digest.todo_header")]
        lines += [
            texts.get(
                lang,
                "digest.todo_late",
                item=item_label(texts, lang, e),
                deadline=format_date(e.deadline, lang),
            )
            for e in todo.items
            if e.overdue(monday)
        ]
        buttons = tuple((check_button(texts, lang, exchange.id, e),) for e in todo.items)
    if todo.more:
        if not todo.items:
            lines.append("")
        key = "digest.todo_more" if todo.items else "digest.todo_later"
        lines.append(texts.amount(lang, key, todo.more))
    still_open = set(open_days(programme, exchange.phases, monday))
    next_friday = friday + timedelta(days=7)
    soon = [p for p in exchange.phases if p.phase_key in still_open and p.starts_on <= next_friday]
    if content.teaches and still_open and (week_no == 1 or soon):
        # Teachers are asked to agree their dates in the first week, and again while an open
        # day is near, with a button (a year of monthly meetings does not ask every week).
        if texts.get(lang, "digest.agree_hint") not in lines:
            lines += ["", texts.get(lang, "digest.agree_ask")]
        buttons = (*buttons, (agree_button(exchange.id),))
    buttons = (*buttons, *absence_buttons(texts, lang, exchange, programme, content.offers))
    return Rendered("\n".join(lines), buttons)


def follow_up(texts: Texts, lang: str, content: FollowUp) -> Rendered:
    return Rendered(
        texts.get(
            lang,
            "digest.follow_up",
            title=exchanges.title(content.exchange),
            tips=content.programme.follow_up.get(lang).strip(),
        )
    )


def nag(texts: Texts, lang: str, content: Nag) -> Rendered:
    """The items still open before a deadline, each a button to tick it."""
    exchange = content.exchange
    text = texts.get(
        lang,
        "nag.text",
        title=exchanges.title(exchange),
        deadline=format_date(content.deadline, lang),
    )
    buttons = tuple((check_button(texts, lang, exchange.id, e),) for e in content.still_open)
    return Rendered(text, buttons)


def proposal(texts: Texts, lang: str, content: Proposal) -> Rendered:
    """A date proposal with the buttons to accept it or propose another."""
    exchange, found = content.exchange, content.proposal
    school = exchanges.side_of(exchange, found.side).school.name if found.side else ""
    when = format_date(found.day, lang)
    if found.start_time:
        when = f"{when}, {format_time(found.start_time)}"
    text = texts.get(
        lang,
        "date_agreement.proposal_notice",
        name=content.proposer,
        school=school,
        phase=content.programme.phase(found.phase_key).name.get(lang),
        when=when,
        id=exchange.id,
        title=exchanges.title(exchange),
    )
    buttons = (
        (
            Btn(
                callbacks.action(callbacks.ACCEPT_PREFIX, found.id), key="date_agreement.btn_accept"
            ),
            Btn(callbacks.action(callbacks.OTHER_PREFIX, found.id), key="date_agreement.btn_other"),
        ),
    )
    return Rendered(text, buttons)


def agreed(texts: Texts, lang: str, content: Agreed) -> Rendered:
    """A date is fixed; when it moved, where it was before ("was woensdag 10 maart, 08:45")."""
    exchange = content.exchange
    params: dict[str, object] = {
        "id": exchange.id,
        "title": exchanges.title(exchange),
        "line": Markup(day_line(texts, lang, exchange, content.programme, content.day)),
    }
    default = content.programme.phase(content.day.phase_key).default_start_time
    now_at = (content.day.starts_on, content.day.start_time or default)
    if content.was is None or (content.was[0], content.was[1] or default) == now_at:
        text = texts.get(lang, "date_agreement.agreed_notice", **params)
    else:
        was_day, was_time = content.was[0], content.was[1] or default
        was = format_date(was_day, lang)
        if was_time is not None:
            was = f"{was}, {format_time(was_time)}"
        text = texts.get(lang, "date_agreement.moved_notice", was=was, **params)
    # The calendar file keeps each event's UID and raises its SEQUENCE: importing it again
    # moves the event people already have.
    update = Btn(
        callbacks.action(callbacks.CALENDAR_PREFIX, exchange.id), key="calendar.btn_update"
    )
    return Rendered(f"{text}\n\n{texts.get(lang, 'calendar.changed')}", ((update,),))


def agree_button(exchange_id: int) -> Btn:
    """ "📅 Datum afspreken": starts /datum for this exchange."""
    return Btn(
        callbacks.action(callbacks.DATE_START_PREFIX, exchange_id), key="date_reminder.btn_agree"
    )


def date_reminder(texts: Texts, lang: str, content: DateReminder) -> Rendered:
    """To a teacher: the days still to agree, with the button that starts /datum."""
    exchange = content.exchange
    lines = [day_line(texts, lang, exchange, content.programme, row) for row in content.still_open]
    text = texts.get(
        lang,
        "date_reminder.text",
        id=exchange.id,
        title=exchanges.title(exchange),
        lines=Markup("\n".join(lines)),
    )
    return Rendered(text, ((agree_button(exchange.id),),))


def declined(texts: Texts, lang: str, content: Declined) -> Rendered:
    return Rendered(
        texts.get(
            lang,
            "date_agreement.declined_notice",
            name=content.by,
            phase=content.programme.phase(content.phase_key).name.get(lang),
            title=exchanges.title(content.exchange),
        )
    )


def undelivered(texts: Texts, lang: str, content: Undelivered) -> Rendered:
    """Tell the sender (or coordinator) what did not arrive, to whom, and why."""
    exchange, name = content.exchange, content.recipient
    phase = content.programme.phase(content.phase_key).name.get(lang) if content.phase_key else ""
    day = format_date(content.day, lang) if content.day is not None else ""
    what_key = f"undelivered.what_{content.kind}"
    what = (
        texts.get(
            lang,
            what_key,
            phase=phase,
            day=day,
            incident=content.incident if content.incident is not None else "?",
        )
        if texts.has(what_key)
        # Never an internal name: the kind as /berichten calls it.
        else texts.get(
            lang,
            f"outbox.kind_{content.kind}"
            if texts.has(f"outbox.kind_{content.kind}")
            else "outbox.kind_other",
        )
    )
    return Rendered(
        texts.get(
            lang,
            "undelivered.notice",
            what=Markup(what),
            name=name,
            id=exchange.id,
            title=exchanges.title(exchange),
            reason=Markup(texts.get(lang, f"undelivered.reason_{content.reason}", name=name)),
        )
    )


_MEMBER_NEWS = {
    USER_BLOCKED: "undelivered.blocked_notice",
    USER_BACK: "undelivered.back_notice",
    MEMBER_JOINED: "invites.joined_notice",
}


def _role(texts: Texts, lang: str, exchange: Exchange, role: str, side: str | None) -> str:
    """ "leerkracht van De Odyssee" or "begeleider"."""
    if role == ROLE_TEACHER and side in ("A", "B"):
        school = exchanges.side_of(exchange, side).school.name
        return texts.plain(lang, "undelivered.role_teacher", school=school)
    return texts.plain(lang, "undelivered.role_begeleider")


def member_news(texts: Texts, lang: str, content: MemberNews) -> Rendered:
    """Tell a coordinator that a member joined, blocked the bot, or writes to it again."""
    exchange = content.exchange
    role = _role(texts, lang, exchange, content.role, content.side)
    key = _MEMBER_NEWS[content.kind]
    return Rendered(
        texts.get(
            lang,
            key,
            name=content.member,
            role=role,
            id=exchange.id,
            title=exchanges.title(exchange),
        )
    )


def invite_tried(texts: Texts, lang: str, content: InviteTried) -> Rendered:
    """Tell a coordinator that a link no longer works for someone, with a button for new ones."""
    exchange = content.exchange
    return Rendered(
        texts.get(
            lang,
            f"invites.tried_{content.why}",
            role=_role(texts, lang, exchange, content.role, content.side),
            id=exchange.id,
            title=exchanges.title(exchange),
        ),
        buttons=(
            (Btn(callbacks.action(callbacks.INVITE_PREFIX, exchange.id), key="invites.btn_new"),),
        ),
    )


def checkin_missing(texts: Texts, lang: str, content: CheckinMissing) -> Rendered:
    """Tell the coordinators which begeleiders have not checked in yet, and who said they
    cannot come; when nobody comes at all, say that."""
    exchange, row = content.exchange, content.day
    phase = content.programme.phase(row.phase_key)
    start = row.start_time or phase.default_start_time
    params: dict[str, object] = {
        "id": exchange.id,
        "title": exchanges.title(exchange),
        "phase": phase.name.get(lang),
        "time": format_time(start) if start else "?",
    }
    if not content.missing:
        return Rendered(
            texts.get(lang, "checkin.nobody_alert", names=", ".join(content.absent), **params)
        )
    lines = [texts.get(lang, "checkin.missing_alert", names=", ".join(content.missing), **params)]
    if content.absent:
        lines.append(texts.get(lang, "checkin.missing_absent", names=", ".join(content.absent)))
    return Rendered("\n".join(lines))


def day_and_time(lang: str, programme: Programme, row: ExchangePhase) -> str:
    """ "woensdag 10 februari, 08:45": the day and the time it starts."""
    start = row.start_time or programme.phase(row.phase_key).default_start_time
    when = format_date(row.starts_on, lang)
    return f"{when}, {format_time(start)}" if start else when


def absence_buttons(
    texts: Texts,
    lang: str,
    exchange: Exchange,
    programme: Programme,
    offers: Sequence[DayOffer],
) -> tuple[tuple[Btn, ...], ...]:
    """ "Ik kan niet komen" for each day offered (or "Ik kan toch komen" once said), one per
    row, with its date: beside a checklist's buttons a bare "Ik kan niet" would be unclear."""
    out = []
    for offer in offers:
        prefix = callbacks.ABSENCE_UNDO_PREFIX if offer.absent else callbacks.ABSENCE_PREFIX
        key = "absence.btn_undo_day" if offer.absent else "absence.btn_day"
        label = texts.plain(lang, key, day=format_date(offer.day.starts_on, lang))
        out.append((Btn(callbacks.absence(prefix, exchange.id, offer.day.phase_key), label=label),))
    return tuple(out)


def absence_news(texts: Texts, lang: str, content: AbsenceNews) -> Rendered:
    """Tell a coordinator that someone cannot come on a day (or can after all), and who of the
    begeleiders still comes."""
    exchange, row = content.exchange, content.day
    lines = [
        texts.get(
            lang,
            "absence.news_off" if content.absent else "absence.news_on",
            name=content.member,
            role=_role(texts, lang, exchange, content.role, content.side),
            phase=content.programme.phase(row.phase_key).name.get(lang),
            when=day_and_time(lang, content.programme, row),
            id=exchange.id,
            title=exchanges.title(exchange),
        )
    ]
    if content.coming:
        lines.append(texts.get(lang, "absence.coming", names=", ".join(content.coming)))
    else:
        lines.append(texts.get(lang, "absence.nobody_coming"))
    return Rendered("\n".join(lines))


def incident_buttons(incident: Incident) -> tuple[tuple[Btn, ...], ...]:
    """What can still be done: Gezien and Opgelost while open, Opgelost once seen, then nothing."""
    if incident.status == "resolved":
        return ()
    resolve = Btn(
        callbacks.action(callbacks.RESOLVE_PREFIX, incident.id), key="incidents.btn_resolve"
    )
    if incident.status == "acknowledged":
        return ((resolve,),)
    ack = Btn(callbacks.action(callbacks.ACK_PREFIX, incident.id), key="incidents.btn_ack")
    return ((ack, resolve),)


def _moment(lang: str, at: datetime, since: datetime, tz: ZoneInfo) -> str:
    """The local time of an action, with the date when it is not the incident's day."""
    local = at.astimezone(tz)
    when = format_time(local.time())
    if local.date() != since.astimezone(tz).date():
        when = f"{format_date(local.date(), lang, weekday=False)} {when}"
    return when


def _actor(action: IncidentAction) -> str:
    return action.user.display_name if action.user is not None else "?"


def drop_line(texts: Texts, lang: str, drop: headcounts.Drop, school: str) -> str:
    """ "2 leerlingen minder van Het Kompas dan bij aankomst (22 → 20)"."""
    return texts.get(
        lang,
        "headcounts.drop_line",
        pupils=texts.amount(lang, "headcounts.pupils", drop.fewer),
        school=school,
        since=texts.plain(lang, f"headcounts.since_{drop.previous_moment}"),
        before=drop.before,
        after=drop.after,
    )


def incident_state(texts: Texts, lang: str, incident: Incident, tz: ZoneInfo) -> list[str]:
    """Who has seen it and who solved it, with the time, as every copy of the alert shows."""
    lines = []
    acks = [a for a in incident.actions if a.action == "ack"]
    if len(acks) == 1:
        lines.append(
            texts.get(
                lang,
                "incidents.seen_by",
                name=_actor(acks[0]),
                time=_moment(lang, acks[0].at, incident.created_at, tz),
            )
        )
    elif acks:
        names = ", ".join(
            f"{_actor(a)} ({_moment(lang, a.at, incident.created_at, tz)})" for a in acks
        )
        lines.append(texts.get(lang, "incidents.seen_by_several", names=names))
    done = next((a for a in incident.actions if a.action in ("resolve", "close")), None)
    if done is not None:
        key = f"incidents.{'resolved' if done.action == 'resolve' else 'closed'}_by"
        lines.append(
            texts.get(
                lang,
                f"{key}_note" if done.note else key,
                name=_actor(done),
                time=_moment(lang, done.at, incident.created_at, tz),
                note=done.note or "",
            )
        )
    elif incident.status == "resolved":
        lines.append(texts.get(lang, "incidents.resolved_state"))
    return lines


def incident_text(
    texts: Texts,
    lang: str,
    incident: Incident,
    exchange: Exchange,
    reporter: str,
    tz: ZoneInfo,
) -> str:
    """An incident with everything those who must act need to know, and where it stands."""
    when = incident.created_at.astimezone(tz)
    lines = [
        texts.get(
            lang,
            f"incidents.head_{incident.severity}",
            id=incident.id,
            category=texts.plain(lang, f"incidents.category_{incident.category}"),
        ),
        texts.get(
            lang,
            "incidents.where",
            id=exchange.id,
            title=exchanges.title(exchange),
            time=format_time(when.time()),
            name=reporter,
        ),
    ]
    drop = headcounts.Drop.of(incident.drop) if incident.drop is not None else None
    if drop is not None:
        school = exchanges.side_of(exchange, drop.side).school.name
        lines.append(drop_line(texts, lang, drop, school))
    if incident.team_number is not None:
        lines.append(texts.get(lang, "incidents.team", team=incident.team_number))
    if incident.description:
        lines.append(texts.get(lang, "incidents.what", text=incident.description))
    lines += incident_state(texts, lang, incident, tz)
    return "\n".join(lines)


def alert_message(
    texts: Texts, lang: str, alert: Alert, *, tz: ZoneInfo, ack_minutes: int
) -> Rendered:
    """A copy of the alert (first alert, repeat or addition) as it reads now, with the buttons
    that still make sense; used when it is sent and again whenever someone acts on it."""
    incident = alert.incident
    buttons = incident_buttons(incident)
    if alert.kind == INCIDENT_UPDATE:
        lines = [texts.get(lang, "incidents.update", id=incident.id, note=alert.note)]
        lines += incident_state(texts, lang, incident, tz)
        return Rendered("\n".join(lines), buttons)
    body = incident_text(texts, lang, incident, alert.exchange, alert.reporter, tz)
    if alert.kind == INCIDENT_REPEAT:
        repeat = texts.get(
            lang, "incidents.repeat", wait=texts.amount(lang, "common.minutes", ack_minutes)
        )
        body = f"{repeat}\n{body}"
    caption = None
    if incident.photo_file_id:
        caption = texts.get(
            lang,
            "incidents.photo_caption",
            id=incident.id,
            category=texts.plain(lang, f"incidents.category_{incident.category}"),
            severity=texts.plain(lang, f"incidents.severity_{incident.severity}").lower(),
        )
    return Rendered(body, buttons, photo=incident.photo_file_id, file_caption=caption)


def reporter_notice(texts: Texts, lang: str, notice: ReporterNotice, *, tz: ZoneInfo) -> Rendered:
    """Tell whoever raised the alert that someone has seen it, or solved it."""
    incident, action = notice.incident, notice.action
    params = {
        "id": incident.id,
        "name": _actor(action),
        "time": _moment(lang, action.at, incident.created_at, tz),
        "note": action.note or "",
    }
    if notice.kind == INCIDENT_SEEN:
        return Rendered(texts.get(lang, "incidents.seen_notice", **params))
    key = "incidents.solved_notice" if action.action == "resolve" else "incidents.closed_notice"
    return Rendered(texts.get(lang, f"{key}_note" if action.note else key, **params))
