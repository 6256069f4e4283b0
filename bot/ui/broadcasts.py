"""What a broadcast looks like: the message itself, its preview and summary, the delivery
report, the list of past broadcasts, and /berichten's failures per pair."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.delivery import CAPTION_LIMIT, TEXT_LIMIT, visible_len
from bot.domain.dates import format_date, format_time
from bot.domain.programme import Text
from bot.services.broadcasts import (
    ALL,
    BEGELEIDERS,
    CITY,
    EXCHANGE,
    PHASE,
    TEACHERS,
    Audience,
    BroadcastMessage,
    BroadcastReport,
    Counts,
    Failure,
    Past,
)
from bot.texts import LANGUAGES, Markup, Texts
from bot.ui import callbacks
from bot.ui.outbox import Rendered
from bot.ui.replies import Btn

# Lines of "did not arrive" in one report; the rest is counted.
MISSED_LINES = 40
# Characters of the broadcast's text quoted in a report or the list of past ones.
EXCERPT = 60
# Retry buttons under /berichten.
RETRY_BUTTONS = 10


def message_text(texts: Texts, lang: str, sender: str, text: str) -> str:
    """The broadcast as a recipient reads it: who it is from, then the text as typed."""
    if not text.strip():
        return texts.get(lang, "broadcast.message_no_text", sender=sender)
    return texts.get(lang, "broadcast.message", sender=sender, text=text)


def length_problem(
    texts: Texts, sender: str, text: str, *, with_file: bool
) -> tuple[str, int, int] | None:
    """(catalogue key, limit, length) when the message would not fit one Telegram message
    (a caption, with a file) in some reader's language; measured as bot/delivery.py does."""
    limit = CAPTION_LIMIT if with_file else TEXT_LIMIT
    longest = max(visible_len(message_text(texts, lang, sender, text)) for lang in LANGUAGES)
    if longest <= limit:
        return None
    key = "broadcast.caption_too_long" if with_file else "broadcast.too_long"
    # Said in the characters the coordinator typed: the header's share is taken off the limit.
    header = longest - visible_len(text)
    return key, limit - header, visible_len(text)


def read_button(broadcast_id: int, *, read: bool = False) -> tuple[tuple[Btn, ...], ...]:
    key = "broadcast.btn_was_read" if read else "broadcast.btn_read"
    return ((Btn(callbacks.action(callbacks.READ_PREFIX, broadcast_id), key=key),),)


def render(
    texts: Texts, lang: str, content: BroadcastMessage | BroadcastReport, *, tz: ZoneInfo
) -> Rendered:
    if isinstance(content, BroadcastReport):
        return Rendered(report(texts, lang, content, tz=tz))
    broadcast = content.broadcast
    text = message_text(texts, lang, content.sender, broadcast.text)
    buttons = read_button(broadcast.id) if broadcast.read_button else ()
    if broadcast.media_kind == "photo":
        return Rendered(text, buttons, photo=broadcast.media_file_id)
    if broadcast.media_kind == "document":
        return Rendered(
            text, buttons, document=broadcast.media_file_id, filename=broadcast.media_filename
        )
    return Rendered(text, buttons)


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


def audience_text(
    texts: Texts,
    lang: str,
    audience: Audience,
    *,
    phase_names: Mapping[str, Text] | None = None,
    exchange: str | None = None,
) -> str:
    """'alle leerkrachten (jouw koppels)', 'iedereen in Utrecht (alle koppels)', 'koppel #4 …'."""
    if audience.kind == EXCHANGE:
        return texts.plain(lang, "broadcast.audience_exchange", exchange=exchange or "?")
    if audience.kind == CITY:
        what = texts.plain(lang, "broadcast.audience_city", city=str(audience.value))
    elif audience.kind == PHASE:
        name = (phase_names or {}).get(str(audience.value))
        phase = name.get(lang) if name is not None else str(audience.value)
        what = texts.plain(lang, "broadcast.audience_phase", phase=phase)
    else:
        what = texts.plain(lang, f"broadcast.audience_{audience.kind}")
    scope = "broadcast.scope_mine" if audience.mine else "broadcast.scope_all"
    return texts.plain(lang, "broadcast.audience_in", what=what, scope=texts.plain(lang, scope))


AUDIENCE_BUTTONS = (
    (ALL, "broadcast.btn_all"),
    (TEACHERS, "broadcast.btn_teachers"),
    (BEGELEIDERS, "broadcast.btn_begeleiders"),
    (CITY, "broadcast.btn_city"),
    (PHASE, "broadcast.btn_phase"),
    (EXCHANGE, "broadcast.btn_exchange"),
)


