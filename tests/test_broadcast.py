"""/bericht: a coordinator's broadcast through the fake Bot API: composing, the audience, the
preview, sending once, the "Gelezen" button, the delivery report, and /berichten's failures
with a retry button."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.texts import get_texts
from db.models import Broadcast, BroadcastRead, OutboxMessage
from fake_telegram import BotMessage, FakeUser
from tests.fixtures import AMS, said
from tests.flows import JoinedExchange, create_exchange, joined_exchange, make_invites, only
from tests.harness import Harness

TEXTS = get_texts()


def toast(h: Harness) -> str | None:
    text = h.tg.callback_answers[-1].get("text")
    return str(text) if text is not None else None


def plain(key: str, **params: object) -> str:
    return TEXTS.plain("nl", key, **params)


async def push_file(h: Harness, user: FakeUser, **kwargs: object) -> list[BotMessage]:
    mark = h.tg.last_message_id(user.id)
    if "content" in kwargs and "filename" in kwargs:
        update_id = h.tg.push_document(user, **kwargs)  # type: ignore[arg-type]
    else:
        update_id = h.tg.push_photo(user, **kwargs)  # type: ignore[arg-type]
    await h.processed(update_id)
    return h.tg.messages_since(user.id, mark)


def latest(h: Harness, user: FakeUser, text: str) -> BotMessage:
    found = [m for m in h.tg.messages(user.id) if text in m.text]
    assert found, [m.text[:40] for m in h.tg.messages(user.id)]
    return found[-1]


async def count(h: Harness, model: type) -> int:
    assert h.db is not None
    async with h.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def compose(h: Harness, p: JoinedExchange, text: str, *, read: bool = True) -> BotMessage:
    """/bericht up to the summary, to everyone, now; returns the summary."""
    only(await h.send(p.coordinator, "/bericht"))
    audience = only(await h.send(p.coordinator, text))
    question = only(await h.press(p.coordinator, audience, "Iedereen"))
    button = "✅ Met Gelezen-knop" if read else "Zonder knop"
    when = only(await h.press(p.coordinator, question, button))
    preview, summary = await h.press(p.coordinator, when, "Nu versturen")
    assert "Bericht van Carla" in preview.text
    return summary


async def test_a_broadcast_to_everyone_with_read_button_and_report(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    c = p.coordinator
    ask = only(await h.send(c, "/bericht"))
    assert ask.text == said("broadcast.ask_compose")
    audience = only(await h.send(c, "Morgen is de school dicht wegens storm."))
    assert audience.button_texts[:3] == ["Iedereen", "Alle leerkrachten", "Alle begeleiders"]
    # Which pairs the choice covers, in bold: the markup is formatting, not visible text.
    assert audience.text.endswith("Je kiest nu uit jouw koppels.")
    assert any(e["type"] == "bold" for e in audience.entities)
    question = only(await h.press(c, audience, "Iedereen"))
    when = only(await h.press(c, question, "✅ Met Gelezen-knop"))
    preview, summary = await h.press(c, when, "Nu versturen")
    assert preview.text.startswith("Zo krijgen de ontvangers het:")
    assert preview.text.endswith("Bericht van Carla\n\nMorgen is de school dicht wegens storm.")
    assert "3 ontvangers" in summary.text and "iedereen (jouw koppels)" in summary.text
    assert summary.button_texts == ["Versturen", "Wijzigen", "Annuleren"]
    done = only(await h.press(c, summary, "Versturen"))
    assert done.text == said("broadcast.sent", count="3 ontvangers")
    # A second press sends nothing and says so.
    send_data = summary.buttons[0][0].callback_data
    assert send_data is not None
    assert await h.press_data(c, summary.message_id, send_data, force=True) == []
    assert toast(h) == plain("broadcast.already_sent_toast")
    assert await count(h, Broadcast) == 1
    assert await count(h, OutboxMessage) >= 3
    # One teacher's delivery fails for now: the report waits until every row is settled.
    h.tg.fail_next("sendMessage", status=500, chat_id=p.begeleider.id)
    await h.dispatch()
    got = latest(h, p.teacher_a, "Morgen is de school dicht")
    assert got.button_texts == ["✅ Gelezen"]
    assert not any("Verslag" in m.text for m in h.tg.messages(c.id))
    # Read, twice: counted once, and the button says it was read.
    await h.press(p.teacher_a, got, "✅ Gelezen")
    assert toast(h) == plain("broadcast.toast_read")
    again = latest(h, p.teacher_a, "Morgen is de school dicht")
    assert again.button_texts == ["✅ Gelezen, dank je"]
    await h.press(p.teacher_a, again, "✅ Gelezen, dank je")
    assert toast(h) == plain("broadcast.toast_already_read")
    assert await count(h, BroadcastRead) == 1
    # Someone who did not get it cannot count as a reader.
    stranger = h.user(4444, "Vreemde")
    await h.press_data(stranger, got.message_id, f"rd:{1}", force=True)
    assert toast(h) == plain("broadcast.toast_not_yours")
    # The retry goes out; then the coordinator gets one report.
    await h.run_until(datetime(2027, 1, 11, 10, 0, tzinfo=AMS))
    reports = [m for m in h.tg.messages(c.id) if "Verslag van je bericht" in m.text]
    assert len(reports) == 1
    assert "Bezorgd: 3 van 3" in reports[0].text
    assert "Gelezen tot nu toe: 1 van 3." in reports[0].text
    await h.run_until(datetime(2027, 1, 11, 12, 0, tzinfo=AMS))
    assert len([m for m in h.tg.messages(c.id) if "Verslag van je bericht" in m.text]) == 1
    # /bericht lists it with its counts as they are now.
    listed = await h.send(c, "/bericht")
    assert "Je laatste berichten" in listed[0].text
    assert "Morgen is de school dicht" in listed[0].text
    assert "bezorgd 3" in listed[0].text and "gelezen 1" in listed[0].text


async def test_someone_in_several_pairs_gets_it_once(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    second = await create_exchange(h, p.coordinator, school_a="De Klimop", school_b="Het Anker")
    invites = await make_invites(h, p.coordinator, second)
    await h.send(p.begeleider, f"/start {invites.begeleider}")
    summary = await compose(h, p, "Vergeet de handleiding niet.")
    assert "3 ontvangers" in summary.text
    await h.press(p.coordinator, summary, "Versturen")
    await h.dispatch()
    got = [m for m in h.tg.messages(p.begeleider.id) if "handleiding" in m.text]
    assert len(got) == 1


async def test_bad_input_is_explained_and_nothing_is_stored(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    c = p.coordinator
    await h.send(c, "/bericht")
    # Too long for one message once the header is added.
    reply = await h.send(c, "x" * 4090)
    assert reply[0].text.startswith("Je bericht is te lang")
    assert reply[-1].text == said("broadcast.ask_compose")
    # A caption over Telegram's 1,024.
    reply = await push_file(h, c, caption="y" * 1010)
    assert reply[0].text.startswith("Bij een foto of bestand past hoogstens")
    # A "photo" that is not a picture.
    reply = await push_file(
        h, c, content=b"%PDF-1.4", filename="foto.jpg", mime_type="application/pdf"
    )
    assert reply[0].text == said("broadcast.not_an_image", name="foto.jpg")
    # A sticker-like attachment (a location) cannot go with a message.
    mark = h.tg.last_message_id(c.id)
    await h.processed(h.tg.push_location(c, 52.37, 4.89))
    assert h.tg.messages_since(c.id, mark)[0].text == said("broadcast.unsupported")
    # A photo with a fitting caption is taken.
    audience = only(await push_file(h, c, caption="De foto van de speurtocht"))
    assert audience.button_texts[0] == "Iedereen"
    # Cancel at the audience: nothing stored.
    assert only(await h.press(c, audience, "Annuleren")).text == said("common.cancelled")
    assert await count(h, Broadcast) == 0


async def test_an_audience_of_nobody_is_asked_again(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    c = p.coordinator
    await create_exchange(h, c, city="Utrecht", school_a="De Klimop", school_b="Het Anker")
    await h.send(c, "/bericht")
    audience = only(await h.send(c, "Hallo Utrecht"))
    assert await h.press(c, audience, "Eén stad…") == []  # the same message, now the cities
    cities = h.tg.messages(c.id)[-1]
    assert cities.button_texts[:2] == ["Amsterdam", "Utrecht"]
    read = only(await h.press(c, cities, "Utrecht"))
    when = only(await h.press(c, read, "Zonder knop"))
    nobody, again = await h.press(c, when, "Nu versturen")
    assert nobody.text.startswith("Niemand valt onder deze keuze")
    assert again.button_texts[0] == "Iedereen"
    # Phases: none of the pairs has started.
    phases = await h.press(c, again, "Eén fase…")
    assert phases[0].text == said("broadcast.no_pairs")
    assert await count(h, Broadcast) == 0
    # /annuleren works at every step.
    assert only(await h.send(c, "/annuleren")).text == said("common.cancelled")


async def test_a_broadcast_later_and_a_broadcast_to_one_pair(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    c = p.coordinator
    await h.send(c, "/bericht")
    audience = only(await h.send(c, "Morgenochtend overleg"))
    read = only(await h.press(c, audience, "Alle leerkrachten"))
    when = only(await h.press(c, read, "Zonder knop"))
    unreadable = await h.send(c, "ooit")
    assert unreadable[0].text == said("broadcast.when_unreadable")
    past = await h.send(c, "vandaag 08:00")
    assert past[0].text == said("broadcast.when_past")
    _preview, summary = await h.send(c, "morgen 08:00")
    assert "12 januari om 08:00" in summary.text
    assert "2 ontvangers" in summary.text
    done = only(await h.press(c, summary, "Versturen"))
    assert done.text.startswith("📅 Je bericht gaat") and "12 januari om 08:00" in done.text
    await h.dispatch()
    assert not any("overleg" in m.text for m in h.tg.messages(p.teacher_a.id))
    await h.run_until(datetime(2027, 1, 12, 8, 1, tzinfo=AMS))
    assert any("overleg" in m.text for m in h.tg.messages(p.teacher_a.id))
    assert not any("overleg" in m.text for m in h.tg.messages(p.begeleider.id))
    # From the overview's detail view: one pair.
    mark = h.tg.last_message_id(c.id)
    await h.press_data(c, done.message_id, f"bcx:{p.exchange_id}", force=True)
    started = h.tg.messages_since(c.id, mark)
    assert started[-1].text.startswith("📣 Bericht aan koppel #1")
    read = only(await h.send(c, "Groet aan dit koppel"))
    when = only(await h.press(c, read, "Zonder knop"))
    _preview, summary = await h.press(c, when, "Nu versturen")
    assert "3 ontvangers" in summary.text
    # A teacher cannot start one.
    assert only(await h.send(p.teacher_a, "/bericht")).text == said("auth.not_allowed")


async def test_failures_per_pair_with_retry(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    summary = await compose(h, p, "Let op de nieuwe tijden", read=False)
    await h.press(p.coordinator, summary, "Versturen")
    h.tg.fail_next(
        "sendMessage", status=400, description="Bad Request: odd", chat_id=p.teacher_b.id
    )
    h.tg.block_user(p.begeleider.id)
    await h.dispatch()
    status = only(await h.send(p.coordinator, "/berichten"))
    assert "Niet aangekomen, per koppel" in status.text
    assert "#1 De Avonturijn – De Odyssee" in status.text
    assert "Bas, bericht van een coördinator: door Telegram geweigerd" in status.text
    assert "Ghislaine, bericht van een coördinator: geblokkeerd" in status.text
    # Only the failed row can be tried again (the blocked one would fail the same way).
    assert status.button_texts == ["🔁 Opnieuw: bericht van een coördinator aan Bas"]
    report = [m for m in h.tg.messages(p.coordinator.id) if "Verslag" in m.text]
    assert len(report) == 1
    assert "Mislukt: 1" in report[0].text and "Geblokkeerd: 1" in report[0].text
    assert "• Ghislaine (#1 De Avonturijn – De Odyssee): geblokkeerd" in report[0].text
    await h.press(p.coordinator, status, "🔁 Opnieuw: bericht van een coördinator aan Bas")
    assert toast(h) == plain("broadcast.retry_queued")
    await h.press(p.coordinator, status, "🔁 Opnieuw: bericht van een coördinator aan Bas")
    assert toast(h) == plain("broadcast.retry_not_failed")
    await h.dispatch()
    assert any("nieuwe tijden" in m.text for m in h.tg.messages(p.teacher_b.id))
