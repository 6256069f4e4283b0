"""A push's keyboard as the outbox sends it: the same as python-telegram-bot's own."""

from __future__ import annotations

import pytest

from bot.domain.programme import Text
from bot.texts import get_texts
from bot.ui.replies import Btn, keyboard, keyboard_dict

BUTTONS = (
    (Btn("read:7", key="manage.btn_dates"), Btn("x:1", label="De Klimop")),
    (Btn("x:2", label=Text(nl="Gedaan", en="Done")),),
    (Btn(url="https://example.org/route", label="Route"),),
)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_keyboard_as_telegram_reads_it_is_the_one_ptb_would_send(lang: str) -> None:
    texts = get_texts()
    built = keyboard(texts, lang, BUTTONS)
    assert built is not None
    assert keyboard_dict(texts, lang, BUTTONS) == built.to_dict()


def test_no_buttons_no_keyboard() -> None:
    assert keyboard_dict(get_texts(), "nl", ()) is None
