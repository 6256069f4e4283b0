"""Invite links: joining, and every kind of bad link answered the same careful way."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.services.invites import hash_token
from db.models import Invite, Membership, User
from tests.fixtures import COORDINATOR_ID, said, said_any
from tests.flows import Invites, create_exchange, make_invites, only
from tests.harness import Harness

INVALID = said("join.invalid")


async def members(h: Harness) -> int:
    async with h.db.read() as session:  # type: ignore[union-attr]
        return int(await session.scalar(select(func.count()).select_from(Membership)) or 0)


async def setup(h: Harness) -> tuple[int, Invites]:
    coordinator = h.user(COORDINATOR_ID, "Carla")
    exchange_id = await create_exchange(h, coordinator)
    return exchange_id, await make_invites(h, coordinator, exchange_id)


async def test_tokens_are_random_long_and_stored_hashed(harness: Harness) -> None:
    h = harness
    _, invites = await setup(h)
    tokens = [invites.teacher_a, invites.teacher_b, invites.begeleider]
    assert len(set(tokens)) == 3
    assert all(len(t) >= 22 for t in tokens)  # 16 random bytes, base64url
    async with h.db.read() as session:  # type: ignore[union-attr]
        stored = (await session.scalars(select(Invite.token_hash))).all()
    assert sorted(stored) == sorted(hash_token(t) for t in tokens)
    assert not set(tokens) & set(stored)
    assert f"t.me/{h.tg.bot_username}?start=" in invites.message.text
    # Made on 11 January for an exchange starting 1 February: they work until its first week
    # is over, not just the 14 days.
    assert "tot en met zondag 7 februari" in invites.message.text


async def test_unknown_expired_used_up_and_revoked_links_get_one_answer(harness: Harness) -> None:
    h = harness
    _, invites = await setup(h)
    answers = []
    # Unknown token.
    answers.append(only(await h.send(h.user(6001, "A"), "/start bogus-token")).text)
    # Used up: a teacher link works for two people.
    await h.send(h.user(6002, "B"), f"/start {invites.teacher_a}")
    await h.send(h.user(6003, "C"), f"/start {invites.teacher_a}")
    answers.append(only(await h.send(h.user(6004, "D"), f"/start {invites.teacher_a}")).text)
    # Revoked.
    revoked = await h.press(h.user(COORDINATOR_ID), invites.message, said("invites.btn_revoke"))
    assert revoked == []  # the links message is edited, nothing new is sent
    assert h.tg.callback_answers[-1]["text"] == said("invites.revoked_toast", count=3)
    edited = h.tg.messages(COORDINATOR_ID)
    assert any(m.text == said("invites.revoked", id=1, count=3) for m in edited)
    assert all("start=" not in m.text for m in edited)
    answers.append(only(await h.send(h.user(6005, "E"), f"/start {invites.teacher_b}")).text)
    assert all(a == INVALID for a in answers), answers
    assert len(set(answers)) == 1
    assert await members(h) == 2


async def test_link_works_through_its_last_day_and_not_after(harness: Harness) -> None:
    h = harness
    _, invites = await setup(h)
    # Made on Monday 11 January at 09:00; it works up to and including Sunday 7 February, the
    # end of the exchange's first week.
    h.clock.advance(timedelta(days=27, hours=14, minutes=59))
    joined = only(await h.send(h.user(6001, "A"), f"/start {invites.begeleider}"))
    assert said_any("join.welcome_begeleider").match(joined.text)
    h.clock.advance(timedelta(minutes=2))
    reply = only(await h.send(h.user(6002, "B"), f"/start {invites.begeleider}"))
    assert reply.text == INVALID
    assert await members(h) == 1


async def test_same_link_twice_is_harmless(harness: Harness) -> None:
    h = harness
    _, invites = await setup(h)
    teacher = h.user(6001, "A")
    await h.send(teacher, f"/start {invites.teacher_a}")
    again = only(await h.send(teacher, f"/start {invites.teacher_a}"))
    assert said_any("join.already_member").match(again.text)
    assert await members(h) == 1
    async with h.db.read() as session:  # type: ignore[union-attr]
        uses = (await session.scalars(select(Invite.uses).order_by(Invite.id))).all()
    assert uses == [1, 0, 0]


async def test_repeated_bad_tokens_slow_the_user_down(harness: Harness) -> None:
    h = harness
    _, invites = await setup(h)
    guesser = h.user(6666, "Guess")
    for attempt in range(3):
        assert only(await h.send(guesser, f"/start guess{attempt}")).text == INVALID
    locked = only(await h.send(guesser, "/start guess3")).text
    assert locked == said("join.locked", wait="1 minuut")  # not "1 minuten"
    # Even a valid link waits until the lock has passed.
    locked = only(await h.send(guesser, f"/start {invites.begeleider}")).text
    assert said_any("join.locked").match(locked)
    assert await members(h) == 0
    h.clock.advance(timedelta(minutes=5))
    joined = only(await h.send(guesser, f"/start {invites.begeleider}")).text
    assert said_any("join.welcome_begeleider").match(joined)
    async with h.db.read() as session:  # type: ignore[union-attr]
        user = await session.get(User, guesser.id)
        # Joining does not clear the count: only its time window does (issue 7, point 11).
        assert user is not None and user.bad_invite_count == 4
    # Another user is not affected by the guesser.
    welcome = only(await h.send(h.user(6001), f"/start {invites.teacher_b}")).text
    assert said_any("join.welcome_teacher").match(welcome)


async def test_coordinator_chooses_exchange_for_invites(harness: Harness) -> None:
    h = harness
    coordinator = h.user(COORDINATOR_ID, "Carla")
    await create_exchange(h, coordinator)
    await create_exchange(h, coordinator, school_a="De Klimop", school_b="Het Anker")
    choice = only(await h.send(coordinator, "/uitnodigen"))
    assert len(choice.buttons) == 2
    links = only(await h.press(coordinator, choice, "De Klimop"))
    assert "#2 De Klimop – Het Anker" in links.text
    assert only(await h.send(coordinator, "/uitnodigen 99")).text == said("auth.not_allowed")
    assert only(await h.send(coordinator, "/uitnodigen twee")).text == said("invites.bad_number")


async def test_the_coordinator_hears_who_joins_and_who_tried_a_link_that_no_longer_works(
    harness: Harness,
) -> None:
    h = harness
    exchange_id, invites = await setup(h)
    coordinator = h.user(COORDINATOR_ID)
    await h.send(h.user(6001, "Anouk"), f"/start {invites.teacher_a}")
    await h.send(h.user(6002, "Youssef"), f"/start {invites.begeleider}")
    await h.dispatch()
    news = [m.text for m in h.tg.messages(COORDINATOR_ID)][-2:]
    title = "De Avonturijn – De Odyssee"
    assert news == [
        said(
            "invites.joined_notice",
            name="Anouk",
            role=said("undelivered.role_teacher", school="De Avonturijn"),
            id=exchange_id,
            title=title,
        ),
        said(
            "invites.joined_notice",
            name="Youssef",
            role=said("undelivered.role_begeleider"),
            id=exchange_id,
            title=title,
        ),
    ]
    # After the links expired, someone tries one: they get the usual answer, the coordinator
    # a notice with a button that makes new links.
    h.clock.advance(timedelta(days=38))  # Thursday 18 February, a school day
    assert only(await h.send(h.user(6003, "Sem"), f"/start {invites.teacher_b}")).text == INVALID
    await h.send(h.user(6003, "Sem"), f"/start {invites.teacher_b}")  # tried again: told once
    await h.dispatch()
    tried = [
        m for m in h.tg.messages(COORDINATOR_ID) if said_any("invites.tried_expired").match(m.text)
    ]
    assert len(tried) == 1
    assert said("undelivered.role_teacher", school="De Odyssee") in tried[0].text
    fresh = only(await h.press(coordinator, tried[0], said("invites.btn_new")))
    assert "start=" in fresh.text and invites.teacher_b not in fresh.text


async def test_a_used_up_link_is_told_apart_for_the_coordinator_only(harness: Harness) -> None:
    h = harness
    exchange_id, invites = await setup(h)
    await h.send(h.user(6001, "Anouk"), f"/start {invites.teacher_a}")
    await h.send(h.user(6002, "Bas"), f"/start {invites.teacher_a}")  # a teacher link: two uses
    assert only(await h.send(h.user(6003, "Eva"), f"/start {invites.teacher_a}")).text == INVALID
    await h.dispatch()
    last = h.tg.last_message(COORDINATOR_ID)
    assert last is not None
    assert last.text == said(
        "invites.tried_used_up",
        role=said("undelivered.role_teacher", school="De Avonturijn"),
        id=exchange_id,
        title="De Avonturijn – De Odyssee",
    )
    assert last.button_texts == [said("invites.btn_new")]
