"""The coordinator's Monday summary and /instellingen, written from what the services loaded.

Short and scannable: a heading per part, one line per day, pair, incident or notice, and
parts with nothing in them left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import time
from zoneinfo import ZoneInfo

from bot.domain.dates import format_date, format_time
from bot.domain.outbox import MEMBER_JOINED
from bot.services.coordinator_settings import CoordinatorSettings
from bot.services.exchanges import label, side_of, title
from bot.services.summary import GatheredNotice, Summary, WeekDay
from bot.texts import Markup, Texts
from bot.ui import callbacks
from bot.ui import overview as overview_texts
from bot.ui.replies import Btn, Deferred, Reply
from db.models import ROLE_TEACHER, Exchange, ExchangePhase, Incident

# The order in which reasons for messages that did not arrive are counted.
FAILURE_REASONS = ("blocked", "refused", "gave_up", "too_late", "quiet_hours", "unwritable")


def week(texts: Texts, lang: str, summary: Summary, *, tz: ZoneInfo) -> str:
    """The whole summary: its title and each part that has something in it."""
    parts = [texts.get(lang, "summary.title", date=format_date(summary.monday, lang))]
    if summary.days:
        parts.append(
            _part(texts, lang, "summary.days_header", [_day(texts, lang, d) for d in summary.days])
        )
    if summary.attention:
        lines: list[str] = []
        for pair in summary.attention:
            lines.append(texts.get(lang, "summary.pair", label=label(pair.exchange)))
            lines += [overview_texts.flag_text(texts, lang, flag) for flag in pair.flags]
        if summary.more_attention:
            lines.append(texts.amount(lang, "summary.more_pairs", summary.more_attention))
        parts.append(_part(texts, lang, "summary.attention_header", lines))
    if summary.incidents:
        lines = [_incident(texts, lang, i, e) for i, e in summary.incidents]
        parts.append(_part(texts, lang, "summary.incidents_header", lines))
    if summary.failures:
        parts.append(
            _part(
                texts, lang, "summary.failures_header", [_failures(texts, lang, summary.failures)]
            )
        )
    if summary.gathered:
        parts.append(_part(texts, lang, "summary.gathered_header", _gathered(texts, lang, summary)))
    return "\n\n".join(parts)


def _part(texts: Texts, lang: str, header: str, lines: Sequence[str]) -> str:
    return "\n".join([texts.get(lang, header), *lines])


def _host(texts: Texts, lang: str, exchange: Exchange, day: ExchangePhase) -> str:
    if day.host in ("A", "B"):
        return texts.plain(lang, "exchange.host_at", school=side_of(exchange, day.host).school.name)
    return texts.plain(lang, f"exchange.host_{day.host}")


def _moment(lang: str, day: ExchangePhase, default_start: time | None) -> str:
    """ "woensdag 10 februari, 08:45" (without a time when the day has none)."""
    when = format_date(day.starts_on, lang)
    start = day.start_time or default_start
    return f"{when}, {format_time(start)}" if start is not None else when


def _day(texts: Texts, lang: str, item: WeekDay) -> str:
    phase = item.programme.phase(item.day.phase_key)
    begeleiders = (
        texts.amount(lang, "summary.begeleiders", item.begeleiders)
        if item.begeleiders
        else texts.plain(lang, "summary.no_begeleider")
    )
    return texts.get(
        lang,
        "summary.day" if item.day.agreed else "summary.day_provisional",
        when=_moment(lang, item.day, phase.default_start_time),
        phase=phase.name.get(lang),
        label=label(item.exchange),
        host=_host(texts, lang, item.exchange, item.day),
        begeleiders=begeleiders,
    )


def _incident(texts: Texts, lang: str, incident: Incident, exchange: Exchange) -> str:
    return texts.get(
        lang,
        "summary.incident",
        id=incident.id,
        category=texts.plain(lang, f"incidents.category_{incident.category}"),
        severity=texts.plain(lang, f"incidents.severity_{incident.severity}").lower(),
        title=title(exchange),
        state=texts.plain(lang, f"summary.incident_{incident.status}"),
    )


def _failures(texts: Texts, lang: str, failures: Mapping[str, int]) -> str:
    counted = [
        texts.plain(
            lang,
            "summary.failure",
            count=failures[reason],
            reason=texts.plain(lang, f"outbox.reason_{reason}"),
        )
        for reason in FAILURE_REASONS
        if failures.get(reason)
    ]
    return texts.get(lang, "summary.failures", counts=", ".join(counted))


def _gathered(texts: Texts, lang: str, summary: Summary) -> list[str]:
    """Who joined, one line per pair (a pair's whole team often joins in one week), then
    the dates agreed, one line each."""
    joined: dict[int, list[GatheredNotice]] = {}
    agreed: list[GatheredNotice] = []
    for notice in summary.gathered:
        if notice.kind == MEMBER_JOINED:
            joined.setdefault(notice.exchange.id, []).append(notice)
        else:
            agreed.append(notice)
    lines = []
    for notices in joined.values():
        people = [_joiner(texts, lang, n) for n in notices]
        last = people.pop()
        listed = (
            texts.plain(lang, "summary.and", first=", ".join(people), last=last) if people else last
        )
        lines.append(
            texts.get(
                lang,
                "summary.joined_one" if len(notices) == 1 else "summary.joined_many",
                people=listed,
                title=title(notices[0].exchange),
            )
        )
    return lines + [_agreed(texts, lang, n) for n in agreed]


def _joiner(texts: Texts, lang: str, notice: GatheredNotice) -> str:
    if notice.role == ROLE_TEACHER and notice.side in ("A", "B"):
        school = side_of(notice.exchange, notice.side).school.name
        role = texts.plain(lang, "summary.role_teacher", school=school)
    else:
        role = texts.plain(lang, "summary.role_begeleider")
    return texts.plain(lang, "summary.person", name=notice.member or "?", role=role)


def _agreed(texts: Texts, lang: str, notice: GatheredNotice) -> str:
    exchange = notice.exchange
    assert notice.day is not None
    phase = notice.programme.phase(notice.day.phase_key)
    day_label = phase.item_label or phase.name
    return texts.get(
        lang,
        "summary.agreed",
        day=day_label.get(lang),
        when=_moment(lang, notice.day, phase.default_start_time),
        title=title(exchange),
    )


# -- /instellingen -----------------------------------------------------------------------------


def settings(settings: CoordinatorSettings) -> Reply:
    """The coordinator's settings, with the button that switches gathering the other way."""
    gather = settings.gather_notices
    state = "settings.state_gather" if gather else "settings.state_immediate"
    button = Btn(
        gather_data(not gather), key="settings.btn_immediate" if gather else "settings.btn_gather"
    )
    return Reply(
        "settings.view",
        {"state": Deferred(lambda texts, lang: Markup(texts.get(lang, state)))},
        buttons=((button,),),
    )


# What the gathering button sets: the choice it makes, not "the other way", so a second tap
# on the same button changes nothing.
GATHER = "gather:"


def gather_data(on: bool) -> str:
    """ "set:gather:1": gather routine notices (1) or send them at once (0)."""
    return callbacks.action(callbacks.SETTINGS_PREFIX, f"{GATHER}{int(on)}")


def parse_gather(data: str) -> bool | None:
    """The choice a settings button makes, or None when its data is not one."""
    value = data.removeprefix(callbacks.SETTINGS_PREFIX).removeprefix(GATHER)
    return (
        {"1": True, "0": False}.get(value)
        if data.startswith(f"{callbacks.SETTINGS_PREFIX}{GATHER}")
        else None
    )
