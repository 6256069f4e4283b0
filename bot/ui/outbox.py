"""What each kind of push says, written at send time from the current state.

Rendering at send time (not at planning time) means a digest shows the checklist as it is on
Monday morning and a nag never lists an item that was ticked in the meantime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.domain.dates import format_date, format_time
from bot.domain.outbox import UNDELIVERED
from bot.domain.programme import Programme
from bot.domain.timeline import timed_schedule
from bot.services import checkins, checklists, exchanges, headcounts, incidents
from bot.services.outbox import USER_BACK, USER_BLOCKED, Claimed
from bot.texts import Markup, Texts
from bot.ui import callbacks
from bot.ui.replies import Btn
from db.models import (
    ROLE_BEGELEIDER,
    ROLE_TEACHER,
    DateProposal,
    Exchange,
    ExchangePhase,
    Incident,
    IncidentAction,
    Membership,
    User,
)

# Messages to whoever raised an incident: someone has seen it, someone has solved it.
REPORTER_NOTICES = ("incident_seen", "incident_solved")


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: tuple[tuple[Btn, ...], ...] = ()
    photo: str | None = None  # a Telegram file id, sent with the text as its caption
    # What the photo says when the text is too long for a caption and follows on its own.
    file_caption: str | None = None


@dataclass(frozen=True)
class Skip:
    reason: str


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


async def render(session: AsyncSession, app: AppContext, row: Claimed) -> Rendered | Skip:
    """The message for one claimed outbox row, or why it is no longer worth sending."""
    texts, lang = app.texts, row.language
    exchange = await exchanges.load_exchange(session, row.exchange_id) if row.exchange_id else None
    if exchange is None:
        return Skip("exchange gone")
    programme = app.programmes.get(exchange.programme_key)
    if programme is None:
        return Skip("programme gone")
    roles = await exchanges.memberships_of(session, row.user_id, exchange.id)
    if row.kind in ("digest", "follow_up", "day_schedule", "checklist_nag") and not roles:
        return Skip("no longer a member")
    if row.kind == "digest":
        return await _digest(
            session,
            app,
            lang,
            exchange,
            programme,
            roles,
            date.fromisoformat(row.payload["week"]),
            late=row.late,
        )
    if row.kind == "follow_up":
        return Rendered(
            texts.get(
                lang,
                "digest.follow_up",
                title=exchanges.title(exchange),
                tips=programme.follow_up.get(lang).strip(),
            )
        )
    if row.kind == "day_schedule":
        phase_row = next((p for p in exchange.phases if p.phase_key == row.payload["phase"]), None)
        if phase_row is None or phase_row.starts_on.isoformat() != row.payload["date"]:
            return Skip("date changed")
        body = day_schedule(texts, lang, exchange, programme, phase_row)
        contact = contact_line(texts, lang, await exchanges.coordinators_of(session, exchange))
        return Rendered("\n".join(x for x in (body, contact) if x))
    if row.kind == "checklist_nag":
        return await _nag(session, app, lang, exchange, programme, roles, row.payload)
    if row.kind == "date_proposal":
        return await _proposal(session, app, lang, exchange, programme, row.payload)
    if row.kind == "date_agreed":
        phase_row = next((p for p in exchange.phases if p.phase_key == row.payload["phase"]), None)
        if phase_row is None:
            return Skip("phase gone")
        return Rendered(
            texts.get(
                lang,
                "dates.agreed_notice",
                id=exchange.id,
                title=exchanges.title(exchange),
                line=Markup(day_line(texts, lang, exchange, programme, phase_row)),
            )
        )
    if row.kind in (*incidents.ALERT_KINDS, *REPORTER_NOTICES):
        return await _incident(session, app, lang, exchange, row)
    if row.kind == "checkin_missing":
        return await _checkin_missing(session, app, lang, exchange, programme, row.payload)
    if row.kind == UNDELIVERED:
        return await _undelivered(session, app, lang, exchange, programme, row.payload)
    if row.kind in (USER_BLOCKED, USER_BACK):
        return await _block_news(session, app, lang, exchange, row)
    if row.kind == "date_declined":
        phase = programme.phase(row.payload["phase"])
        return Rendered(
            texts.get(
                lang,
                "dates.declined_notice",
                name=row.payload["by"],
                phase=phase.name.get(lang),
                title=exchanges.title(exchange),
            )
        )
    return Skip(f"unknown kind {row.kind}")


async def _undelivered(
    session: AsyncSession,
    app: AppContext,
    lang: str,
    exchange: Exchange,
    programme: Programme,
    payload: dict[str, Any],
) -> Rendered:
    """Tell the sender (or coordinator) what did not arrive, to whom, and why."""
    texts = app.texts
    kind = str(payload["kind"])
    about: dict[str, Any] = dict(payload.get("about") or {})
    recipient = await session.get(User, int(payload["to"]))
    name = recipient.display_name if recipient is not None else "?"
    phase = ""
    if isinstance(about.get("phase"), str) and about["phase"] in {p.key for p in programme.phases}:
        phase = programme.phase(about["phase"]).name.get(lang)
    day = ""
    if kind == "date_proposal" and "proposal" in about:
        proposal = await session.get(DateProposal, int(about["proposal"]))
        if proposal is not None:
            phase = programme.phase(proposal.phase_key).name.get(lang)
            day = format_date(proposal.day, lang)
    elif isinstance(about.get("date"), str):
        day = format_date(date.fromisoformat(about["date"]), lang)
    what_key = f"undelivered.what_{kind}"
    what = (
        texts.get(lang, what_key, phase=phase, day=day, incident=about.get("incident", "?"))
        if texts.has(what_key)
        else kind
    )
    reason = str(payload.get("reason", "failed"))
    return Rendered(
        texts.get(
            lang,
            "undelivered.notice",
            what=Markup(what),
            name=name,
            id=exchange.id,
            title=exchanges.title(exchange),
            reason=Markup(texts.get(lang, f"undelivered.reason_{reason}", name=name)),
        )
    )


async def _block_news(
    session: AsyncSession, app: AppContext, lang: str, exchange: Exchange, row: Claimed
) -> Rendered | Skip:
    """Tell a coordinator that a member blocked the bot, or writes to it again."""
    member = await session.get(User, int(row.payload["user"]))
    if member is None:
        return Skip("user gone")
    blocked = member.blocked_at is not None
    if blocked != (row.kind == USER_BLOCKED):
        return Skip("no longer true")
    texts = app.texts
    side = row.payload.get("side")
    if row.payload.get("role") == ROLE_TEACHER and side in ("A", "B"):
        school = exchanges.side_of(exchange, side).school.name
        role = texts.plain(lang, "undelivered.role_teacher", school=school)
    else:
        role = texts.plain(lang, "undelivered.role_begeleider")
    key = "undelivered.blocked_notice" if row.kind == USER_BLOCKED else "undelivered.back_notice"
    return Rendered(
        texts.get(
            lang,
            key,
            name=member.display_name,
            role=role,
            id=exchange.id,
            title=exchanges.title(exchange),
        )
    )


async def _entries_for(
    session: AsyncSession, exchange: Exchange, programme: Programme, roles: list[Membership]
) -> list[checklists.Entry]:
    found: list[checklists.Entry] = []
    for membership in roles:
        key = checklists.side_key(membership.role, membership.side)
        ticked = await checklists.ticked(session, exchange.id, key)
        found.extend(
            checklists.entries(
                programme, list(exchange.phases), membership.role, membership.side, ticked
            )
        )
    return found


async def _digest(
    session: AsyncSession,
    app: AppContext,
    lang: str,
    exchange: Exchange,
    programme: Programme,
    roles: list[Membership],
    monday: date,
    *,
    late: bool,
) -> Rendered:
    texts = app.texts
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
    if late:
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
        if any(not p.agreed for p in days) and any(m.role == ROLE_TEACHER for m in roles):
            lines.append(texts.get(lang, "digest.agree_hint"))
    horizon = friday + timedelta(days=7)
    todo = [
        e
        for e in await _entries_for(session, exchange, programme, roles)
        if not e.done and e.deadline <= horizon
    ]
    buttons: tuple[tuple[Btn, ...], ...] = ()
    if todo:
        lines += ["", texts.get(lang, "digest.todo_header")]
        buttons = tuple((check_button(texts, lang, exchange.id, e),) for e in todo)
    return Rendered("\n".join(lines), buttons)


async def _nag(
    session: AsyncSession,
    app: AppContext,
    lang: str,
    exchange: Exchange,
    programme: Programme,
    roles: list[Membership],
    payload: dict[str, object],
) -> Rendered | Skip:
    items = payload.get("items", [])  # the checklist item keys, a JSON list
    keys = set(items) if isinstance(items, list) else set()
    deadline = date.fromisoformat(str(payload["deadline"]))
    still_open = [
        e
        for e in await _entries_for(session, exchange, programme, roles)
        if e.item.key in keys and not e.done
    ]
    if not still_open:
        return Skip("nothing open")
    texts = app.texts
    text = texts.get(
        lang, "nag.text", title=exchanges.title(exchange), deadline=format_date(deadline, lang)
    )
    return Rendered(text, tuple((check_button(texts, lang, exchange.id, e),) for e in still_open))


async def _proposal(
    session: AsyncSession,
    app: AppContext,
    lang: str,
    exchange: Exchange,
    programme: Programme,
    payload: dict[str, object],
) -> Rendered | Skip:
    proposal = await session.get(DateProposal, int(str(payload["proposal"])))
    if proposal is None or proposal.status != "pending":
        return Skip("proposal decided")
    texts = app.texts
    proposer = await session.get(User, proposal.proposed_by) if proposal.proposed_by else None
    school = exchanges.side_of(exchange, proposal.side).school.name if proposal.side else ""
    when = format_date(proposal.day, lang)
    if proposal.start_time:
        when = f"{when}, {format_time(proposal.start_time)}"
    text = texts.get(
        lang,
        "dates.proposal_notice",
        name=proposer.display_name if proposer else "?",
        school=school,
        phase=programme.phase(proposal.phase_key).name.get(lang),
        when=when,
        id=exchange.id,
        title=exchanges.title(exchange),
    )
    buttons = (
        (
            Btn(callbacks.action(callbacks.ACCEPT_PREFIX, proposal.id), key="dates.btn_accept"),
            Btn(callbacks.action(callbacks.OTHER_PREFIX, proposal.id), key="dates.btn_other"),
        ),
    )
    return Rendered(text, buttons)


def incident_buttons(incident: Incident) -> tuple[tuple[Btn, ...], ...]:
    """What can still be done: Gezien and Opgelost while open, Opgelost once seen, then nothing."""
    if incident.status == "resolved":
        return ()
    resolve = Btn(
        callbacks.action(callbacks.RESOLVE_PREFIX, incident.id), key="incident.btn_resolve"
    )
    if incident.status == "acknowledged":
        return ((resolve,),)
    ack = Btn(callbacks.action(callbacks.ACK_PREFIX, incident.id), key="incident.btn_ack")
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
    key = "count.pupils_one" if drop.fewer == 1 else "count.pupils_many"
    return texts.get(
        lang,
        "count.drop_line",
        pupils=texts.plain(lang, key, count=drop.fewer),
        school=school,
        moment=texts.plain(lang, f"count.moment_{drop.previous_moment}"),
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
                "incident.seen_by",
                name=_actor(acks[0]),
                time=_moment(lang, acks[0].at, incident.created_at, tz),
            )
        )
    elif acks:
        names = ", ".join(
            f"{_actor(a)} ({_moment(lang, a.at, incident.created_at, tz)})" for a in acks
        )
        lines.append(texts.get(lang, "incident.seen_by_several", names=names))
    done = next((a for a in incident.actions if a.action in ("resolve", "close")), None)
    if done is not None:
        key = f"incident.{'resolved' if done.action == 'resolve' else 'closed'}_by"
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
        lines.append(texts.get(lang, "incident.resolved_state"))
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
            f"incident.head_{incident.severity}",
            id=incident.id,
            category=texts.plain(lang, f"incident.category_{incident.category}"),
        ),
        texts.get(
            lang,
            "incident.where",
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
        lines.append(texts.get(lang, "incident.team", team=incident.team_number))
    if incident.description:
        lines.append(texts.get(lang, "incident.what", text=incident.description))
    lines += incident_state(texts, lang, incident, tz)
    return "\n".join(lines)


def incident_message(
    app: AppContext,
    lang: str,
    incident: Incident,
    exchange: Exchange,
    reporter: str,
    kind: str,
    payload: dict[str, Any],
) -> Rendered:
    """A copy of the alert (first alert, repeat or addition) as it reads now, with the buttons
    that still make sense; used when it is sent and again whenever someone acts on it."""
    texts, tz = app.texts, app.settings.tz
    buttons = incident_buttons(incident)
    if kind == "incident_update":
        lines = [texts.get(lang, "incident.update", id=incident.id, note=payload.get("note", ""))]
        lines += incident_state(texts, lang, incident, tz)
        return Rendered("\n".join(lines), buttons)
    body = incident_text(texts, lang, incident, exchange, reporter, tz)
    if kind == "incident_repeat":
        repeat = texts.get(lang, "incident.repeat", minutes=app.settings.incident_ack_minutes)
        body = f"{repeat}\n{body}"
    caption = None
    if incident.photo_file_id:
        caption = texts.get(
            lang,
            "incident.photo_caption",
            id=incident.id,
            category=texts.plain(lang, f"incident.category_{incident.category}"),
            severity=texts.plain(lang, f"incident.severity_{incident.severity}").lower(),
        )
    return Rendered(body, buttons, photo=incident.photo_file_id, file_caption=caption)


async def _reporter_name(session: AsyncSession, incident: Incident) -> str:
    reporter = await session.get(User, incident.reported_by) if incident.reported_by else None
    return reporter.display_name if reporter else "?"


async def alert_copy(
    session: AsyncSession,
    app: AppContext,
    copy: incidents.AlertCopy,
    incident: Incident,
) -> Rendered | None:
    """The delivered copy `copy` as it should read now, or None when its exchange is gone."""
    exchange = await exchanges.load_exchange(session, incident.exchange_id)
    if exchange is None:
        return None
    reporter = await _reporter_name(session, incident)
    lang, kind = copy.language, copy.kind
    return incident_message(app, lang, incident, exchange, reporter, kind, copy.payload)


def _reporter_notice(
    app: AppContext, lang: str, incident: Incident, kind: str, payload: dict[str, Any]
) -> Rendered | Skip:
    """Tell whoever raised the alert that someone has seen it, or solved it."""
    action = next((a for a in incident.actions if a.id == payload.get("action")), None)
    if action is None:
        return Skip("action gone")
    texts, tz = app.texts, app.settings.tz
    params = {
        "id": incident.id,
        "name": _actor(action),
        "time": _moment(lang, action.at, incident.created_at, tz),
        "note": action.note or "",
    }
    if kind == "incident_seen":
        return Rendered(texts.get(lang, "incident.seen_notice", **params))
    key = "incident.solved_notice" if action.action == "resolve" else "incident.closed_notice"
    return Rendered(texts.get(lang, f"{key}_note" if action.note else key, **params))


async def _incident(
    session: AsyncSession, app: AppContext, lang: str, exchange: Exchange, row: Claimed
) -> Rendered | Skip:
    incident = await incidents.load(session, int(row.payload["incident"]))
    if incident is None:
        return Skip("incident gone")
    if row.kind == "incident_repeat" and incident.status != "open":
        return Skip("acknowledged")
    if row.kind in REPORTER_NOTICES:
        return _reporter_notice(app, lang, incident, row.kind, row.payload)
    reporter = await _reporter_name(session, incident)
    return incident_message(app, lang, incident, exchange, reporter, row.kind, row.payload)


async def _checkin_missing(
    session: AsyncSession,
    app: AppContext,
    lang: str,
    exchange: Exchange,
    programme: Programme,
    payload: dict[str, object],
) -> Rendered | Skip:
    day = date.fromisoformat(str(payload["date"]))
    row = next((p for p in exchange.phases if p.phase_key == payload["phase"]), None)
    if row is None or row.starts_on != day:
        return Skip("date changed")
    present = await checkins.checked_in_users(session, exchange.id, day)
    missing = [
        m.user.display_name
        for m in exchange.memberships
        if m.role == ROLE_BEGELEIDER and m.user_id not in present
    ]
    if not missing:
        return Skip("everyone checked in")
    when = format_time(row.start_time) if row.start_time else ""
    return Rendered(
        app.texts.get(
            lang,
            "checkin.missing_alert",
            id=exchange.id,
            title=exchanges.title(exchange),
            phase=programme.phase(row.phase_key).name.get(lang),
            time=when,
            names=", ".join(missing),
        )
    )
