"""/overzicht: the coordinator's list of pairs with their risk flags, its filters and pages,
and one pair in detail. Plain functions over what services/overview.py loaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from bot.domain import risks
from bot.domain.dates import format_date, format_time
from bot.domain.names import name_key
from bot.domain.numbers import MAX_ID, read_id, read_int
from bot.domain.programme import MAX_KEY_LENGTH, Text
from bot.domain.timeline import AMSTERDAM
from bot.services.exchanges import side_of, title
from bot.services.overview import Detail, Listing, PairLine, PairRank
from bot.texts import Markup, Texts
from bot.ui import callbacks
from bot.ui import schools as school_texts
from bot.ui.replies import Btn, Reply, rows
from db.models import ROLE_BEGELEIDER, ROLE_TEACHER

# Pairs per page: eight lines with their flags stay well inside one message.
PAGE_SIZE = 8
ANY = "-"
# A year of monthly meetings has ten days to agree: a flag names the first few.
MAX_DAYS_LISTED = 3


def _join(lines: Sequence[str]) -> Markup:
    return Markup("\n".join(lines))


# -- the flags -------------------------------------------------------------------------------


def _severity(texts: Texts, lang: str, severity: object) -> str:
    return texts.plain(lang, f"incidents.severity_{severity}").lower()


def _text(value: object, lang: str) -> str:
    return value.get(lang) if isinstance(value, Text) else str(value)


def _count(flag: risks.Flag) -> int:
    value = flag.detail.get("count", 1)
    return value if isinstance(value, int) else 1


def _day(value: object, lang: str) -> str:
    return format_date(value, lang) if isinstance(value, date) else str(value)


def _items(values: object) -> list[object]:
    return list(values) if isinstance(values, tuple | list) else []


def _names(values: object) -> list[str]:
    return [str(v) for v in _items(values)]


def flag_text(texts: Texts, lang: str, flag: risks.Flag) -> Markup:
    """One flag spelled out on a line of its own ("⚠️ Data nog niet afgesproken: …")."""
    detail = flag.detail
    count = _count(flag)
    number = "one" if count == 1 else "many"
    if flag.key == risks.DATES_OPEN:
        names = [_text(p, lang) for p in _items(detail.get("phases"))]
        days = ", ".join(names[:MAX_DAYS_LISTED])
        if len(names) > MAX_DAYS_LISTED:
            days = texts.plain(
                lang, "risks.and_more", days=days, count=len(names) - MAX_DAYS_LISTED
            )
        return Markup(texts.get(lang, "risks.dates_open", days=days))
    if flag.key == risks.OVERDUE:
        return Markup(
            texts.get(
                lang,
                f"risks.overdue_{number}",
                count=count,
                oldest=_day(detail.get("oldest"), lang),
            )
        )
    if flag.key == risks.NO_BEGELEIDER:
        key = "risks.no_begeleider"
        if count > 1:
            key = f"risks.no_begeleider_more_{'one' if count == 2 else 'many'}"
        return Markup(
            texts.get(
                lang,
                key,
                phase=_text(detail.get("phase"), lang),
                day=_day(detail.get("day"), lang),
                more=count - 1,
            )
        )
    if flag.key == risks.INCIDENT_OPEN:
        return Markup(
            texts.get(
                lang,
                f"risks.incident_open_{number}",
                count=count,
                severity=_severity(texts, lang, detail.get("severity")),
            )
        )
    if flag.key == risks.TEACHER_MISSING:
        parts = []
        schools = _names(detail.get("schools"))
        if schools:
            parts.append(texts.get(lang, "risks.no_teacher", schools=" & ".join(schools)))
        blocked = _names(detail.get("blocked"))
        if blocked:
            key = "risks.blocked_one" if len(blocked) == 1 else "risks.blocked_many"
            parts.append(texts.get(lang, key, names=", ".join(blocked)))
        return Markup(texts.get(lang, "risks.teacher_missing", what=Markup("; ".join(parts))))
    if flag.key == risks.TENSION:
        return Markup(
            texts.get(
                lang, f"risks.tension_{number}", count=count, day=_day(detail.get("day"), lang)
            )
        )
    raise ValueError(flag.key)


# -- filters and pages -----------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """Which part of the overview is shown: the coordinator's own pairs or all ("mine",
    "all"), a city (by its place in `cities`), a phase key (or risks.BEFORE / risks.AFTER),
    and the first pair of the page."""

    scope: str = "mine"
    city: int | None = None
    phase: str | None = None
    offset: int = 0

    def data(self) -> str:
        scope = SCOPE_CODES[self.scope]
        city = ANY if self.city is None else str(self.city)
        return f"{scope}.{city}.{self.phase or ANY}.{self.offset}"


SCOPE_CODES = {"mine": "m", "all": "a"}
_SCOPES = {code: scope for scope, code in SCOPE_CODES.items()}


def parse_page(raw: str) -> Page:
    """'<scope>.<city>.<phase>.<offset>' back into a Page; anything malformed is the first
    page of the coordinator's own pairs."""
    parts = raw.split(".")
    if len(parts) != 4 or parts[0] not in _SCOPES:
        return Page()
    scope_raw, city_raw, phase, offset_raw = parts
    scope = _SCOPES[scope_raw]
    city = None if city_raw == ANY else read_int(city_raw, lo=0, hi=MAX_ID)
    offset = read_int(offset_raw, lo=0, hi=MAX_ID)
    if offset is None or (city is None and city_raw != ANY):
        return Page(scope)
    if phase == ANY or not phase or len(phase) > MAX_KEY_LENGTH:
        return Page(scope, city, None, offset)
    return Page(scope, city, phase, offset)


