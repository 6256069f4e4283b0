"""Exchanges: creating, inviting and joining, choosing between several, rights, archiving."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from db.models import Exchange, ExchangePhase, ExchangeSide, Invite, Membership, School
from tests.fixtures import AMS, COORDINATOR_ID, said, said_any
from tests.flows import create_exchange, joined_exchange, make_invites, only
from tests.harness import Harness


async def count(h: Harness, model: type) -> int:
    assert h.db is not None
    async with h.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_archiving_an_exchange_cancels_what_was_planned(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    await h.dispatch()  # the coordinator hears who joined
    told = await h.pushes()
    refused = (await h.send(p.teacher_a, "/archiveren 1"))[-1].text
    assert refused == said("auth.not_allowed")
    confirm = (await h.send(p.coordinator, "/archiveren 1"))[-1]
    assert confirm.text == said("archive.confirm", label="#1 De Avonturijn – De Odyssee")
    done = (await h.press(p.coordinator, confirm, said("archive.btn_confirm")))[-1]
    assert await h.pushes("pending") == []
    cancelled = await h.pushes("cancelled")
    assert len(cancelled) > 20
    assert done.text == said("archive.done", id=1, cancelled=f"{len(cancelled)} geplande berichten")
    await h.run_until(datetime(2027, 3, 8, tzinfo=AMS))
    assert await h.pushes() == told  # nothing more is sent for it
    assert (await h.send(p.teacher_a, "/programma"))[-1].text == said("programme.none")


async def test_coordinator_creates_invites_and_members_join(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    teacher_a = h.user(2001, "Anouk")
    teacher_b = h.user(2002, "Bas")
    begeleider = h.user(3001, "Ghislaine")

    greeting = only(await h.send(coordinator, "/start"))
    assert greeting.text == said("start.coordinator", name="Carla")

    exchange_id = await create_exchange(h, coordinator)
    assert exchange_id == 1
    invites = await make_invites(h, coordinator, exchange_id)
    assert "De Avonturijn – De Odyssee" in invites.message.text
    assert invites.message.button_texts == [said("invites.btn_revoke")]

    welcome = only(await h.send(teacher_a, f"/start {invites.teacher_a}"))
    assert said_any("join.welcome_teacher").match(welcome.text)
    assert "De Avonturijn (groep 8)" in welcome.text
    assert "Oriëntatie" in welcome.text  # what comes next
    welcome = only(await h.send(teacher_b, f"/start {invites.teacher_b}"))
    assert "De Odyssee (groep 7/8)" in welcome.text
    welcome = only(await h.send(begeleider, f"/start {invites.begeleider}"))
    assert said_any("join.welcome_begeleider").match(welcome.text)
    # A begeleider's first concern is the first exchange day, not the orientation week.
    assert "Uitwisselingsdag 1" in welcome.text

    async with h.db.read() as session:  # type: ignore[union-attr]
        rows = (
            await session.execute(
                select(Membership.user_id, Membership.role, Membership.side).order_by(
                    Membership.user_id
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (2001, "teacher", "A"),
        (2002, "teacher", "B"),
        (3001, "begeleider", None),
    ]

    view = only(await h.send(teacher_a, "/programma"))
    assert "#1 De Avonturijn – De Odyssee" in view.text
    assert "maandag 1 februari – vrijdag 5 februari" in view.text
    assert said("exchange.your_role_teacher", school="De Avonturijn") in view.text
    assert "Anouk (De Avonturijn)" in view.text and "Ghislaine" in view.text
    view = only(await h.send(begeleider, "/programma"))
    assert said("exchange.your_role_begeleider") in view.text

    menu_a = [c for c, _ in h.tg.commands({"type": "chat", "chat_id": teacher_a.id})]
    assert "programma" in menu_a and "nieuw" not in menu_a and "uitnodigen" not in menu_a
    menu_c = [c for c, _ in h.tg.commands({"type": "chat", "chat_id": coordinator.id})]
    assert {"nieuw", "uitnodigen", "programma"} <= set(menu_c)

    help_text = only(await h.send(teacher_a, "/help")).text
    assert "/programma" in help_text and "/nieuw" not in help_text
    assert "/nieuw" in only(await h.send(coordinator, "/help")).text
    h.tg.assert_no_errors()


async def test_teacher_cannot_use_coordinator_commands(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    exchange_id = await create_exchange(h, coordinator)
    invites = await make_invites(h, coordinator, exchange_id)
    teacher = h.user(2001, "Anouk")
    await h.send(teacher, f"/start {invites.teacher_a}")
    invites_before = await count(h, Invite)

    for command in ("/nieuw", f"/uitnodigen {exchange_id}", "/uitnodigen"):
        reply = only(await h.send(teacher, command))
        assert reply.text == said("auth.not_allowed")
    assert await count(h, Invite) == invites_before
    assert await count(h, Exchange) == 1
    # A forged button naming the exchange's invites is refused as well.
    reply = only(
        await h.press_data(teacher, invites.message.message_id, f"inv:{exchange_id}", force=True)
    )
    assert reply.text == said("auth.not_allowed")
    assert await count(h, Invite) == invites_before


async def test_coordinator_with_several_exchanges_chooses_with_buttons(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    await create_exchange(h, coordinator)
    await create_exchange(
        h, coordinator, school_a="De Klimop", school_b="Het Anker", start="8 februari"
    )
    choice = only(await h.send(coordinator, "/programma"))
    # A coordinator sees every exchange in one list, those without agreed dates marked.
    assert said_any("programme.overview").fullmatch(choice.text)
    first = said(
        "programme.overview_line_open",
        label="#1 De Avonturijn – De Odyssee",
        start="maandag 1 februari",
    )
    assert first in choice.text.splitlines()
    view = only(await h.press(coordinator, choice, "Het Anker"))
    assert "#2 De Klimop – Het Anker" in view.text
    # Known city and known schools are offered and reused.
    async with h.db.read() as session:  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(School)) == 4
        sizes = (await session.scalars(select(ExchangeSide.class_size))).all()
        assert sorted(sizes) == [22, 22, 24, 24]
        phases = await session.scalar(select(func.count()).select_from(ExchangePhase))
        assert phases == 8
