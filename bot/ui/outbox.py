"""What each outbox message says, written when it goes out from what was loaded for it.

bot/services/outbox_content.py loads the current state a message needs (one object per kind);
these functions turn that into text and buttons, and run no queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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
from bot.services.outbox_content import (
    Agreed,
    Alert,
    CheckinMissing,
    Content,
    DaySchedule,
    Declined,
    Digest,
    FollowUp,
    InviteTried,
    MemberNews,
    Nag,
    Proposal,
    ReporterNotice,
    Undelivered,
)
from bot.texts import Markup, Texts
from bot.ui import callbacks
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


def check_button(texts: Texts, lang: str, exchange_id: int, entry: checklists.Entry) -> Btn:
    mark = "✅" if entry.done else "⬜"
    return Btn(
        callbacks.check(exchange_id, entry.item.key), label=f"{mark} {entry.item.text.get(lang)}"
    )


def _host_line(texts: Texts, lang: str, exchange: Exchange, row: ExchangePhase) -> str:
    if row.host in ("A", "B"):
        school = exchanges.side_of(exchange, row.host).school
        if school.address:
            return texts.get(lang, "day.host_address", school=school.name, address=school.address)
        return texts.get(lang, "day.host", school=school.name)
    return texts.get(lang, f"exchange.host_{row.host}")


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
    texts: Texts, lang: str, exchange: Exchange, programme: Programme, row: ExchangePhase
) -> str:
    """The schedule of a day: times, activities, places, who is there and whom to call."""
    phase = programme.phase(row.phase_key)
    lines = [
        texts.get(
            lang,
            "day.title",
            phase=phase.name.get(lang),
            title=exchanges.title(exchange),
            date=format_date(row.starts_on, lang),
        ),
        _host_line(texts, lang, exchange, row),
        "",
    ]
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
    if isinstance(content, Digest):
        return digest(texts, lang, content)
    if isinstance(content, FollowUp):
        return follow_up(texts, lang, content)
    if isinstance(content, DaySchedule):
        body = day_schedule(texts, lang, content.exchange, content.programme, content.day)
        contact = contact_line(texts, lang, content.contacts)
        return Rendered("\n".join(x for x in (body, contact) if x))
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
    if isinstance(content, Undelivered):
        return undelivered(texts, lang, content)
    if isinstance(content, InviteTried):
        return invite_tried(texts, lang, content)
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
    if not this_week:
        lines += ["", texts.get(lang, "digest.no_phase")]
    days = [p for p in this_week if programme.phase(p.phase_key).kind == "day"]
    if days:
        lines += ["", texts.get(lang, "digest.days_header")]
        lines += [day_line(texts, lang, exchange, programme, p) for p in days]
        if any(not p.agreed for p in days) and content.teaches:
            lines.append(texts.get(lang, "digest.agree_hint"))
    horizon = friday + timedelta(days=7)
    todo = [e for e in content.entries if not e.done and e.deadline <= horizon]
    buttons: tuple[tuple[Btn, ...], ...] = ()
    if todo:
        lines += ["", texts.get(lang, "digest.todo_header")]
        buttons = tuple((check_button(texts, lang, exchange.id, e),) for e in todo)
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
        return Rendered(texts.get(lang, "date_agreement.agreed_notice", **params))
    was_day, was_time = content.was[0], content.was[1] or default
    was = format_date(was_day, lang)
    if was_time is not None:
        was = f"{was}, {format_time(was_time)}"
    return Rendered(texts.get(lang, "date_agreement.moved_notice", was=was, **params))


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
        else content.kind
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
    """Tell the coordinators which begeleiders have not checked in yet."""
    exchange, row = content.exchange, content.day
    when = format_time(row.start_time) if row.start_time else ""
    return Rendered(
        texts.get(
            lang,
            "checkin.missing_alert",
            id=exchange.id,
            title=exchanges.title(exchange),
            phase=content.programme.phase(row.phase_key).name.get(lang),
            time=when,
            names=", ".join(content.missing),
        )
    )


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
    """ "2 leerlingen van Het Kompas minder dan bij aankomst (22 → 20)"."""
    key = "headcounts.pupils_one" if drop.fewer == 1 else "headcounts.pupils_many"
    return texts.get(
        lang,
        "headcounts.drop_line",
        pupils=texts.plain(lang, key, count=drop.fewer),
        school=school,
        moment=texts.plain(lang, f"headcounts.moment_{drop.previous_moment}"),
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
