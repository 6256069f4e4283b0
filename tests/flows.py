"""Multi-step user flows shared by the end-to-end tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fake_telegram import BotMessage, FakeUser
from tests.harness import Harness

TOKEN = re.compile(r"\?start=([A-Za-z0-9_-]+)")


@dataclass
class Invites:
    teacher_a: str
    teacher_b: str
    begeleider: str
    message: BotMessage


async def count_both(
    h: Harness, user: FakeUser, counts: str, moment: str | None = None
) -> list[BotMessage]:
    """`/aanwezig <a> <b>`, then a tap on the moment (the one offered first, unless named);
    what the bot said before the question and after the tap."""
    replies = await h.send(user, f"/aanwezig {counts}")
    if not replies or not replies[-1].button_texts:
        return replies  # refused: nothing to tap
    question = replies[-1]
    return [*replies[:-1], *await h.press(user, question, moment or question.button_texts[0])]


def only(messages: list[BotMessage]) -> BotMessage:
    assert len(messages) == 1, [m.text for m in messages]
    return messages[0]


async def create_exchange(
    h: Harness,
    coordinator: FakeUser,
    *,
    programme: str = "Uitwisseling in 4 weken",
    city: str = "Amsterdam",
    school_a: str = "De Avonturijn",
    school_b: str = "De Odyssee",
    start: str = "1 februari",
    region: str = "Noord",
) -> int:
    """Walk through /nieuw with valid answers; returns the new exchange's id."""
    replies = await h.send(coordinator, "/nieuw")
    question = replies[-1]
    replies = await h.press(coordinator, question, programme)
    question = replies[-1]
    if city in question.button_texts:
        replies = await h.press(coordinator, question, city)
    else:
        replies = await h.send(coordinator, city)
    if "regio" in replies[-1].text:
        replies = await h.press(coordinator, replies[-1], region)
    assert "school A" in replies[-1].text
    replies = await h.send(coordinator, school_a)
    if "adres" in replies[-1].text:
        replies = await h.send(coordinator, "Kolenkitbuurt 12")
    replies = await h.press(coordinator, replies[-1], "groep 8")
    replies = await h.send(coordinator, "24")
    assert "school B" in replies[-1].text
    replies = await h.send(coordinator, school_b)
    if "adres" in replies[-1].text:
        replies = await h.press(coordinator, replies[-1], "Later invullen")
    replies = await h.send(coordinator, "groep 7/8")
    replies = await h.send(coordinator, "22")
    replies = await h.send(coordinator, start)
    confirm = only(replies)
    assert "Klopt dit?" in confirm.text
    replies = await h.press(coordinator, confirm, "Opslaan")
    created = only(replies)
    match = re.search(r"#(\d+)", created.text)
    assert match, created.text
    return int(match.group(1))


async def make_invites(h: Harness, coordinator: FakeUser, exchange_id: int) -> Invites:
    message = only(await h.send(coordinator, f"/uitnodigen {exchange_id}"))
    tokens = TOKEN.findall(message.text)
    assert len(tokens) == 3, message.text
    return Invites(tokens[0], tokens[1], tokens[2], message)


@dataclass
class JoinedExchange:
    exchange_id: int
    coordinator: FakeUser
    teacher_a: FakeUser
    teacher_b: FakeUser
    begeleider: FakeUser


async def joined_exchange(
    h: Harness, *, start: str = "1 februari", city: str = "Amsterdam"
) -> JoinedExchange:
    """An exchange with one teacher per school and a begeleider, all joined."""
    coordinator = h.user(1000, "Carla", username="carla_wimw")
    exchange_id = await create_exchange(h, coordinator, start=start, city=city)
    invites = await make_invites(h, coordinator, exchange_id)
    teacher_a = h.user(2001, "Anouk")
    teacher_b = h.user(2002, "Bas")
    begeleider = h.user(3001, "Ghislaine")
    await h.send(teacher_a, f"/start {invites.teacher_a}")
    await h.send(teacher_b, f"/start {invites.teacher_b}")
    await h.send(begeleider, f"/start {invites.begeleider}")
    return JoinedExchange(exchange_id, coordinator, teacher_a, teacher_b, begeleider)