def page_data(page: Page) -> str:
    return f"{callbacks.OVERVIEW_PREFIX}{page.data()}"


def detail_data(exchange_id: int, page: Page) -> str:
    return f"{callbacks.OVERVIEW_DETAIL_PREFIX}{exchange_id}:{page.data()}"


def parse_detail(data: str) -> tuple[int | None, Page]:
    """'ovd:<exchange>:<page>' → (exchange id or None when invalid, the page to go back to)."""
    exchange_part, _, page_part = data.removeprefix(callbacks.OVERVIEW_DETAIL_PREFIX).partition(":")
    return read_id(exchange_part), parse_page(page_part)


def cities(statuses: Sequence[PairRank]) -> list[str]:
    """The cities of the pairs, each once (as first spelled), alphabetically."""
    found: dict[str, str] = {}
    for status in statuses:
        found.setdefault(name_key(status.city), status.city)
    return [found[key] for key in sorted(found)]


def phases(statuses: Sequence[PairRank]) -> list[tuple[str, Text | None]]:
    """The phases pairs are in now, each once, in programme order (not started first)."""
    order: dict[str, tuple[int, Text | None]] = {}
    for status in statuses:
        if status.phase not in order:
            order[status.phase] = (status.phase_place, status.phase_name)
    return [(key, name) for key, (_, name) in sorted(order.items(), key=lambda kv: kv[1][0])]


def chosen(statuses: Sequence[PairRank], page: Page) -> list[PairRank]:
    """The pairs the filters of `page` let through (a city that is gone filters nothing)."""
    found = list(statuses)
    known = cities(statuses)
    if page.city is not None and page.city < len(known):
        city = name_key(known[page.city])
        found = [s for s in found if name_key(s.city) == city]
    if page.phase is not None:
        found = [s for s in found if s.phase == page.phase]
    return found


def _phase_label(texts: Texts, lang: str, key: str, name: Text | None) -> str:
    if key == risks.BEFORE:
        return texts.plain(lang, "overview.phase_before")
    if key == risks.AFTER:
        return texts.plain(lang, "overview.phase_after")
    return name.get(lang) if name is not None else key


# -- the list --------------------------------------------------------------------------------


def _when(lang: str, day: risks.PhaseDates) -> str:
    when = format_date(day.starts_on, lang)
    if day.start_time is not None:
        when = f"{when}, {format_time(day.start_time)}"
    return when