def moment(texts: Texts, lang: str, at: datetime, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    return texts.plain(
        lang, "common.moment", day=format_date(local.date(), lang), time=format_time(local.time())
    )


def report(texts: Texts, lang: str, content: BroadcastReport, *, tz: ZoneInfo) -> str:
    """Delivered, blocked, failed (who, and why), and how many read it."""
    broadcast, counts = content.broadcast, content.counts
    lines = [
        texts.get(
            lang,
            "broadcast.report",
            when=moment(texts, lang, broadcast.send_at, tz),
            excerpt=excerpt(broadcast.text)
            or texts.plain(lang, f"broadcast.only_{broadcast.media_kind or 'photo'}"),
            recipients=counts.recipients,
            delivered=counts.delivered,
            blocked=counts.blocked,
            failed=counts.failed,
        )
    ]
    if counts.not_sent:
        lines.append(texts.get(lang, "broadcast.report_not_sent", count=counts.not_sent))
    if broadcast.read_button:
        lines.append(
            texts.get(lang, "broadcast.report_read", read=counts.read, delivered=counts.delivered)
        )
    if content.missed:
        lines.append("")
        lines.append(texts.get(lang, "broadcast.report_missed"))
        for missed in content.missed[:MISSED_LINES]:
            lines.append(_missed_line(texts, lang, missed.name, missed.exchange, missed.reason))
        rest = len(content.missed) - MISSED_LINES
        if rest > 0:
            lines.append(texts.get(lang, "broadcast.report_more", count=rest))
    return "\n".join(lines)


def reason_text(texts: Texts, lang: str, reason: str) -> str:
    if reason == "cancelled":
        return texts.plain(lang, "broadcast.reason_cancelled")
    return texts.plain(lang, f"outbox.reason_{reason}")


def _missed_line(texts: Texts, lang: str, name: str, exchange: str | None, reason: str) -> str:
    why = reason_text(texts, lang, reason)
    if exchange is None:
        return texts.get(lang, "broadcast.missed_no_pair", name=name, reason=why)
    return texts.get(lang, "broadcast.missed", name=name, exchange=exchange, reason=why)


def past_list(texts: Texts, lang: str, found: Sequence[Past], *, tz: ZoneInfo) -> str:
    """The coordinator's latest broadcasts with their counts as they are now."""
    lines = [texts.get(lang, "broadcast.past_header")]
    for item in found:
        broadcast, counts = item.broadcast, item.counts
        lines.append(
            texts.get(
                lang,
                "broadcast.past_line",
                when=moment(texts, lang, broadcast.send_at, tz),
                excerpt=excerpt(broadcast.text)
                or texts.plain(lang, f"broadcast.only_{broadcast.media_kind or 'photo'}"),
                counts=Markup(_counts_text(texts, lang, counts, broadcast.read_button)),
            )
        )
    return "\n".join(lines)


def _counts_text(texts: Texts, lang: str, counts: Counts, with_reads: bool) -> str:
    parts = [
        texts.amount(lang, "broadcast.recipients", counts.recipients),
        texts.plain(lang, "broadcast.count_delivered", count=counts.delivered),
        texts.plain(lang, "broadcast.count_blocked", count=counts.blocked),
        texts.plain(lang, "broadcast.count_failed", count=counts.failed),
    ]
    if with_reads:
        parts.append(texts.plain(lang, "broadcast.count_read", count=counts.read))
    if counts.waiting:
        parts.append(texts.plain(lang, "broadcast.count_waiting", count=counts.waiting))
    return texts.get(lang, "broadcast.count_separator").join(parts)


def failures_view(
    texts: Texts, lang: str, found: Sequence[Failure], *, tz: ZoneInfo
) -> tuple[str, tuple[tuple[Btn, ...], ...]]:
    """/berichten's failures per pair and per person, with a retry button per failed row."""
    if not found:
        return "", ()
    by_pair: dict[str | None, list[Failure]] = {}
    for failure in found:
        by_pair.setdefault(failure.exchange, []).append(failure)
    lines = [texts.get(lang, "broadcast.failures_header")]
    for pair, rows in sorted(by_pair.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        if pair is None:
            lines.append(texts.get(lang, "broadcast.failures_no_pair"))
        else:
            lines.append(texts.get(lang, "broadcast.failures_pair", exchange=pair))
        for row in sorted(rows, key=lambda r: (r.name.casefold(), r.at)):
            lines.append(
                texts.get(
                    lang,
                    "broadcast.failures_line",
                    name=row.name,
                    kind=kind_text(texts, lang, row.kind),
                    reason=reason_text(texts, lang, row.reason),
                    when=moment(texts, lang, row.at, tz),
                )
            )
    buttons = tuple(
        (
            Btn(
                callbacks.action(callbacks.RETRY_PREFIX, row.row_id),
                key="broadcast.btn_retry",
                params={"name": row.name, "kind": kind_text(texts, lang, row.kind)},
            ),
        )
        for row in [f for f in found if f.retryable][:RETRY_BUTTONS]
    )
    return "\n".join(lines), buttons


def kind_text(texts: Texts, lang: str, kind: str) -> str:
    key = f"outbox.kind_{kind}"
    return texts.plain(lang, key if texts.has(key) else "outbox.kind_other")
