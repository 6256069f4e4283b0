"""The foundation end to end: create a pair, invite, join, look, restart."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import Exchange, ExchangePhase, ExchangeSide, Invite, Membership, School, User
from tests.conftest import COORDINATOR_ID
from tests.flows import create_exchange, make_invites, only
from tests.harness import Harness


async def count(h: Harness, model: type) -> int:
    assert h.db is not None
    async with h.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_coordinator_creates_invites_and_members_join(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    teacher_a = h.user(2001, "Anouk")
    teacher_b = h.user(2002, "Bas")
    begeleider = h.user(3001, "Ghislaine")

    greeting = only(await h.send(coordinator, "/start"))
    assert "coördinator" in greeting.text

    exchange_id = await create_exchange(h, coordinator)
    assert exchange_id == 1
    invites = await make_invites(h, coordinator, exchange_id)
    assert "De Avonturijn – De Odyssee" in invites.message.text
    assert invites.message.button_texts == ["Deze links intrekken"]

    welcome = only(await h.send(teacher_a, f"/start {invites.teacher_a}"))
    assert "leerkracht" in welcome.text and "De Avonturijn (groep 8)" in welcome.text
    assert "Oriëntatie" in welcome.text  # what comes next
    welcome = only(await h.send(teacher_b, f"/start {invites.teacher_b}"))
    assert "De Odyssee (groep 7/8)" in welcome.text
    welcome = only(await h.send(begeleider, f"/start {invites.begeleider}"))
    assert "begeleider" in welcome.text
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
    assert "Jij bent leerkracht van De Avonturijn." in view.text
    assert "Anouk (De Avonturijn)" in view.text and "Ghislaine" in view.text
    view = only(await h.send(begeleider, "/programma"))
    assert "Jij bent begeleider." in view.text

    menu_a = [c for c, _ in h.tg.commands({"type": "chat", "chat_id": teacher_a.id})]
    assert "programma" in menu_a and "nieuw" not in menu_a and "uitnodigen" not in menu_a
    menu_c = [c for c, _ in h.tg.commands({"type": "chat", "chat_id": coordinator.id})]
    assert {"nieuw", "uitnodigen", "programma"} <= set(menu_c)

    help_text = only(await h.send(teacher_a, "/help")).text
    assert "/programma" in help_text and "/nieuw" not in help_text
    assert "/nieuw" in only(await h.send(coordinator, "/help")).text
    h.tg.assert_no_errors()


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
    assert "regio" in region.text
    await h.press(coordinator, region, "Midden")
    await h.restart()
    question = only(await h.send(coordinator, "De Klimop"))
    assert "adres" in question.text and "De Klimop" in question.text


async def test_message_sent_while_the_bot_was_down_is_answered(harness: Harness) -> None:
    h = harness
    user = h.user(4242, "Ilse")
    await h.stop_bot()
    update_id = h.tg.push_text(user, "/help")
    await h.start_bot()
    await h.processed(update_id)
    assert "/taal" in h.tg.messages(user.id)[-1].text


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
        assert "Dat mag je niet doen" in reply.text
    assert await count(h, Invite) == invites_before
    assert await count(h, Exchange) == 1
    # A forged button naming the exchange's invites is refused as well.
    reply = only(
        await h.press_data(teacher, invites.message.message_id, f"inv:{exchange_id}", force=True)
    )
    assert "Dat mag je niet doen" in reply.text
    assert await count(h, Invite) == invites_before


async def test_forged_programme_button_of_another_exchange_is_refused(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    first = await create_exchange(h, coordinator)
    second = await create_exchange(h, coordinator, school_a="De Klimop", school_b="Het Anker")
    invites = await make_invites(h, coordinator, first)
    teacher = h.user(2001, "Anouk")
    await h.send(teacher, f"/start {invites.teacher_a}")
    view = only(await h.send(teacher, "/programma"))
    assert "De Avonturijn" in view.text

    assert await h.press_data(teacher, view.message_id, f"prog:{second}", force=True) == []
    assert h.tg.callback_answers[-1]["text"].startswith("Dat mag je niet doen")
    shown = await h.press_data(teacher, view.message_id, f"prog:{first}", force=True)
    assert "De Avonturijn" in only(shown).text


async def test_coordinator_with_several_exchanges_chooses_with_buttons(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    await create_exchange(h, coordinator)
    await create_exchange(
        h, coordinator, school_a="De Klimop", school_b="Het Anker", start="8 februari"
    )
    choice = only(await h.send(coordinator, "/programma"))
    assert "2 uitwisselingen" in choice.text
    view = only(await h.press(coordinator, choice, "Het Anker"))
    assert "#2 De Klimop – Het Anker" in view.text
    # Known city and known schools are offered and reused.
    async with h.db.read() as session:  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(School)) == 4
        sizes = (await session.scalars(select(ExchangeSide.class_size))).all()
        assert sorted(sizes) == [22, 22, 24, 24]
        phases = await session.scalar(select(func.count()).select_from(ExchangePhase))
        assert phases == 8


async def test_language_switch_changes_replies_and_menu(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    choice = only(await h.send(coordinator, "/taal"))
    assert choice.button_texts == ["Nederlands", "English"]
    changed = only(await h.press(coordinator, choice, "English"))
    assert "English" in changed.text
    assert "/new" in only(await h.send(coordinator, "/help")).text
    menu = [c for c, _ in h.tg.commands({"type": "chat", "chat_id": coordinator.id})]
    assert "new" in menu and "nieuw" not in menu
    # Dutch command names keep working for English users.
    replies = await h.send(coordinator, "/nieuw")
    assert "Let's create a new exchange" in replies[0].text
    assert "Stopped" in only(await h.send(coordinator, "/annuleren")).text
    assert "Ik praat vanaf nu Nederlands" in only(await h.send(coordinator, "/taal nl")).text
    async with h.db.read() as session:  # type: ignore[union-attr]
        user = await session.get(User, COORDINATOR_ID)
        assert user is not None and user.language == "nl"


async def test_english_telegram_user_is_greeted_in_english(harness: Harness) -> None:
    h = harness
    user = h.user(5005, "Sam", language_code="en")
    assert "invite link" in only(await h.send(user, "/start")).text
