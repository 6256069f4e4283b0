"""The test helpers themselves: one database per xdist worker, texts from the catalogue."""

from __future__ import annotations

import re

import pytest

from bot.texts import get_texts
from tests.fixtures import said, said_any, worker_url

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        (PG, "gw0", "postgresql+asyncpg://postgres@127.0.0.1:5432/test_gw0"),
        (PG, "gw12", "postgresql+asyncpg://postgres@127.0.0.1:5432/test_gw12"),
        (PG, None, PG),  # not under xdist
        (PG, "master", PG),
        ("sqlite+aiosqlite:////tmp/w/bot.db", "gw1", "sqlite+aiosqlite:////tmp/w/bot_gw1.db"),
        ("sqlite+aiosqlite:///:memory:", "gw1", "sqlite+aiosqlite:///:memory:"),
    ],
)
def test_each_worker_has_its_own_database(url: str, worker: str | None, expected: str) -> None:
    assert worker_url(url, worker) == expected


def test_said_is_what_the_user_reads() -> None:
    # Parameters are filled in and escaped, markup is gone, as after Telegram parsed it.
    saved = said("headcounts.saved", school="A & B", count=3)
    assert "A & B" in saved and "&amp;" not in saved and "3" in saved
    raw = get_texts().raw("nl", "incidents.ask_description")
    assert "<b>" in raw
    assert said("incidents.ask_description") == re.sub(r"</?b>", "", raw)
    assert said("language.changed", "en") == get_texts().raw("en", "language.changed")


def test_said_any_matches_any_parameters_and_nothing_else() -> None:
    pattern = said_any("headcounts.too_many")
    assert pattern.fullmatch(said("headcounts.too_many", size=26, maximum=31))
    assert pattern.fullmatch(said("headcounts.too_many", size="veel", maximum="meer"))
    assert not pattern.search(said("headcounts.negative"))
