"""The member pushes of a claimed batch are read together: they say exactly what each says
when read on its own, ticks and absences included."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.jobs import outbox as dispatcher
from bot.services import checklists, outbox, outbox_content
from bot.services.outbox_content import Skip
from bot.ui.outbox import render
from db.models import ROLE_BEGELEIDER, ROLE_TEACHER, Absence, ExchangePhase
from tests.fixtures import AMS
from tests.flows import joined_exchange
from tests.harness import Harness


def _written(h: Harness, row: outbox.Claimed, content: object) -> object:
    """What goes out for the row: its text and buttons, or why it is skipped."""
    assert h.context is not None
    if isinstance(content, Skip):
        return ("skip", content.reason)
    written = render(
        h.context.texts,
        row.language,
        content,  # type: ignore[arg-type]
        tz=h.context.settings.tz,
        ack_minutes=h.context.settings.incident_ack_minutes,
    )
    return (written.text, repr(written.buttons))


async def test_a_batch_reads_as_each_row_alone(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
    assert h.context is not None and h.db is not None
    programme = h.context.programmes["standaard"]
    now = h.clock.now()
    async with h.db.write() as session:
        # Some of each teacher's items ticked, and the begeleider away on the first day.
        for user, role, side in (
            (p.teacher_a, ROLE_TEACHER, "A"),
            (p.teacher_b, ROLE_TEACHER, "B"),
            (p.begeleider, ROLE_BEGELEIDER, None),
        ):
            items = [i for phase in programme.phases for i in phase.checklist if i.role == role]
            for item in items[::2]:
                holder = checklists.holder_for(item, role, side, user.id)
                await checklists.toggle(
                    session, p.exchange_id, holder, item.key, user_id=user.id, now=now, want=True
                )
        phases = await session.scalars(
            select(ExchangePhase).where(ExchangePhase.exchange_id == p.exchange_id)
        )
        first = min(
            (
                row
                for row in phases
                if programme.phase(row.phase_key).kind == "day"
                and programme.phase(row.phase_key).needs_begeleider
            ),
            key=lambda row: row.starts_on,
        )
        session.add(
            Absence(
                exchange_id=p.exchange_id,
                phase_key=first.phase_key,
                day=first.starts_on,
                user_id=p.begeleider.id,
                created_at=now,
            )
        )
    compared = set()
    moment = datetime(2027, 2, 1, 7, 0, tzinfo=AMS)
    while moment < datetime(2027, 3, 8, tzinfo=AMS):
        h.clock.set(moment)
        async with h.db.write() as session:
            claimed = (
                await outbox.claim_due(session, now=moment, limit=100, rules=h.context.rules)
            ).to_send
        async with h.db.read() as session:
            together = await outbox_content.load_batch(session, claimed, h.context.programmes)
        for row in claimed:
            assert (row.id in together) == (row.kind in outbox_content.BATCHED)
            if row.id not in together:
                continue
            async with h.db.read() as session:
                alone = await outbox_content.load(session, row, h.context.programmes)
            assert _written(h, row, together[row.id]) == _written(h, row, alone)
            compared.add(row.kind)
        async with h.db.write() as session:
            for row in claimed:
                await outbox.mark_sent(session, row.id, now=moment, message_id=1)
        moment += timedelta(hours=1)
    assert {"digest", "day_schedule"} <= compared


async def test_a_row_read_ahead_long_ago_is_read_again(harness: Harness) -> None:
    """A digest held up (by Telegram's flood control) says what is so when it goes."""
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
    h.clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=AMS))
    assert h.context is not None and h.app is not None and h.db is not None
    stale = Skip("read long ago")
    flow = dispatcher._Flow(h.context, h.app.bot, dispatcher.pacer_for(h.context))
    async with h.db.write() as session:
        claimed = (
            await outbox.claim_due(session, now=h.clock.now(), limit=100, rules=h.context.rules)
        ).to_send
    flow.add_all(claimed, {row.id: stale for row in claimed})
    # As if the batch had been read before READ_AHEAD_SECONDS had passed.
    flow._ready = {
        row_id: (at - dispatcher.READ_AHEAD_SECONDS - 1, content)
        for row_id, (at, content) in flow._ready.items()
    }
    await flow.drain()
    assert any("Week 1 van 4" in m.text for m in h.tg.messages(p.teacher_a.id))
