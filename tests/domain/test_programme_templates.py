"""The templates shipped in bot/programmes/ load and say what the programme needs."""

import shutil
from datetime import time
from itertools import pairwise
from pathlib import Path

import pytest

from bot.domain.programme import (
    PROGRAMMES_DIR,
    Programme,
    Text,
    load_programme,
    load_programmes,
)


@pytest.fixture(scope="module")
def programmes() -> dict[str, Programme]:
    return load_programmes()


def all_items(programme: Programme) -> dict[str, str]:
    return {item.key: item.text.nl for phase in programme.phases for item in phase.checklist}


def test_all_three_templates_load(programmes):
    assert set(programmes) == {"standaard", "online", "vriendschapsscholen"}
    for key, programme in programmes.items():
        assert programme.key == key
        assert programme.name.nl and programme.name.en
        assert programme.follow_up.nl and programme.follow_up.en


def test_standard_has_the_four_weeks(programmes):
    programme = programmes["standaard"]
    assert programme.weeks == 4
    assert not programme.online
    assert [p.key for p in programme.phases] == [
        "orientation",
        "exchange_day_1",
        "exchange_day_2",
        "closing",
    ]
    orientation = programme.phase("orientation")
    assert (orientation.kind, orientation.duration_days, orientation.offset_days) == ("week", 5, 0)
    assert not orientation.needs_begeleider
    assert orientation.schedule == ()

    day1, day2, closing = programme.day_phases
    assert (day1.offset_days, day1.window_start_days, day1.window_end_days) == (9, 7, 11)
    assert (day2.offset_days, day2.window_start_days, day2.window_end_days) == (16, 14, 18)
    assert (closing.offset_days, closing.window_start_days, closing.window_end_days) == (23, 21, 25)
    assert [p.host for p in programme.day_phases] == ["A", "B", "A"]
    assert day1.default_start_time == time(8, 45) == day2.default_start_time
    assert closing.default_start_time == time(13, 0)
    assert all(p.needs_begeleider for p in programme.day_phases)


def test_standard_exchange_days_have_the_day_schedule(programmes):
    programme = programmes["standaard"]
    for key in ("exchange_day_1", "exchange_day_2"):
        activities = " ".join(i.activity.nl.lower() for i in programme.phase(key).schedule)
        for word in ("welkom", "interview", "wijk", "speurtocht", "lunch"):
            assert word in activities, (key, word)
        assert all(i.place is not None for i in programme.phase(key).schedule)
        assert programme.phase(key).schedule[0].offset_minutes == 0


def test_standard_checklist_covers_what_must_not_be_forgotten(programmes):
    items = all_items(programmes["standaard"])
    for key in (
        "consent_collected",
        "mixed_teams_made",
        "class_photo_sent",
        "booklet_lessons_done",
        "conflict_agreements",
        "day1_transport",
        "day2_transport",
        "closing_parents_invited",
        "closing_room_decorated",
        "closing_snacks",
        "closing_team_photos",
        "closing_contact_forms",
        "day1_schedule_checked",
        "day1_emergency_numbers",
    ):
        assert key in items
    assert "tram" in items["day1_transport"]


def test_standard_sides_match_hosts(programmes):
    programme = programmes["standaard"]
    day1 = programme.phase("exchange_day_1")
    sides = {item.key: item.side for item in day1.checklist}
    assert sides["day1_transport"] == "guest"
    assert sides["day1_route_ready"] == "host"
    begeleider = [i for i in day1.checklist if i.role == "begeleider"]
    assert begeleider and all(i.side == "all" for i in begeleider)


def test_online_has_no_travel(programmes):
    programme = programmes["online"]
    assert programme.online
    assert [p.key for p in programme.phases] == [p.key for p in programmes["standaard"].phases]
    assert all(p.host == "online" for p in programme.day_phases)
    assert not [key for key in all_items(programme) if "transport" in key]
    assert "day1_equipment_tested" in all_items(programme)
    for phase in programme.day_phases:
        places = {i.place.en for i in phase.schedule if i.place}
        assert places


