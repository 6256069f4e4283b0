"""/beheer: a coordinator plans begeleiders per day, takes members out, and every step can be
cancelled; the day schedule and the check-in alert follow the plan, and teachers may not."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from bot.domain.numbers import MAX_ID
from bot.domain.programme import MAX_KEY_LENGTH
from bot.ui import callbacks
from db.models import (
    OUTBOX_PENDING,
    STATUS_ACTIVE,
    AuditEntry,
    Exchange,
    Membership,
    OutboxMessage,
)
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, said
from tests.flows import JoinedExchange, create_exchange, joined_exchange, make_invites, only
from tests.harness import Harness
from tests.test_readonly import Writes

DAY_1 = datetime(2027, 2, 10, 8, 40, tzinfo=AMS)  # exchange day 1 starts at 08:45
DAY_2 = datetime(2027, 2, 17, 8, 40, tzinfo=AMS)
TITLE = "De Avonturijn – De Odyssee"


async def _membership(h: Harness, user_id: int, exchange_id: int, role: str) -> Membership | None:
    assert h.db is not None
    async with h.db.read() as session:
        found: Membership | None = await session.scalar(
            select(Membership).where(
                Membership.user_id == user_id,
                Membership.exchange_id == exchange_id,
                Membership.role == role,
            )
        )
        return found


async def _count(h: Harness, query: object) -> int:
    assert h.db is not None
    async with h.db.read() as session:
        return int(await session.scalar(query) or 0)  # type: ignore[call-overload]


async def _audit_count(h: Harness, action: str) -> int:
    return await _count(
        h, select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )


async def _second_begeleider(h: Harness, p: JoinedExchange) -> FakeUser:
    links = await make_invites(h, p.coordinator, p.exchange_id)
    piet = h.user(3002, "Piet")
    await h.send(piet, f"/start {links.begeleider}")
    return piet


async def _menu(h: Harness, coordinator: FakeUser, exchange_id: int | None = None) -> BotMessage:
    command = "/beheer" if exchange_id is None else f"/beheer {exchange_id}"
    menu = only(await h.send(coordinator, command))
    assert menu.button_texts[:2] == [said("manage.btn_dates"), said("manage.btn_days")]
    return menu


async def _day(h: Harness, coordinator: FakeUser, menu: BotMessage, phase: str) -> BotMessage:
    days = only(await h.press(coordinator, menu, said("manage.btn_days")))
    button = next(t for t in days.button_texts if t.startswith(phase))
    return only(await h.press(coordinator, days, button))


async def test_a_begeleider_planned_out_of_a_day_gets_no_schedule_and_is_not_missed(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    piet = await _second_begeleider(h, p)
    menu = await _menu(h, p.coordinator)  # one pair: its menu straight away
    assert said("manage.menu", id=p.exchange_id, title=TITLE) == menu.text
    days = only(await h.press(p.coordinator, menu, said("manage.btn_days")))
    assert "Ghislaine, Piet" in days.text and days.text.count("Ghislaine") == 3

    day = await _day(h, p.coordinator, menu, "Uitwisselingsdag 1")
    assert day.button_texts[:2] == ["✅ Ghislaine", "✅ Piet"]
    toggled = await h.press(p.coordinator, day, "✅ Piet")
    assert toggled == []  # the day's message is edited in place
    assert h.tg.callback_answers[-1]["text"] == said("manage.saved")
    edited = h.tg.last_message(p.coordinator.id)
    assert edited is not None and edited.button_texts[:2] == ["✅ Ghislaine", "➖ Piet"]
    assert "Ingepland: Ghislaine" in edited.text
    piet_in = await _membership(h, piet.id, p.exchange_id, "begeleider")
    assert piet_in is not None and piet_in.days == ["exchange_day_2", "closing"]

    # A second tap on the old button changes nothing and logs nothing twice.
    old = day.buttons[1][0].callback_data
    assert old is not None
    await h.press_data(p.coordinator, day.message_id, old, force=True)
    assert h.tg.callback_answers[-1]["text"] == said("manage.unchanged")
    assert await _audit_count(h, "begeleider_days") == 1

    # Day 1: Piet gets no schedule and is not reported missing; Ghislaine is.
    await h.run_until(DAY_1)
    schedules = {
        (x.user_id, x.payload["phase"]) for x in await h.pushes() if x.kind == "day_schedule"
    }
    assert (3001, "exchange_day_1") in schedules
    assert (piet.id, "exchange_day_1") not in schedules
    alert = h.tg.last_message(p.coordinator.id)
    assert alert is not None
    assert alert.text == said(
        "checkin.missing_alert",
        phase="Uitwisselingsdag 1",
        id=p.exchange_id,
        title=TITLE,
        time="08:45",
        names="Ghislaine",
    )
    # Day 2 is theirs again.
    await h.run_until(DAY_2)
    schedules = {
        (x.user_id, x.payload["phase"]) for x in await h.pushes() if x.kind == "day_schedule"
    }
    assert (piet.id, "exchange_day_2") in schedules
    # Every day on again is "every day".
    day2 = await _day(h, p.coordinator, menu, "Uitwisselingsdag 1")
    await h.press(p.coordinator, day2, "➖ Piet")
    piet_in = await _membership(h, piet.id, p.exchange_id, "begeleider")
    assert piet_in is not None and piet_in.days is None


async def test_nobody_planned_means_no_check_in_alert(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    day = await _day(h, p.coordinator, await _menu(h, p.coordinator), "Uitwisselingsdag 1")
    await h.press(p.coordinator, day, "✅ Ghislaine")
    await h.run_until(DAY_1)
    assert not [x for x in await h.pushes() if x.kind == "checkin_missing"]
    assert not [
        x for x in await h.pushes() if x.kind == "day_schedule" and x.user_id == p.begeleider.id
    ]


async def test_a_begeleider_from_another_pair_is_added_for_one_day(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    other = await create_exchange(
        h, p.coordinator, school_a="Het Kompas", school_b="De Klimop", start="1 februari"
    )
    menu = await _menu(h, p.coordinator, other)
    day = await _day(h, p.coordinator, menu, "Uitwisselingsdag 2")
    assert said("manage.btn_add") in day.button_texts
    offer = only(await h.press(p.coordinator, day, said("manage.btn_add")))
    assert offer.button_texts[0] == "➕ Ghislaine"
    done = await h.press(p.coordinator, offer, "➕ Ghislaine")
    assert done[0].text == said("manage.added", name="Ghislaine")
    assert done[1].button_texts[0] == "✅ Ghislaine"
    added = await _membership(h, p.begeleider.id, other, "begeleider")
    assert added is not None and added.days == ["exchange_day_2"]
    # A second tap adds nobody twice.
    data = offer.buttons[0][0].callback_data
    assert data is not None
    await h.press_data(p.coordinator, offer.message_id, data, force=True)
    assert h.tg.callback_answers[-1]["text"] == said("manage.already_added", name="Ghislaine")
    assert (
        await _count(
            h,
            select(func.count())
            .select_from(Membership)
            .where(Membership.exchange_id == other, Membership.role == "begeleider"),
        )
        == 1
    )
    # She hears of it, with the day and the pair.
    await h.dispatch()
    notice = h.tg.last_message(p.begeleider.id)
    assert notice is not None and "Je bent ingepland als begeleider" in notice.text
    assert "Het Kompas – De Klimop" in notice.text and "woensdag 17 februari" in notice.text
    # Her menu is a begeleider's already; the new pair's day 1 is not hers, day 2 is.
    await h.run_until(DAY_2)
    mine = {
        (x.payload.get("phase"), x.local[:10])
        for x in await h.pushes()
        if x.kind == "day_schedule" and x.user_id == p.begeleider.id
    }
    assert mine == {
        ("exchange_day_1", "2027-02-10"),  # her own pair's day 1
        ("exchange_day_2", "2027-02-17"),  # both pairs' day 2
    }
    count_day_2 = [
        x
        for x in await h.pushes()
        if x.kind == "day_schedule"
        and x.user_id == p.begeleider.id
        and x.payload["phase"] == "exchange_day_2"
    ]
    assert len(count_day_2) == 2
    today = only(await h.send(p.begeleider, "/vandaag"))
    assert "Het Kompas" in today.text and "De Avonturijn" in today.text


async def test_a_member_taken_out_is_told_once_and_hears_nothing_more(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    menu = await _menu(h, p.coordinator)
    listed = only(await h.press(p.coordinator, menu, said("manage.btn_members")))
    assert "Anouk, leerkracht van De Avonturijn" in listed.text
    remove = "✖️ Bas (leerkracht van De Odyssee)"
    assert remove in listed.button_texts
    confirm = only(await h.press(p.coordinator, listed, remove))
    assert confirm.button_texts == [said("manage.btn_remove_yes"), said("manage.btn_cancel")]
    # Cancel: nothing changes.
    kept = only(await h.press(p.coordinator, confirm, said("manage.btn_cancel")))
    assert kept.text == said("manage.cancelled")
    assert await _membership(h, p.teacher_b.id, p.exchange_id, "teacher") is not None

    confirm = only(await h.press(p.coordinator, listed, remove))
    yes = confirm.buttons[0][0].callback_data
    assert yes is not None
    done = await h.press(p.coordinator, confirm, said("manage.btn_remove_yes"))
    assert done[0].text == said(
        "manage.removed",
        name="Bas",
        role="leerkracht van De Odyssee",
        id=p.exchange_id,
        title=TITLE,
    )
    assert done[1].text == said("manage.side_empty", school="De Odyssee")  # the last teacher
    assert await _membership(h, p.teacher_b.id, p.exchange_id, "teacher") is None
    # A double tap takes nobody out twice.
    await h.press_data(p.coordinator, confirm.message_id, yes, force=True)
    assert h.tg.callback_answers[-1]["text"] == said("manage.already_removed")
    assert await _audit_count(h, "member_removed") == 1
    # Nothing more is planned for Bas; he hears once that he no longer takes part.
    pending = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.user_id == p.teacher_b.id,
            OutboxMessage.status == OUTBOX_PENDING,
            OutboxMessage.kind != "member_removed",
        )
    )
    assert await _count(h, pending) == 0
    await h.dispatch()
    told = [m for m in h.tg.messages(p.teacher_b.id) if "niet meer mee" in m.text]
    assert len(told) == 1 and "#1 De Avonturijn – De Odyssee" in told[0].text
    assert "Carla" in told[0].text
    # His command menu is that of someone without a pair.
    menu_now = [c for c, _ in h.tg.commands({"type": "chat", "chat_id": p.teacher_b.id})]
    assert menu_now == ["start", "help", "taal"]
    await h.run_until(DAY_1)
    assert [x.kind for x in await h.pushes() if x.user_id == p.teacher_b.id] == ["member_removed"]
    # The others go on as before.
    assert any(x.user_id == p.teacher_a.id and x.kind == "day_schedule" for x in await h.pushes())


async def test_a_coordinator_does_not_take_themselves_out(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    links = await make_invites(h, p.coordinator, p.exchange_id)
    await h.send(p.coordinator, f"/start {links.begeleider}")  # also a begeleider of the pair
    listed = only(
        await h.press(p.coordinator, await _menu(h, p.coordinator), said("manage.btn_members"))
    )
    assert "Carla, begeleider" in listed.text
    assert not any(t.startswith("✖️ Carla") for t in listed.button_texts)
    own = await _membership(h, p.coordinator.id, p.exchange_id, "begeleider")
    assert own is not None
    await h.press_data(
        p.coordinator,
        listed.message_id,
        callbacks.action(callbacks.MANAGE_REMOVE_YES_PREFIX, own.id),
        force=True,
    )
    assert h.tg.callback_answers[-1]["text"] == said("manage.not_yourself")
    assert await _membership(h, p.coordinator.id, p.exchange_id, "begeleider") is not None


async def test_cancel_at_every_step(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    menu = await _menu(h, p.coordinator)
    # Archiving asks first; cancelled, the pair stays.
    asked = only(await h.press(p.coordinator, menu, said("manage.btn_archive")))
    assert asked.button_texts == [said("archive.btn_confirm"), said("manage.btn_cancel")]
    kept = only(await h.press(p.coordinator, asked, said("manage.btn_cancel")))
    assert kept.text == said("manage.cancelled")
    assert (
        await _count(
            h, select(func.count()).select_from(Exchange).where(Exchange.status == STATUS_ACTIVE)
        )
        == 1
    )
    # Changing dates is /datum's conversation: /annuleren ends it, nothing moves.
    question = only(await h.press(p.coordinator, menu, said("manage.btn_dates")))
    day = only(await h.press(p.coordinator, question, "Afsluiting"))
    assert day.button_texts
    await h.send(p.coordinator, "/annuleren")
    await h.send(p.coordinator, "donderdag 25 februari")
    assert await _audit_count(h, "date_set") == 0
    # Archiving from the menu, confirmed.
    asked = only(await h.press(p.coordinator, menu, said("manage.btn_archive")))
    done = only(await h.press(p.coordinator, asked, said("archive.btn_confirm")))
    assert done.text.startswith(said("archive.done", id=p.exchange_id, cancelled="x")[:25])
    assert await _audit_count(h, "archived") == 1


async def test_invites_are_listed_revoked_and_made_again(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    menu = await _menu(h, p.coordinator)
    view = only(await h.press(p.coordinator, menu, said("manage.btn_invites")))
    assert view.text.count("• ") == 3  # the three links of /nieuw's pair, still open
    revoke = said("manage.btn_revoke_all", count=3)
    done = only(await h.press(p.coordinator, view, revoke))
    assert done.text == said("manage.revoked_all", links="3 links")
    assert await _audit_count(h, "invite_revoked") == 3
    # A second tap revokes nothing more.
    data = view.buttons[1][0].callback_data
    assert data is not None
    assert await h.press_data(p.coordinator, view.message_id, data, force=True) == []
    assert await _audit_count(h, "invite_revoked") == 3
    view = only(await h.press(p.coordinator, menu, said("manage.btn_invites")))
    assert view.text == said("manage.no_invites", id=p.exchange_id, title=TITLE)
    links = only(await h.press(p.coordinator, view, said("manage.btn_new_links")))
    assert links.text.count("?start=") == 3


async def test_teachers_may_not_manage(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    assert only(await h.send(p.teacher_a, "/beheer")).text == said("auth.not_allowed")
    assert only(await h.send(p.teacher_a, "/manage")).text == said("auth.not_allowed")
    bas = await _membership(h, p.teacher_b.id, p.exchange_id, "teacher")
    ghislaine = await _membership(h, p.begeleider.id, p.exchange_id, "begeleider")
    assert bas is not None and ghislaine is not None
    mark = h.tg.last_message_id(p.teacher_a.id)
    for data in (
        callbacks.action(callbacks.MANAGE_PREFIX, p.exchange_id),
        callbacks.action(callbacks.LOG_PREFIX, p.exchange_id),
        callbacks.action(callbacks.MANAGE_MEMBERS_PREFIX, p.exchange_id),
        callbacks.action(callbacks.MANAGE_REMOVE_YES_PREFIX, bas.id),
        callbacks.manage_toggle(ghislaine.id, "exchange_day_1", False),
        callbacks.manage_pick(p.exchange_id, "exchange_day_1", p.teacher_a.id),
        callbacks.action(callbacks.MANAGE_REVOKE_ALL_PREFIX, p.exchange_id),
    ):
        assert await h.press_data(p.teacher_a, mark, data, force=True) == []
        assert h.tg.callback_answers[-1]["text"] == said("auth.not_allowed"), data
    assert await _membership(h, p.teacher_b.id, p.exchange_id, "teacher") is not None
    ghislaine = await _membership(h, p.begeleider.id, p.exchange_id, "begeleider")
    assert ghislaine is not None and ghislaine.days is None


async def test_bad_numbers_and_buttons(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    c = p.coordinator
    assert only(await h.send(c, "/beheer abc")).text == said("manage.bad_number")
    assert only(await h.send(c, "/beheer 99")).text == said("auth.not_allowed")
    mark = h.tg.last_message_id(c.id)
    for data in ("mgt:1:exchange_day_1:7", "mgy:1", "mga:1:nope:0", "lg:1:x", "mgn:1:closing:0"):
        assert await h.press_data(c, mark, data, force=True) == []
        assert h.tg.callback_answers[-1]["text"] in (
            said("common.button_expired"),
            said("auth.not_allowed"),
        ), data


def test_the_longest_button_data_fits() -> None:
    key = "k" * MAX_KEY_LENGTH
    for data in (
        callbacks.manage_day(MAX_ID, key),
        callbacks.manage_toggle(MAX_ID, key, True),
        callbacks.manage_candidates(MAX_ID, key, 9999),
        callbacks.manage_pick(MAX_ID, key, callbacks.MAX_USER_ID),
        callbacks.log_page(MAX_ID, MAX_ID),
    ):
        assert len(data.encode()) <= callbacks.MAX_BYTES, data


async def test_looking_writes_nothing(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness
    p = await joined_exchange(h)
    assert h.db is not None
    writes = Writes(h.db, monkeypatch)
    c = p.coordinator
    menu = await _menu(h, c)
    for button in (
        said("manage.btn_days"),
        said("manage.btn_members"),
        said("manage.btn_invites"),
        said("manage.btn_log"),
        said("manage.btn_archive"),
    ):
        assert only(await h.press(c, menu, button)).text
    day = await _day(h, c, menu, "Afsluiting")
    assert only(await h.press(c, day, said("manage.btn_add"))).text
    assert writes.none, (writes.transactions, writes.statements)