def pair_lines(texts: Texts, lang: str, status: PairLine) -> list[str]:
    """A pair in the list: its name and city, then phase, next day, checklist per side,
    begeleiders and open incidents, then each flag on a line of its own."""
    parts = [_phase_label(texts, lang, status.phase, status.phase_name)]
    nxt = status.next_day
    if nxt is None:
        parts.append(texts.get(lang, "overview.next_none"))
    else:
        key = "overview.next" if nxt.agreed else "overview.next_provisional"
        parts.append(texts.get(lang, key, phase=nxt.name.get(lang), day=_when(lang, nxt)))
    a_done, a_total = status.progress.get("A", (0, 0))
    b_done, b_total = status.progress.get("B", (0, 0))
    parts.append(
        texts.get(
            lang,
            "overview.progress",
            done_a=a_done,
            total_a=a_total,
            done_b=b_done,
            total_b=b_total,
        )
    )
    if status.begeleiders:
        parts.append(texts.amount(lang, "overview.begeleiders", status.begeleiders))
    else:
        parts.append(texts.get(lang, "overview.begeleiders_none"))
    if status.incidents:
        parts.append(texts.amount(lang, "overview.incidents", status.incidents))
    lines = [
        texts.get(lang, "overview.pair", label=status.label, city=status.city),
        " · ".join(parts),
    ]
    lines += [flag_text(texts, lang, flag) for flag in status.flags]
    return lines


def _selected(texts: Texts, lang: str, text: str, on: bool) -> str:
    return texts.plain(lang, "overview.selected", label=text) if on else text


def _filter_buttons(
    texts: Texts, lang: str, statuses: Sequence[PairRank], page: Page
) -> list[tuple[Btn, ...]]:
    """A row of cities and a row of phases, each only when there is more than one."""
    out: list[tuple[Btn, ...]] = []
    known = cities(statuses)
    if len(known) > 1:
        city_buttons = [
            Btn(
                page_data(replace(page, city=None, offset=0)),
                label=_selected(
                    texts, lang, texts.plain(lang, "overview.btn_all_cities"), page.city is None
                ),
            )
        ]
        city_buttons += [
            Btn(
                page_data(replace(page, city=n, offset=0)),
                label=_selected(
                    texts, lang, texts.plain(lang, "overview.btn_city", city=city), page.city == n
                ),
            )
            for n, city in enumerate(known)
        ]
        out += rows(city_buttons, 3)
    found = phases(statuses)
    if len(found) > 1:
        phase_buttons = [
            Btn(
                page_data(replace(page, phase=None, offset=0)),
                label=_selected(
                    texts, lang, texts.plain(lang, "overview.btn_all_phases"), page.phase is None
                ),
            )
        ]
        phase_buttons += [
            Btn(
                page_data(replace(page, phase=key, offset=0)),
                label=_selected(
                    texts, lang, _phase_label(texts, lang, key, name), page.phase == key
                ),
            )
            for key, name in found
        ]
        out += rows(phase_buttons, 2)
    return out