def test_friendship_schools_expand_to_ten_meetings(programmes):
    programme = programmes["vriendschapsscholen"]
    meetings = [p for p in programme.phases if p.series == "meeting"]
    assert [p.key for p in meetings] == [f"meeting_{n:02d}" for n in range(1, 11)]
    assert [p.number for p in meetings] == list(range(1, 11))
    assert [p.host for p in meetings] == ["A", "B"] * 5
    assert [p.offset_days for p in meetings] == [9 + 28 * n for n in range(10)]
    assert meetings[2].name == Text(nl="Ontmoeting 3", en="Meeting 3")
    assert "{n}" not in meetings[2].description.nl
    assert "3 van 10" in meetings[2].description.nl
    assert {i.key for i in meetings[2].checklist} >= {"meeting_transport_03", "meeting_activity_03"}
    assert "ontmoeting 3" in programme.checklist_item("meeting_activity_03")[1].text.nl.lower()
    # each meeting may move within its own block, and the blocks do not overlap
    for before, after in pairwise(meetings):
        assert before.window_end_days < after.window_start_days
    assert meetings[-1].window_end_days < programme.length_days


def test_phase_lookup(programmes):
    programme = programmes["standaard"]
    assert programme.phase("closing").name.get("en") == "Closing"
    with pytest.raises(KeyError, match="no phase 'nope'"):
        programme.phase("nope")
    phase, item = programme.checklist_item("day2_transport")
    assert phase.key == "exchange_day_2"
    assert item.role == "teacher"


def test_text_falls_back_to_dutch():
    text = Text(nl="Afsluiting", en="Closing")
    assert text.get("nl") == "Afsluiting"
    assert text.get("en") == "Closing"
    assert text.get("en-GB") == "Closing"
    assert text.get("de") == "Afsluiting"
    assert text.get("") == "Afsluiting"
    assert text.get("EN_us") == "Closing"


def test_a_new_variant_is_just_a_file(tmp_path: Path):
    for path in PROGRAMMES_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    source = (tmp_path / "standaard.toml").read_text(encoding="utf-8")
    (tmp_path / "kort.toml").write_text(
        source.replace('key = "standaard"', 'key = "kort"', 1), encoding="utf-8"
    )
    programmes = load_programmes(tmp_path)
    assert "kort" in programmes
    assert load_programme(tmp_path / "kort.toml").phases == programmes["standaard"].phases


def test_items_of_different_days_read_differently(programmes):
    """Two items with the same text on two days get labels that tell them apart."""
    for programme in programmes.values():
        seen: dict[str, str] = {}
        for phase in programme.phases:
            for item in phase.checklist:
                label = phase.item_label
                shown = f"{label.nl if label else ''} · {item.text.nl}"
                assert shown not in seen, (programme.key, item.key, seen.get(shown))
                seen[shown] = item.key
    standard = programmes["standaard"]
    labels = {p.key: p.item_label.nl if p.item_label else None for p in standard.phases}
    assert labels == {
        "orientation": None,
        "exchange_day_1": "Dag 1",
        "exchange_day_2": "Dag 2",
        "closing": "Afsluiting",
    }


def test_whose_tick_each_item_is(programmes):
    for programme in programmes.values():
        for phase in programme.phases:
            for item in phase.checklist:
                # Begeleiders tick their own; what teachers do together is one tick.
                if item.role == "begeleider":
                    assert item.scope == "person", item.key
                text = item.text.nl
                if "samen met de leerkracht" in text or text.startswith("Met de andere leerkracht"):
                    assert item.scope == "pair", (programme.key, item.key)
    standard = programmes["standaard"]
    assert standard.checklist_item("mixed_teams_made")[1].scope == "pair"
    assert standard.checklist_item("day1_emergency_numbers")[1].scope == "person"
    assert standard.checklist_item("day1_transport")[1].scope == "class"
