"""Restarts: state, dialogs and messages sent meanwhile survive a restart of the bot."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import Membership
from tests.fixtures import COORDINATOR_ID, said
from tests.flows import create_exchange, make_invites, only
from tests.harness import Harness


async def count(h: Harness, model: type) -> int:
    assert h.db is not None
    async with h.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_everything_survives_a_restart(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    teacher = h.user(2001, "Anouk")
    exchange_id = await create_exchange(h, coordinator)
    invites = await make_invites(h, coordinator, exchange_id)
    await h.send(teacher, f"/start {invites.teacher_a}")

    await h.restart()

    view = only(await h.send(teacher, "/programma"))
    assert "De Avonturijn – De Odyssee" in view.text
    # The second link still works after the restart; the first teacher's link has one use left.
    colleague = h.user(2003, "Chantal")
    assert "De Avonturijn" in only(await h.send(colleague, f"/start {invites.teacher_a}")).text
    assert await count(h, Membership) == 2


async def test_wizard_survives_a_restart_midway(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    replies = await h.send(coordinator, "/nieuw")
    await h.press(coordinator, replies[-1], "Uitwisseling in 4 weken")
    region = only(await h.send(coordinator, "Utrecht"))
    assert region.text == said("new_exchange.ask_region", city="Utrecht")
    await h.press(coordinator, region, "Midden")
    await h.restart()
    question = only(await h.send(coordinator, "De Klimop"))
    assert question.text == said("new_exchange.ask_address", school="De Klimop")


async def test_message_sent_while_the_bot_was_down_is_answered(harness: Harness) -> None:
    h = harness
    user = h.user(4242, "Ilse")
    await h.stop_bot()
    update_id = h.tg.push_text(user, "/help")
    await h.start_bot()
    await h.processed(update_id)
    assert "/taal" in h.tg.messages(user.id)[-1].text