def overview(texts: Texts, lang: str, listing: Listing, page: Page) -> Reply:
    """One page of the overview with its buttons: a pair per button, 'Vorige' and 'Meer…',
    the filters. The pairs of `listing` come sorted by risk; only those of the page are
    written out."""
    statuses = listing.ranks
    if not statuses:
        return Reply("overview.none")
    shown = chosen(statuses, page)
    offset = page.offset if 0 <= page.offset < len(shown) else 0
    page = replace(page, offset=offset)
    on_page = [listing.line(s.id) for s in shown[offset : offset + PAGE_SIZE]]
    attention = sum(1 for s in shown if s.flagged)
    heading = [
        texts.get(
            lang,
            "overview.heading_all" if page.scope == "all" else "overview.heading",
            pairs=texts.amount(lang, "overview.pairs", len(shown)),
        )
    ]
    if page.city is not None or page.phase is not None:
        known = cities(statuses)
        names = []
        if page.city is not None and page.city < len(known):
            names.append(known[page.city])
        if page.phase is not None:
            names.append(_phase_label(texts, lang, page.phase, _phase_name(statuses, page.phase)))
        heading.append(texts.get(lang, "overview.filtered", filters=" · ".join(names)))
    if attention:
        heading.append(texts.amount(lang, "overview.attention", attention))
    elif shown:
        heading.append(texts.get(lang, "overview.all_well"))
    if len(shown) > PAGE_SIZE:
        heading.append(
            texts.get(
                lang,
                "overview.page",
                first=offset + 1,
                last=offset + len(on_page),
                count=len(shown),
            )
        )
    blocks = ["\n".join(heading)]
    if not shown:
        blocks.append(texts.get(lang, "overview.none_filtered"))
    blocks += ["\n".join(pair_lines(texts, lang, s)) for s in on_page]
    buttons: list[tuple[Btn, ...]] = [
        (Btn(detail_data(s.id, page), label=s.label),) for s in on_page
    ]
    paging = []
    if offset > 0:
        previous = max(0, offset - PAGE_SIZE)
        paging.append(Btn(page_data(replace(page, offset=previous)), key="overview.btn_previous"))
    if offset + PAGE_SIZE < len(shown):
        paging.append(
            Btn(page_data(replace(page, offset=offset + PAGE_SIZE)), key="overview.btn_more")
        )
    if paging:
        buttons.append(tuple(paging))
    buttons += _filter_buttons(texts, lang, statuses, page)
    return Reply("overview.view", {"body": Markup("\n\n".join(blocks))}, buttons=tuple(buttons))


def _phase_name(statuses: Sequence[PairRank], key: str) -> Text | None:
    return next((s.phase_name for s in statuses if s.phase == key), None)


# -- one pair --------------------------------------------------------------------------------


def _phase_line(texts: Texts, lang: str, phase: risks.PhaseDates, hosts: Mapping[str, str]) -> str:
    name = phase.name.get(lang)
    if phase.kind == "week":
        span = format_date(phase.starts_on, lang)
        if phase.ends_on != phase.starts_on:
            span = f"{span} – {format_date(phase.ends_on, lang)}"
        return texts.get(lang, "overview.phase_week", name=name, span=span)
    if phase.host in hosts:
        host = texts.get(lang, "exchange.host_at", school=hosts[phase.host])
    else:
        host = texts.get(lang, f"exchange.host_{phase.host}")
    key = "overview.phase_agreed" if phase.agreed else "overview.phase_open"
    return texts.get(lang, key, name=name, when=_when(lang, phase), host=Markup(host))


def _days_text(texts: Texts, lang: str, detail: Detail, days: Sequence[str] | None) -> str:
    if days is None:
        return texts.plain(lang, "overview.days_all")
    if not days:
        return texts.plain(lang, "overview.days_none")
    names = {p.key: p.name.get(lang) for p in detail.snapshot.phases}
    return ", ".join(names.get(day, day) for day in days)


def _moment(texts: Texts, lang: str, moment: str) -> str:
    key = f"headcounts.moment_{moment}"
    return texts.plain(lang, key) if texts.has(key) else moment


def _local(moment: datetime, lang: str) -> str:
    local = moment.astimezone(AMSTERDAM)
    return f"{format_date(local.date(), lang)} {format_time(local.time())}"


