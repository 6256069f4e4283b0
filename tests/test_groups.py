"""Telegram groups linked to a pair: the coordinator's code, linking in the group by a teacher
or coordinator, refusals, the day schedule and incident notices posted there, unlinking (the
bot removed, a 403, `/groep los`), and the bot's silence in groups otherwise."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import func, select
from telegram.error import Forbidden

from bot.services import audit
from db.models import AuditEntry, GroupLink, OutboxMessage, User
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, said, said_any
from tests.flows import JoinedExchange, create_exchange, joined_exchange, only
from tests.harness import Harness

GROUP = -4001
GROUP_TITLE = "Groep 8 Avonturijn & 7/8 Odyssee"
PAIR = "De Avonturijn – De Odyssee"
CODE = re.compile(r"/groep@wijkbot_test_bot (\S+)")
# Exchange day 1 (by default Wednesday 10 February), its schedule goes out at 07:30.
SCHEDULE_TIME = datetime(2027, 2, 10, 7, 31, tzinfo=AMS)
DAY_1 = datetime(2027, 2, 10, 9, 0, tzinfo=AMS)


async def in_group(
    h: Harness, user: FakeUser, text: str, *, chat_id: int = GROUP
) -> list[BotMessage]:
    """`user` writes `text` in the group; what the bot said in the group meanwhile."""
    mark = h.tg.last_message_id(chat_id)
    await h.processed(h.tg.push_text(user, text, chat_id=chat_id))
    return h.tg.messages_since(chat_id, mark)


async def add_bot(h: Harness, user: FakeUser, *, chat_id: int = GROUP) -> list[BotMessage]:
    mark = h.tg.last_message_id(chat_id)
    await h.processed(h.tg.add_bot_to_group(user, chat_id, GROUP_TITLE))
    return h.tg.messages_since(chat_id, mark)


async def group_code(h: Harness, coordinator: FakeUser, exchange_id: int | None = None) -> str:
    command = "/groep" if exchange_id is None else f"/groep {exchange_id}"
    message = only(await h.send(coordinator, command))
    found = CODE.search(message.text)
    assert found, message.text
    return found.group(1)


async def links(h: Harness) -> list[tuple[int, int]]:
    assert h.db is not None
    async with h.db.read() as session:
        rows = await session.execute(select(GroupLink.chat_id, GroupLink.exchange_id))
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def group_log(h: Harness) -> list[tuple[str, dict[str, object]]]:
    assert h.db is not None
    async with h.db.read() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.in_((audit.GROUP_LINKED, audit.GROUP_UNLINKED)))
            .order_by(AuditEntry.id)
        )
        return [(r.action, dict(r.details)) for r in rows]


async def linked_group(h: Harness) -> JoinedExchange:
    """A joined exchange whose teacher A linked the group."""
    p = await joined_exchange(h)
    code = await group_code(h, p.coordinator)
    await add_bot(h, p.teacher_a)
    only(await in_group(h, p.teacher_a, f"/groep@wijkbot_test_bot {code}"))
    assert await links(h) == [(GROUP, p.exchange_id)]
    return p


async def test_a_coordinator_makes_a_code_and_a_teacher_links_the_group(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    message = only(await h.send(p.coordinator, "/groep"))  # one exchange: no need to choose
    assert said_any("groups.code").fullmatch(message.text)
    assert f"#{p.exchange_id} {PAIR}" in message.text
    code = CODE.search(message.text)
    assert code is not None
    # The whole command is one tap to copy.
    copyable = [e for e in message.entities if e["type"] == "code"]
    units = message.text.encode("utf-16-le")  # entity offsets count UTF-16 units
    assert [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in copyable
    ] == [code.group(0)]
    assert "maandag 18 januari" in message.text  # valid for seven days

    hello = only(await add_bot(h, p.teacher_a))
    assert hello.text == said("groups.hello")
    answer = only(await in_group(h, p.teacher_a, f"/groep@wijkbot_test_bot {code.group(1)}"))
    assert answer.text == said("groups.linked", title=PAIR)
    assert await links(h) == [(GROUP, p.exchange_id)]
    assert await group_log(h) == [(audit.GROUP_LINKED, {"title": GROUP_TITLE})]
    assert h.db is not None
    async with h.db.read() as session:
        group = await session.get(User, GROUP)
    assert group is not None and group.is_group and group.display_name == GROUP_TITLE
    # Asked in the group, the bot says where it belongs.
    state = only(await in_group(h, p.begeleider, "/groep"))
    assert state.text == said("groups.state", title=PAIR)
    # The group's command menu offers only /groep.
    assert [c for c, _ in h.tg.commands({"type": "all_group_chats"}, "nl")] == ["groep"]
    h.tg.assert_no_errors()


async def test_a_coordinator_links_with_a_code_from_the_chooser(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    other = await create_exchange(h, p.coordinator, school_a="De Klimop", school_b="Het Anker")
    chooser = only(await h.send(p.coordinator, "/groep"))
    assert chooser.text == said("groups.choose")
    replies = await h.press(p.coordinator, chooser, "De Klimop")
    code = CODE.search(only(replies).text)
    assert code is not None
    # A double tap makes no second code: the first one stands.
    again = only(await h.press(p.coordinator, chooser, "De Klimop"))
    assert again.text == said("groups.code_just_made")
    await add_bot(h, p.coordinator)
    # Plain /groep <code> works too, by a coordinator who is no member of the pair.
    answer = only(await in_group(h, p.coordinator, f"/groep {code.group(1)}"))
    assert answer.text == said("groups.linked", title="De Klimop – Het Anker")
    assert await links(h) == [(GROUP, other)]

    # A code of another pair moves the group there, and says so.
    token = await group_code(h, p.coordinator, p.exchange_id)
    answer = only(await in_group(h, p.teacher_b, f"/groep {token}"))
    assert answer.text == said("groups.moved", title=PAIR, old="De Klimop – Het Anker")
    assert await links(h) == [(GROUP, p.exchange_id)]
    assert [(action, details.get("why")) for action, details in await group_log(h)] == [
        (audit.GROUP_LINKED, None),
        (audit.GROUP_UNLINKED, "moved"),
        (audit.GROUP_LINKED, None),
    ]
    # The `grp:` button of an exchange (its detail view) makes a code as well.
    replies = await h.press_data(p.coordinator, chooser.message_id, f"grp:{other}", force=True)
    assert CODE.search(only(replies).text)


async def test_refusals_link_nothing(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    # Only coordinators make codes.
    assert only(await h.send(p.teacher_a, "/groep")).text == said("groups.only_coordinators")
    code = await group_code(h, p.coordinator)
    # A code sent in the private chat belongs in the group.
    assert only(await h.send(p.teacher_a, f"/groep {code}")).text == said("groups.in_private")
    await add_bot(h, p.teacher_a)
    assert only(await in_group(h, p.teacher_a, "/groep")).text == said("groups.need_code")
    wrong = only(await in_group(h, p.teacher_a, "/groep Xy12-nietgoed"))
    assert wrong.text == said("groups.bad_code")
    for someone in (p.begeleider, h.user(9999, "Stranger")):
        refused = only(await in_group(h, someone, f"/groep {code}"))
        assert refused.text == said("groups.not_allowed")
    assert only(await in_group(h, p.teacher_a, "/groep los")).text == said("groups.not_linked")
    assert await links(h) == []
    assert await group_log(h) == []
    # After its last day the (unused) code no longer works.
    h.clock.set(datetime(2027, 1, 19, 0, 0, tzinfo=AMS))
    assert only(await in_group(h, p.teacher_a, f"/groep {code}")).text == said("groups.bad_code")
    assert await links(h) == []


async def test_the_day_schedule_is_posted_in_the_neutral_wording(harness: Harness) -> None:
    h = harness
    p = await linked_group(h)
    mark = h.tg.last_message_id(GROUP)
    await h.run_until(SCHEDULE_TIME)
    posted = only(h.tg.messages_since(GROUP, mark))
    schedule = next(
        m for m in h.tg.messages(p.begeleider.id) if m.text.startswith(posted.text[:30])
    )
    # What the begeleider reads (who goes where, times, who is there), without the phone
    # numbers of the pair and without the begeleider's "Ik kan niet" button.
    phones_none = said("schools.phones_none")
    assert posted.text == schedule.text.replace(f"\n\n{phones_none}", "")
    assert said("groups.linked", title=PAIR) not in posted.text
    assert posted.buttons == [] and schedule.buttons != []
    # It went once, on the day only.
    await h.run_until(datetime(2027, 2, 12, 12, 0, tzinfo=AMS))
    assert len(h.tg.messages_since(GROUP, mark)) == 1


async def test_an_incident_gives_a_one_line_notice_without_details(harness: Harness) -> None:
    h = harness
    p = await linked_group(h)
    await h.run_until(DAY_1)
    mark = h.tg.last_message_id(GROUP)
    b = p.begeleider
    replies = await h.send(b, "/incident")
    await h.press(b, replies[-1], "Ruzie tussen leerlingen")
    await h.press(b, h.tg.last_message(b.id), "Hoog")  # type: ignore[arg-type]
    await h.press(b, h.tg.last_message(b.id), "3")  # type: ignore[arg-type]
    await h.send(b, "Duwen en schelden bij het klimrek")
    await h.press(b, h.tg.last_message(b.id), "Geen foto")  # type: ignore[arg-type]
    await h.press(b, h.tg.last_message(b.id), "Versturen")  # type: ignore[arg-type]
    await h.dispatch()
    notice = only(h.tg.messages_since(GROUP, mark))
    assert notice.text == said(
        "groups.incident", title=PAIR, category=said("incidents.category_conflict")
    )
    assert "klimrek" not in notice.text and "Ghislaine" not in notice.text
    assert notice.buttons == []


async def test_removing_the_bot_unlinks_the_group(harness: Harness) -> None:
    h = harness
    await linked_group(h)
    mark = h.tg.last_message_id(GROUP)
    calls = len(h.tg.calls)
    await h.processed(h.tg.remove_bot_from_group(h.user(2001, "Anouk"), GROUP))
    assert await links(h) == []
    assert (await group_log(h))[-1] == (
        audit.GROUP_UNLINKED,
        {"title": GROUP_TITLE, "why": "removed"},
    )
    assert h.db is not None
    async with h.db.read() as session:
        waiting = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.user_id == GROUP, OutboxMessage.status == "pending")
        )
    assert waiting == 0
    await h.run_until(SCHEDULE_TIME)
    assert h.tg.messages_since(GROUP, mark) == []
    # Nothing was even tried: the group's rows were cancelled with the link.
    assert not [c for c in h.tg.calls[calls:] if c.params.get("chat_id") == GROUP]
    # Telegram (the fake) refuses the group from now on, as it does a kicked bot.
    assert h.app is not None
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await h.app.bot.send_message(GROUP, "Is daar iemand?")


async def test_a_403_from_the_group_unlinks_it_and_tells_nobody(harness: Harness) -> None:
    h = harness
    p = await linked_group(h)
    # The bot was removed, but Telegram's update about it never came: the send says so.
    h.tg.fail_next(
        "sendMessage",
        status=403,
        description="Forbidden: bot was kicked from the group chat",
        chat_id=GROUP,
    )
    coordinator_mark = h.tg.last_message_id(p.coordinator.id)
    await h.run_until(SCHEDULE_TIME)
    assert await links(h) == []
    assert (await group_log(h))[-1][1]["why"] == "removed"
    pushes = [x for x in await h.pushes("blocked") if x.user_id == GROUP]
    assert [x.kind for x in pushes] == ["day_schedule"]
    # No "blocked the bot" notice and no "did not arrive" notice for the coordinator.
    told = [m.text for m in h.tg.messages_since(p.coordinator.id, coordinator_mark)]
    assert not any(GROUP_TITLE in text for text in told), told
    assert not [x for x in await h.pushes("pending") if x.user_id == GROUP]


async def test_group_unlinked_with_a_command(harness: Harness) -> None:
    h = harness
    p = await linked_group(h)
    refused = only(await in_group(h, p.begeleider, "/groep los"))
    assert refused.text == said("groups.unlink_not_allowed")
    assert await links(h) == [(GROUP, p.exchange_id)]
    done = only(await in_group(h, p.teacher_b, "/groep@wijkbot_test_bot los"))
    assert done.text == said("groups.unlinked", title=PAIR)
    assert await links(h) == []
    assert (await group_log(h))[-1][1]["why"] == "command"


@pytest.mark.parametrize("text", ["Hallo allemaal!", "/help", "/vandaag", "/start", "/onzin"])
async def test_the_bot_is_quiet_in_groups(harness: Harness, text: str) -> None:
    """Ordinary messages and other commands in a group get no answer at all.

    Silence rather than a pointer to the private chat: the group is shared with people the
    bot does not serve, and its menu there offers only /groep, so a stray command is rare and
    a reply to it would be noise for everyone.
    """
    h = harness
    p = await linked_group(h)
    stranger = h.user(9998, "Ouder")
    sends = len(h.tg.calls_to("sendMessage"))
    for user in (p.teacher_a, stranger):
        assert await in_group(h, user, text) == []
    await h.processed(h.tg.push_photo(p.teacher_a, chat_id=GROUP))
    assert len(h.tg.calls_to("sendMessage")) == sends
    assert h.tg.messages_since(p.teacher_a.id, h.tg.last_message_id(p.teacher_a.id)) == []
    # Whoever only talks in the group is not even written down.
    assert h.db is not None
    async with h.db.read() as session:
        assert await session.get(User, stranger.id) is None


async def test_the_link_follows_the_group_when_it_becomes_a_supergroup(harness: Harness) -> None:
    h = harness
    p = await linked_group(h)
    supergroup = -1_004_001_000_000
    chat = {"id": GROUP, "type": "group", "title": GROUP_TITLE}
    await h.processed(h.tg.add_bot_to_group(p.teacher_a, supergroup, GROUP_TITLE))
    await h.processed(
        h.tg.push_update(
            {
                "message": {
                    "message_id": h.tg.last_message_id(GROUP) + 1,
                    "from": p.teacher_a.to_dict(),
                    "chat": chat,
                    "date": 0,
                    "migrate_to_chat_id": supergroup,
                }
            }
        )
    )
    assert await links(h) == [(supergroup, p.exchange_id)]
    mark = h.tg.last_message_id(supergroup)
    await h.run_until(SCHEDULE_TIME)
    assert only(h.tg.messages_since(supergroup, mark)).text.startswith("Uitwisselingsdag 1")
    assert [x for x in await h.pushes() if x.user_id == GROUP] == []
