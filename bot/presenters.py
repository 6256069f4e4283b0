"""Longer texts built from several catalogue entries: summaries, timelines, link lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bot.domain.dates import format_date, format_time
from bot.domain.programme import Programme
from bot.domain.timeline import plan_phases
from bot.services.exchanges import side_of, title
from bot.texts import Markup, Texts
from db.models import ROLE_TEACHER, Exchange, ExchangePhase, Membership


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
        lines.append(
            _phase_line(
                texts,
                lang,
                phase.name.get(lang),
                planned.kind,
                planned.starts_on,
                planned.ends_on,
                planned.start_time,
                planned.host,
                hosts,
                agreed=False,
            )
        )
    return _join(lines)


def _host_text(texts: Texts, lang: str, host: str, hosts: Mapping[str, str]) -> str:
    if host in hosts:
        return texts.get(lang, "exchange.host_at", school=hosts[host])
    return texts.get(lang, f"exchange.host_{host}")


def _phase_line(
    texts: Texts,
    lang: str,
    name: str,
    kind: str,
    starts_on: date,
    ends_on: date,
    start_time: Any,
    host: str,
    hosts: Mapping[str, str],
    *,
    agreed: bool,
) -> str:
    if kind == "week":
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
) -> Markup:
    """The /programma view of one exchange: who, what and when."""
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
        lines.append(
            _phase_line(
                texts,
                lang,
                phase.name.get(lang),
                phase.kind,
                row.starts_on,
                row.ends_on,
                row.start_time,
                row.host,
                hosts,
                agreed=row.agreed,
            )
        )
    lines.append("")
    lines.extend(_people(texts, lang, exchange))
    return _join(lines)


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
        line = _phase_line(
            texts,
            lang,
            phase.name.get(lang),
            phase.kind,
            row.starts_on,
            row.ends_on,
            row.start_time,
            row.host,
            hosts,
            agreed=row.agreed,
        )
        return Markup(
            texts.get(
                lang, "join.next", phase=Markup(line), description=phase.description.get(lang)
            )
        )
    return Markup(texts.get(lang, "join.nothing_next"))