def detail_view(texts: Texts, lang: str, detail: Detail, page: Page) -> Reply:
    """Everything about one pair, with the buttons to act on it and to go back."""
    exchange = detail.exchange
    status = detail.status
    snapshot = detail.snapshot
    programme = detail.programme
    lines = [
        texts.get(lang, "overview.detail_heading", id=exchange.id, title=title(exchange)),
        texts.get(
            lang,
            "exchange.programme_line",
            programme=programme.name.get(lang) if programme else exchange.programme_key,
            city=exchange.city,
        ),
    ]
    for letter in ("A", "B"):
        side = side_of(exchange, letter)
        lines.append(
            texts.get(
                lang,
                "overview.side",
                side=letter,
                school=side.school.name,
                address=school_texts.address(texts, lang, side.school, hint=False),
                class_name=side.class_name,
                size=side.class_size,
            )
        )
    hosts = {s.side: s.school.name for s in exchange.sides}
    lines += ["", texts.get(lang, "overview.section_dates")]
    lines += [_phase_line(texts, lang, phase, hosts) for phase in snapshot.phases]

    lines += ["", texts.get(lang, "overview.section_people")]
    members = sorted(
        exchange.memberships, key=lambda m: (m.role != ROLE_TEACHER, m.side or "", m.joined_at)
    )
    teachers = [m for m in members if m.role == ROLE_TEACHER]
    for letter in ("A", "B"):
        school = side_of(exchange, letter).school.name
        mine = [m for m in teachers if m.side == letter]
        if not mine:
            lines.append(texts.get(lang, "overview.teacher_none", school=school))
        for m in mine:
            key = "overview.teacher_blocked" if m.user.blocked_at else "overview.teacher"
            lines.append(texts.get(lang, key, name=m.user.display_name, school=school))
    begeleiders = [m for m in members if m.role == ROLE_BEGELEIDER]
    if not begeleiders:
        lines.append(texts.get(lang, "overview.begeleider_none"))
    names = {p.key: p.name.get(lang) for p in snapshot.phases}
    for m in begeleiders:
        lines.append(
            texts.get(
                lang,
                "overview.begeleider",
                name=m.user.display_name,
                days=_days_text(texts, lang, detail, m.days),
            )
        )
        for phase_key, day in sorted(detail.absent.get(m.user_id, frozenset()), key=lambda a: a[1]):
            lines.append(
                texts.get(
                    lang,
                    "overview.absent",
                    phase=names.get(phase_key, phase_key),
                    day=format_date(day, lang),
                )
            )

    lines += ["", texts.get(lang, "overview.section_checklist")]
    for letter in ("A", "B"):
        done, total = status.progress.get(letter, (0, 0))
        lines.append(
            texts.get(
                lang,
                "overview.progress_side",
                school=side_of(exchange, letter).school.name,
                done=done,
                total=total,
            )
        )
    for name, done, total in detail.begeleider_progress:
        if total:
            lines.append(
                texts.get(lang, "overview.progress_person", name=name, done=done, total=total)
            )

    lines += ["", texts.get(lang, "overview.section_incidents")]
    if not detail.incidents:
        lines.append(texts.get(lang, "overview.incidents_none"))
    for incident in detail.incidents:
        lines.append(
            texts.get(
                lang,
                f"overview.incident_{incident.status}",
                id=incident.id,
                category=texts.plain(lang, f"incidents.category_{incident.category}"),
                severity=_severity(texts, lang, incident.severity),
                at=_local(incident.created_at, lang),
            )
        )

    if detail.counts:
        lines += [
            "",
            texts.get(lang, "overview.section_counts", day=format_date(detail.counts[0].day, lang)),
        ]
        for count in detail.counts:
            lines.append(
                texts.get(
                    lang,
                    "overview.count",
                    school=hosts.get(count.side, count.side),
                    count=count.count,
                    size=count.class_size,
                    moment=_moment(texts, lang, count.moment),
                )
            )

    lines.append("")
    if detail.groups:
        lines.append(texts.get(lang, "overview.group", titles=", ".join(detail.groups)))
    else:
        lines.append(texts.get(lang, "overview.group_none"))

    if status.flags:
        lines += ["", texts.get(lang, "overview.section_flags")]
        lines += [flag_text(texts, lang, flag) for flag in status.flags]
    else:
        lines += ["", texts.get(lang, "overview.no_flags")]

    exchange_id = exchange.id
    buttons = (
        (
            Btn(callbacks.action(callbacks.MANAGE_PREFIX, exchange_id), key="overview.btn_manage"),
            Btn(callbacks.action(callbacks.LOG_PREFIX, exchange_id), key="overview.btn_log"),
        ),
        (
            Btn(
                callbacks.action(callbacks.BROADCAST_EXCHANGE_PREFIX, exchange_id),
                key="overview.btn_broadcast",
            ),
        ),
        (
            Btn(
                callbacks.action(callbacks.GROUP_CODE_PREFIX, exchange_id),
                key="overview.btn_group",
            ),
        ),
        (Btn(page_data(page), key="overview.btn_back"),),
    )
    return Reply("overview.view", {"body": _join(lines)}, buttons=buttons)
