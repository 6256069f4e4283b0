"""Unknown commands and stickers point to /help; free text gets the person's next step."""

from __future__ import annotations

from tests.fixtures import said, said_any
from tests.flows import create_exchange, joined_exchange, make_invites, only
from tests.harness import Harness

TITLE = "De Avonturijn – De Odyssee"


async def test_unknown_command_and_stickers_point_to_help_free_text_says_what_the_bot_is(
    harness: Harness,
) -> None:
    h = harness
    user = h.user(7004, "Lost")
    assert only(await h.send(user, "/vliegen")).text == said("fallback.unknown_command")
    # Someone in no exchange hears what the bot is and how to join.
    answer = only(await h.send(user, "wat moet ik doen?"))
    assert answer.text == said("fallback.stranger")
    assert answer.button_texts == []
    mark = h.tg.last_message_id(user.id)
    update_id = h.tg.push_photo(user)
    await h.processed(update_id)
    assert only(h.tg.messages_since(user.id, mark)).text == said("fallback.other")
    mark = h.tg.last_message_id(user.id)
    update_id = h.tg.push_location(user, 52.37, 4.89)
    await h.processed(update_id)
    assert "/checkin" in only(h.tg.messages_since(user.id, mark)).text
    h.tg.assert_no_errors()


async def test_a_teacher_who_asks_what_to_do_gets_the_next_step_and_the_buttons(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    answer = only(await h.send(p.teacher_a, "Hoi! Wat moet ik nu eigenlijk doen?"))
    assert said_any("fallback.one").fullmatch(answer.text)
    assert f"#{p.exchange_id} {TITLE}" in answer.text
    # What comes next (the orientation week, three weeks ahead), the checklist, the dates.
    assert "Hierna:" in answer.text and "Oriëntatie" in answer.text
    assert said_any("fallback.checklist_open_many").search(answer.text)
    assert said("fallback.dates_open") in answer.text
    assert "/help" in answer.text
    assert answer.button_texts == ["📅 Datum afspreken", "📋 Checklist", "🗓 Programma"]

    # Each button does what it says, for this exchange.
    question = only(await h.press(p.teacher_a, answer, "📅 Datum afspreken"))
    assert question.text == said("date_agreement.choose_phase", title=TITLE)
    await h.send(p.teacher_a, "/annuleren")
    checklist = only(await h.press(p.teacher_a, answer, "📋 Checklist"))
    assert said_any("checklists.view").fullmatch(checklist.text)
    programme = only(await h.press(p.teacher_a, answer, "🗓 Programma"))
    assert f"#{p.exchange_id} {TITLE}" in programme.text
    h.tg.assert_no_errors()


async def test_a_begeleider_gets_no_date_button_and_a_coordinator_an_overview(
    harness: Harness,
) -> None:
    h = harness
    p = await joined_exchange(h)
    answer = only(await h.send(p.begeleider, "hallo?"))
    assert said_any("fallback.one").fullmatch(answer.text)
    # The first phase a begeleider comes to is exchange day 1, not the orientation week.
    assert "Uitwisselingsdag 1" in answer.text and "Oriëntatie" not in answer.text
    assert said("fallback.dates_open") not in answer.text
    assert answer.button_texts == ["📋 Checklist", "🗓 Programma"]

    overview = only(await h.send(p.coordinator, "Hoe staan de koppels ervoor?"))
    assert overview.text == said(
        "fallback.coordinator",
        pairs="Er loopt nu 1 koppel",
        open="bij 1 koppel zijn de data nog niet afgesproken.",
    )
    h.tg.assert_no_errors()


async def test_a_teacher_in_two_exchanges_gets_one_short_block_each(harness: Harness) -> None:
    h = harness
    p = await joined_exchange(h)
    second = await create_exchange(
        h, p.coordinator, school_a="De Klimop", school_b="Het Anker", start="8 februari"
    )
    invites = await make_invites(h, p.coordinator, second)
    await h.send(p.teacher_a, f"/start {invites.teacher_a}")
    answer = only(await h.send(p.teacher_a, "en nu?"))
    assert said_any("fallback.several").fullmatch(answer.text)
    assert f"#{p.exchange_id} {TITLE}" in answer.text
    assert f"#{second} De Klimop – Het Anker" in answer.text
    assert answer.button_texts == [
        f"📅 Datum #{p.exchange_id}",
        f"📋 Checklist #{p.exchange_id}",
        f"🗓 Programma #{p.exchange_id}",
        f"📅 Datum #{second}",
        f"📋 Checklist #{second}",
        f"🗓 Programma #{second}",
    ]
    question = only(await h.press(p.teacher_a, answer, f"📅 Datum #{second}"))
    assert question.text == said("date_agreement.choose_phase", title="De Klimop – Het Anker")
    h.tg.assert_no_errors()
