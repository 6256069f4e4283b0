"""A coordinator's /vandaag: today's pairs one short entry each, a page at a time, with a
button per pair for its full day; plain functions over what services/today.py loaded."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.dates import format_date, format_time
from bot.domain.numbers import read_id
from bot.domain.programme import Programme
from bot.services.today import PAGE_SIZE, CoordinatorDay, PairToday
from bot.texts import Markup, Texts
from bot.ui import callbacks
from bot.ui.callbacks import MORE, TODAY_PREFIX
from bot.ui.replies import Btn, Reply, rows

# Pair buttons ("#12") in a row.
PER_ROW = 5


def page_data(offset: int) -> str:
    """'td:+<offset>': that page of today's pairs."""
    return f"{TODAY_PREFIX}{MORE}{offset}"


def pair_data(exchange_id: int) -> str:
    """'td:<exchange>': that pair's full day."""
    return callbacks.action(TODAY_PREFIX, exchange_id)


def parse(data: str) -> tuple[int | None, int | None]:
    """'td:+<offset>' → (offset, None); 'td:<exchange>' → (None, exchange id); (None, None)
    for data that is neither."""
    value = data.removeprefix(TODAY_PREFIX)
    offset = callbacks.page_of(value)
    if offset is not None:
        return offset, None
    return None, read_id(value)


def _place(texts: Texts, lang: str, pair: PairToday) -> str:
    host, schools = pair.day.host, pair.day.schools
    if host in schools:
        return texts.plain(lang, "exchange.host_at", school=schools[host])
    key = f"exchange.host_{host}"
    return texts.plain(lang, key) if texts.has(key) else host


def _checked_in(texts: Texts, lang: str, pair: PairToday) -> str:
    present, expected = pair.present, pair.expected
    if expected == 0:
        return texts.plain(lang, "today.no_begeleiders")
    if present == expected:
        return texts.amount(lang, "today.checked_in_all", expected)
    if present == 0:
        return texts.amount(lang, "today.checked_in_none", expected)
    return texts.plain(lang, "today.checked_in_some", present=present, expected=expected)


def _entry(texts: Texts, lang: str, pair: PairToday, programmes: Mapping[str, Programme]) -> str:
    programme = programmes.get(pair.day.programme_key)
    phase = programme.phase(pair.day.phase_key).name.get(lang) if programme else ""
    key = "today.pair" if pair.starts_at is not None else "today.pair_no_time"
    return texts.get(
        lang,
        key,
        time=format_time(pair.starts_at) if pair.starts_at is not None else "",
        id=pair.day.exchange_id,
        title=pair.day.title,
        phase=phase,
        place=_place(texts, lang, pair),
        checked_in=_checked_in(texts, lang, pair),
    )


def _nothing(texts: Texts, lang: str, found: CoordinatorDay) -> Reply:
    if found.next_days:
        days = [
            texts.plain(
                lang,
                "today.next_day",
                date=format_date(day, lang),
                pairs=texts.amount(lang, "today.pairs", count),
            )
            for day, count in found.next_days
        ]
        return Reply("today.coordinator_nothing", {"days": "\n".join(days)})
    if found.any_pairs:
        return Reply("today.nothing_left")
    return Reply("programme.none_coordinator")


def coordinator_view(
    texts: Texts,
    lang: str,
    found: CoordinatorDay,
    programmes: Mapping[str, Programme],
    day_shown: str,
) -> Reply:
    """The page of today's pairs with a button per pair and 'Vorige' / 'Meer…'; or, on a day
    without exchange days, when the next ones are. `day_shown` is today's date as written."""
    if not found.total:
        return _nothing(texts, lang, found)
    heading = [
        texts.get(lang, "today.heading", date=day_shown),
        texts.amount(lang, "today.pairs_today", found.total),
    ]
    if found.total > PAGE_SIZE:
        heading.append(
            texts.get(
                lang,
                "today.page",
                first=found.offset + 1,
                last=found.offset + len(found.page),
                count=found.total,
            )
        )
    blocks = [
        "\n".join(heading),
        *(_entry(texts, lang, pair, programmes) for pair in found.page),
        texts.get(lang, "today.hint"),
    ]
    buttons = list(
        rows(
            [Btn(pair_data(p.day.exchange_id), label=f"#{p.day.exchange_id}") for p in found.page],
            PER_ROW,
        )
    )
    paging = []
    if found.offset > 0:
        previous = max(0, found.offset - PAGE_SIZE)
        paging.append(Btn(page_data(previous), key="today.btn_previous"))
    if found.offset + PAGE_SIZE < found.total:
        paging.append(Btn(page_data(found.offset + PAGE_SIZE), key="today.btn_more"))
    if paging:
        buttons.append(tuple(paging))
    return Reply("today.view", {"body": Markup("\n\n".join(blocks))}, buttons=tuple(buttons))
