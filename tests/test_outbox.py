"""Scheduled messages: catch-up after downtime, quiet hours, retries, failures, claims."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from bot.jobs.outbox import run_dispatch
from tests.fixtures import AMS, START, make_settings, said, said_any
from tests.flows import JoinedExchange, joined_exchange, only
from tests.harness import Harness


async def downtime(h: Harness, until: datetime) -> None:
    """The bot is off from now until `until`; then it starts again."""
    await h.stop_bot()
    h.clock.set(until)
    await h.start_bot()


def kinds_at(pushes: list, user_id: int) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(x.kind, x.local) for x in pushes if x.user_id == user_id]


async def test_restart_between_due_time_and_sending_sends_once(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
    h.clock.set(datetime(2027, 2, 1, 8, 5, tzinfo=AMS))  # the digest is due, nobody sent it yet
    await h.restart()
    await h.dispatch()
    await h.restart()
    await h.dispatch()
    digests = [x for x in await h.pushes() if x.kind == "digest" and x.user_id == p.teacher_a.id]
    assert [x.local for x in digests] == ["2027-02-01 08:05"]
    assert sum("Week 1 van 4" in m.text for m in h.tg.messages(p.teacher_a.id)) == 1


async def test_process_killed_after_claiming_is_recovered_once(harness: Harness) -> None:
    """A row claimed by a process that then died is sent by the next one after the lease.

    The dying process committed its claim but never reached Telegram; the row stays
    "sending" for two minutes (another live process may still be sending it), then it is
    claimed again and sent exactly once.
    """
    from bot.services import outbox

    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
    h.clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=AMS))
    assert h.context is not None and h.db is not None
    async with h.db.write() as session:
        claimed = (
            await outbox.claim_due(session, now=h.clock.now(), limit=50, rules=h.context.rules)
        ).to_send
    assert {c.kind for c in claimed} >= {"digest"}
    await h.restart()  # the claiming process is gone without sending
    assert await h.dispatch() == 0  # within the lease nobody touches the rows
    assert "Week 1 van 4" not in h.tg.messages(p.teacher_a.id)[-1].text
    h.clock.advance(timedelta(minutes=3))
    assert await h.dispatch() == len(claimed)
    assert sum("Week 1 van 4" in m.text for m in h.tg.messages(p.teacher_a.id)) == 1
    await h.dispatch()
    assert sum("Week 1 van 4" in m.text for m in h.tg.messages(p.teacher_a.id)) == 1


async def test_digest_up_to_12_hours_late_says_so(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
    await downtime(h, datetime(2027, 2, 1, 19, 0, tzinfo=AMS))
    await h.dispatch()
    # The reminder of that Monday is in the digest (it is not sent apart).
    assert kinds_at(await h.pushes(), p.teacher_a.id)[-1:] == [("digest", "2027-02-01 19:00")]
    assert said("digest.late") in h.tg.messages(p.teacher_a.id)[-1].text


async def test_too_late_pushes_are_skipped_with_the_reason(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
    await downtime(h, datetime(2027, 2, 2, 9, 0, tzinfo=AMS))
    await h.dispatch()
    skipped = kinds_at(await h.pushes("skipped"), p.teacher_a.id)
    assert ("digest", "2027-02-01 08:00") in skipped  # more than 12 hours late
    # (A coordinator's summary with nothing to tell is skipped for that reason.)
    errors = {x.error for x in await h.pushes("skipped") if x.kind != "coordinator_week"}
    assert errors == {"too_late"}
    assert not any("Week 1 van 4" in m.text for m in h.tg.messages(p.teacher_a.id))


async def test_day_schedule_only_on_its_own_day(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 2, 9, 12, 0, tzinfo=AMS))
    await downtime(h, datetime(2027, 2, 10, 16, 0, tzinfo=AMS))
    await h.dispatch()
    assert ("day_schedule", "2027-02-10 16:00") in kinds_at(await h.pushes(), p.begeleider.id)
    await h.run_until(datetime(2027, 2, 16, 12, 0, tzinfo=AMS))
    await downtime(h, datetime(2027, 2, 18, 8, 0, tzinfo=AMS))
    await h.dispatch()
    assert ("day_schedule", "2027-02-17 07:30") in kinds_at(
        await h.pushes("skipped"), p.begeleider.id
    )


async def test_late_rows_go_out_at_the_normal_rate(database, database_url: str) -> None:  # type: ignore[no-untyped-def]
    async with Harness(
        database_url, start=START, make_settings=make_settings, dispatch_batch_size=1
    ) as h:
        await joined_exchange(h)
        await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
        await downtime(h, datetime(2027, 2, 1, 9, 0, tzinfo=AMS))
        assert h.context is not None and h.app is not None
        before = len(await h.pushes())
        assert await run_dispatch(h.context, h.app.bot) == 1
        assert len(await h.pushes()) == before + 1
        assert await run_dispatch(h.context, h.app.bot) == 1
        await h.dispatch()
        sent = (await h.pushes())[before:]
        # The two digests (teachers A and B; that Monday's reminders are in them), once each.
        assert sorted((x.user_id, x.kind) for x in sent) == [(2001, "digest"), (2002, "digest")]


async def test_a_proposal_made_at_night_waits_for_the_morning(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    h.clock.set(datetime(2027, 2, 2, 22, 15, tzinfo=AMS))
    question = only(await h.send(p.teacher_a, "/datum"))
    day = only(await h.press(p.teacher_a, question, "Uitwisselingsdag 1"))
    await h.press(p.teacher_a, day, "donderdag 11 februari")
    await h.press(p.teacher_a, h.tg.last_message(p.teacher_a.id), "08:45")  # type: ignore[arg-type]
    mark = h.tg.last_message_id(p.teacher_b.id)
    await h.dispatch()
    assert h.tg.messages_since(p.teacher_b.id, mark) == []
    await h.run_until(datetime(2027, 2, 3, 7, 30, tzinfo=AMS))
    assert ("date_proposal", "2027-02-03 07:00") in kinds_at(await h.pushes(), p.teacher_b.id)


async def test_transient_errors_are_retried_and_flood_control_respected(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 28, 14, 0, tzinfo=AMS))
    h.clock.set(datetime(2027, 1, 28, 15, 0, tzinfo=AMS))
    h.tg.fail_next("sendMessage", status=502, description="Bad Gateway")
    await h.dispatch()
    pending = await h.pushes("pending")
    first = next(x for x in pending if x.kind == "checklist_nag")
    assert first.local == "2027-01-28 15:00"  # 30 seconds later, still 15:00
    h.clock.advance(timedelta(seconds=31))
    await h.dispatch()
    nags = [x for x in await h.pushes() if x.kind == "checklist_nag"]
    assert sorted(x.user_id for x in nags) == [p.teacher_a.id, p.teacher_b.id]


async def test_after_max_attempts_a_row_fails_and_coordinators_see_it(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 28, 14, 0, tzinfo=AMS))
    h.clock.set(datetime(2027, 1, 28, 15, 0, tzinfo=AMS))
    h.tg.fail_next("sendMessage", status=500, description="Internal Server Error", times=10)
    # Tries at 15:00, and 30 s, 2, 8 and 30 minutes after each failure.
    await h.run_until(datetime(2027, 1, 28, 16, 0, tzinfo=AMS))
    failed = await h.pushes("failed")
    assert {x.user_id for x in failed} == {p.teacher_a.id, p.teacher_b.id}
    h.tg.reset()
    status = only(await h.send(p.coordinator, "/berichten")).text
    assert "Mislukt: 2" in status
    assert (
        "herinnering checklist aan Anouk (#1 De Avonturijn – De Odyssee): "
        "mislukt, ook na herhaalde pogingen" in status
    )
    assert "2001" not in status and "Internal Server Error" not in status
    assert only(await h.send(p.teacher_a, "/berichten")).text == said("auth.not_allowed")


async def test_jobs_run_by_themselves(database, database_url: str) -> None:  # type: ignore[no-untyped-def]
    h = Harness(
        database_url, start=START, make_settings=make_settings, dispatch_interval_seconds=3600
    )
    h.automatic_dispatch = True
    async with h:
        p: JoinedExchange = await joined_exchange(h)
        question = only(await h.send(p.teacher_a, "/datum"))
        day = only(await h.press(p.teacher_a, question, "Uitwisselingsdag 1"))
        await h.press(p.teacher_a, day, "donderdag 11 februari")
        mark = h.tg.last_message_id(p.teacher_b.id)
        await h.press(p.teacher_a, h.tg.last_message(p.teacher_a.id), "08:45")  # type: ignore[arg-type]
        # No manual dispatch: the change itself wakes the dispatcher.
        proposal = await h.tg.wait_for_message(p.teacher_b.id, after_message_id=mark, timeout=10)
        assert said_any("date_agreement.proposal_notice").match(proposal.text)


async def test_two_dispatchers_at_once_send_each_row_once(harness: Harness) -> None:
    """Two bot processes (here: two contexts with their own connections) share one outbox."""
    import asyncio

    from bot.context import AppContext
    from db.session import Database

    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
    # 08:30: the teachers' digests are due, the coordinator's 09:00 summary not yet.
    h.clock.set(datetime(2027, 2, 1, 8, 30, tzinfo=AMS))
    assert h.context is not None and h.app is not None
    other_db = Database(h.context.settings.database_url)
    other = AppContext(
        settings=h.context.settings,
        db=other_db,
        clock=h.clock,
        programmes=h.context.programmes,
        texts=h.context.texts,
    )
    try:
        for _ in range(3):
            await asyncio.gather(run_dispatch(h.context, h.app.bot), run_dispatch(other, h.app.bot))
    finally:
        await other_db.dispose()
    sent = [x for x in await h.pushes() if x.local.startswith("2027-02-01")]
    assert sorted((x.user_id, x.kind) for x in sent) == [
        (p.teacher_a.id, "digest"),
        (p.teacher_b.id, "digest"),
    ]
    assert sum("Week 1 van 4" in m.text for m in h.tg.messages(p.teacher_a.id)) == 1


async def test_a_run_stopped_midway_marks_what_went_out_at_once(harness: Harness) -> None:
    """Sent rows are marked together a moment later; a run that stops (the bot shuts down)
    marks those already sent before it ends, so none of them goes out twice."""
    import asyncio

    from bot.services import outbox

    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 1, 31, 12, 0, tzinfo=AMS))
    h.clock.set(datetime(2027, 2, 1, 8, 30, tzinfo=AMS))  # both teachers' digests are due
    assert h.context is not None and h.app is not None
    teachers = (p.teacher_a.id, p.teacher_b.id)
    marks = {t: h.tg.last_message_id(t) for t in teachers}
    h.tg.delay_next("sendMessage", 0.0)
    h.tg.delay_next("sendMessage", 30.0)  # the second digest hangs at Telegram
    run = asyncio.create_task(run_dispatch(h.context, h.app.bot))
    got: dict[int, int] = {}
    async with asyncio.timeout(10):
        while not got:
            got = {t: len(h.tg.messages_since(t, marks[t])) for t in teachers}
            got = {t: n for t, n in got.items() if n}
            await asyncio.sleep(0.01)
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    (first,) = got
    sent = [x for x in await h.pushes() if x.local.startswith("2027-02-01")]
    assert [(x.user_id, x.kind) for x in sent] == [(first, "digest")]
    # After the lease the hanging one is looked at again; the first is not sent twice.
    h.clock.advance(outbox.CLAIM_LEASE + timedelta(minutes=1))
    await h.dispatch()
    assert sum("Week 1 van 4" in m.text for m in h.tg.messages(first)) == 1


async def test_a_push_is_sent_with_the_bots_defaults_and_keeps_its_message_id(
    harness: Harness,
) -> None:
    """Pushes go by `WijkBot.send_text`, which keeps only the new message's id: the digest
    is HTML without link previews, as every reply, with its buttons; the row holds the id
    Telegram gave it (what a later edit of the message needs)."""
    from sqlalchemy import select

    from db.models import OutboxMessage

    h = harness
    p = await joined_exchange(h)
    await h.run_until(datetime(2027, 2, 1, 8, 30, tzinfo=AMS))
    digest = only([m for m in h.tg.messages(p.teacher_a.id) if "Week 1 van 4" in (m.text or "")])
    assert digest.parse_mode == "HTML" and digest.entities  # its bold title, parsed
    assert "<b>" not in (digest.text or "")
    assert digest.has_inline_keyboard
    [call] = [
        c
        for c in h.tg.calls_to("sendMessage")
        if c.params["chat_id"] == p.teacher_a.id and "Week 1 van 4" in c.params["text"]
    ]
    assert call.params["link_preview_options"] == {"is_disabled": True}
    assert h.db is not None
    async with h.db.read() as session:
        [row] = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.user_id == p.teacher_a.id,
                OutboxMessage.kind == "digest",
                OutboxMessage.status == "sent",
            )
        )
    assert row.telegram_message_id == digest.message_id
