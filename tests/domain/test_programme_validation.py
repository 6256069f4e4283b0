"""Each validation rule of the template loader, on small files.

Every error must name the file and the path of the field, so whoever edits a template can fix it
without reading the loader.
"""

from pathlib import Path

import pytest

from bot.domain.programme import ProgrammeError, load_programme, load_programmes

VALID = """\
key = "mini"
weeks = 2
online = false
name = { nl = "Mini", en = "Mini" }
description = { nl = "Kort", en = "Short" }
follow_up = { nl = "Tips", en = "Tips" }

[places]
hall = { nl = "zaal", en = "hall" }

[[phases]]
key = "prep"
kind = "week"
offset_days = 0
host = "both"
needs_begeleider = false
name = { nl = "Voorbereiding", en = "Preparation" }
description = { nl = "Voorbereiden", en = "Prepare" }

[[phases.checklist]]
key = "teams"
role = "teacher"
due_days_before = 0
text = { nl = "Teams gemaakt", en = "Teams made" }
scope = "pair"

[[phases]]
key = "visit"
kind = "day"
offset_days = 9
window = [7, 11]
host = "A"
start_time = "08:45"
needs_begeleider = true
name = { nl = "Bezoek", en = "Visit" }
description = { nl = "Een dag", en = "A day" }

[[phases.schedule]]
offset_minutes = 0
duration_minutes = 30
activity = { nl = "Welkom", en = "Welcome" }
place = "hall"

[[phases.schedule]]
offset_minutes = 30
duration_minutes = 60
activity = { nl = "Speurtocht", en = "Scavenger hunt" }

[[phases.checklist]]
key = "transport"
role = "teacher"
side = "guest"
due_days_before = 5
text = { nl = "Vervoer", en = "Transport" }
scope = "class"

[[phases.checklist]]
key = "numbers"
role = "begeleider"
due_days_before = 1
text = { nl = "Nummers", en = "Numbers" }
scope = "person"
"""

REPEAT = """\
key = "jaar"
weeks = 10
online = false
name = { nl = "Jaar", en = "Year" }
description = { nl = "Een jaar", en = "A year" }
follow_up = { nl = "Tips", en = "Tips" }

[[phases]]
key = "meeting"
kind = "day"
repeat = 3
every_days = 21
alternate_host = true
host = "A"
offset_days = 2
window = [0, 4]
start_time = "09:00"
needs_begeleider = false
name = { nl = "Ontmoeting {n}", en = "Meeting {n}" }
description = { nl = "Keer {n}", en = "Time {n}" }

[[phases.checklist]]
key = "bus"
role = "teacher"
side = "guest"
due_days_before = 3
text = { nl = "Bus {n}", en = "Bus {n}" }
scope = "class"
"""


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def load(tmp_path: Path, text: str, name: str = "mini.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_programme(path)


def error(tmp_path: Path, text: str, name: str = "mini.toml") -> ProgrammeError:
    with pytest.raises(ProgrammeError) as info:
        load(tmp_path, text, name)
    return info.value


def assert_error(err: ProgrammeError, field: str, fragment: str, file: str = "mini.toml") -> None:
    assert err.file == file
    assert err.field == field
    assert fragment in err.message
    assert str(err) == f"{file}: {field}: {err.message}"


def test_the_base_file_is_valid(tmp_path):
    programme = load(tmp_path, VALID)
    assert [p.key for p in programme.phases] == ["prep", "visit"]
    visit = programme.phase("visit")
    assert visit.schedule[0].place.nl == "zaal"
    assert visit.schedule[1].place is None
    assert programme.phase("prep").window_start_days == programme.phase("prep").window_end_days == 0


def test_error_format_matches_the_documented_example(tmp_path):
    err = error(
        tmp_path, edit(VALID, "offset_minutes = 0", "offset_minutes = -5"), "standaard.toml"
    )
    assert str(err) == (
        "standaard.toml: phases[1].schedule[0].offset_minutes: must be a whole number ≥ 0"
    )


# -- presence and types ------------------------------------------------------------------


def test_missing_top_level_field(tmp_path):
    assert_error(error(tmp_path, edit(VALID, "weeks = 2\n", "")), "weeks", "is required")


def test_missing_phase_field(tmp_path):
    text = edit(VALID, 'host = "A"\n', "")
    assert_error(error(tmp_path, text), "phases[1].host", "is required")


def test_missing_checklist_field(tmp_path):
    text = edit(VALID, "due_days_before = 5\n", "")
    assert_error(error(tmp_path, text), "phases[1].checklist[0].due_days_before", "is required")


def test_wrong_type_integer(tmp_path):
    assert_error(error(tmp_path, edit(VALID, "weeks = 2", 'weeks = "2"')), "weeks", "whole number")


def test_boolean_is_not_a_number(tmp_path):
    text = edit(VALID, "offset_days = 9", "offset_days = true")
    assert_error(error(tmp_path, text), "phases[1].offset_days", "whole number")


def test_wrong_type_boolean(tmp_path):
    text = edit(VALID, "online = false", 'online = "no"')
    assert_error(error(tmp_path, text), "online", "true or false")


def test_phases_must_not_be_empty(tmp_path):
    text = "phases = []\n" + VALID[: VALID.index("[[phases]]")]
    assert_error(error(tmp_path, text), "phases", "non-empty")


# -- texts -------------------------------------------------------------------------------


def test_text_needs_english(tmp_path):
    text = edit(VALID, 'name = { nl = "Mini", en = "Mini" }', 'name = { nl = "Mini" }')
    assert_error(error(tmp_path, text), "name.en", "is required")


def test_text_must_not_be_empty(tmp_path):
    text = edit(
        VALID, 'text = { nl = "Vervoer", en = "Transport" }', 'text = { nl = " ", en = "T" }'
    )
    assert_error(error(tmp_path, text), "phases[1].checklist[0].text.nl", "must not be empty")


def test_text_must_be_a_table(tmp_path):
    text = edit(VALID, 'name = { nl = "Mini", en = "Mini" }', 'name = "Mini"')
    assert_error(error(tmp_path, text), "name", "must be a table")


def test_text_in_an_unknown_language(tmp_path):
    text = edit(
        VALID, 'name = { nl = "Mini", en = "Mini" }', 'name = { nl = "M", en = "M", de = "M" }'
    )
    assert_error(error(tmp_path, text), "name.de", "unknown field")


# -- unknown fields (typos) --------------------------------------------------------------


def test_unknown_top_level_field(tmp_path):
    assert_error(error(tmp_path, "wekes = 3\n" + VALID), "wekes", "unknown field")


def test_unknown_phase_field(tmp_path):
    text = edit(VALID, "offset_days = 9", "offset_days = 9\noffest_days = 9")
    assert_error(error(tmp_path, text), "phases[1].offest_days", "unknown field")


def test_unknown_schedule_field(tmp_path):
    text = edit(VALID, "duration_minutes = 30", "duration_minutes = 30\nduratoin = 3")
    assert_error(error(tmp_path, text), "phases[1].schedule[0].duratoin", "unknown field")


def test_unknown_checklist_field(tmp_path):
    text = edit(VALID, 'side = "guest"', 'side = "guest"\nowner = "A"')
    assert_error(error(tmp_path, text), "phases[1].checklist[0].owner", "unknown field")


# -- keys --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Mini", "mini\\n", "1mini", "mini-2", ""])
def test_key_format(tmp_path, bad):
    text = edit(VALID, 'key = "mini"', f'key = "{bad}"')
    assert_error(error(tmp_path, text), "key", "lower-case")


def test_key_length(tmp_path):
    text = edit(VALID, 'key = "teams"', f'key = "{"t" * 33}"')
    assert_error(error(tmp_path, text), "phases[0].checklist[0].key", "at most 32")


def test_duplicate_phase_key(tmp_path):
    text = edit(VALID, 'key = "visit"', 'key = "prep"')
    assert_error(error(tmp_path, text), "phases[1].key", "used twice")


def test_duplicate_checklist_key_across_phases(tmp_path):
    text = edit(VALID, 'key = "transport"', 'key = "teams"')
    assert_error(error(tmp_path, text), "phases[1].checklist[0].key", "used twice")


def test_duplicate_programme_key_across_files(tmp_path):
    (tmp_path / "a.toml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.toml").write_text(VALID, encoding="utf-8")
    with pytest.raises(ProgrammeError) as info:
        load_programmes(tmp_path)
    assert_error(info.value, "key", "already used by a.toml", file="b.toml")


def test_programmes_directory_must_exist(tmp_path):
    with pytest.raises(ProgrammeError, match="not a directory"):
        load_programmes(tmp_path / "nope")


# -- choices -----------------------------------------------------------------------------


def test_unknown_kind(tmp_path):
    text = edit(VALID, 'kind = "day"', 'kind = "month"')
    assert_error(error(tmp_path, text), "phases[1].kind", "one of")


def test_unknown_host(tmp_path):
    text = edit(VALID, 'host = "A"', 'host = "C"')
    assert_error(error(tmp_path, text), "phases[1].host", "one of")


def test_unknown_role(tmp_path):
    text = edit(VALID, 'role = "begeleider"', 'role = "ouder"')
    assert_error(error(tmp_path, text), "phases[1].checklist[1].role", "one of")


def test_unknown_side(tmp_path):
    text = edit(VALID, 'side = "guest"', 'side = "visitor"')
    assert_error(error(tmp_path, text), "phases[1].checklist[0].side", "one of")


# -- times and schedules -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["8:45", "24:00", "08:60", "0845", "08:45:00"])
def test_start_time_format(tmp_path, value):
    text = edit(VALID, 'start_time = "08:45"', f'start_time = "{value}"')
    assert_error(error(tmp_path, text), "phases[1].start_time", "HH:MM")


def test_start_time_must_be_a_string(tmp_path):
    # TOML has its own local-time type; templates use strings so the format is one and the same.
    text = edit(VALID, 'start_time = "08:45"', "start_time = 08:45:00")
    assert_error(error(tmp_path, text), "phases[1].start_time", "string")


def test_schedule_duration_positive(tmp_path):
    text = edit(VALID, "duration_minutes = 30", "duration_minutes = 0")
    assert_error(error(tmp_path, text), "phases[1].schedule[0].duration_minutes", "≥ 1")


def test_schedule_in_order(tmp_path):
    text = edit(VALID, "offset_minutes = 30", "offset_minutes = 0")
    text = edit(text, "offset_minutes = 0", "offset_minutes = 45")
    assert_error(error(tmp_path, text), "phases[1].schedule[1].offset_minutes", "in order")


def test_schedule_ends_before_midnight(tmp_path):
    text = edit(VALID, "duration_minutes = 60", "duration_minutes = 1000")
    assert_error(error(tmp_path, text), "phases[1].schedule[1].duration_minutes", "midnight")


def test_schedule_needs_a_start_time(tmp_path):
    text = edit(VALID, 'start_time = "08:45"\n', "")
    assert_error(error(tmp_path, text), "phases[1].schedule", "start_time")


def test_unknown_place(tmp_path):
    text = edit(VALID, 'place = "hall"', 'place = "gym"')
    assert_error(error(tmp_path, text), "phases[1].schedule[0].place", "unknown place 'gym'")


def test_inline_place(tmp_path):
    text = edit(VALID, 'place = "hall"', 'place = { nl = "gymzaal", en = "gym" }')
    assert load(tmp_path, text).phase("visit").schedule[0].place.en == "gym"


# -- offsets and windows -----------------------------------------------------------------


def test_week_phase_starts_on_monday(tmp_path):
    text = edit(VALID, "offset_days = 0", "offset_days = 1")
    assert_error(error(tmp_path, text), "phases[0].offset_days", "Monday")


def test_day_phase_on_a_school_day(tmp_path):
    text = edit(VALID, "offset_days = 9", "offset_days = 12")
    text = edit(text, "window = [7, 11]", "window = [7, 12]")
    assert_error(error(tmp_path, text), "phases[1].offset_days", "school day")


def test_week_phase_has_no_start_time(tmp_path):
    text = edit(VALID, 'host = "both"', 'host = "both"\nstart_time = "09:00"')
    assert_error(error(tmp_path, text), "phases[0].start_time", "only a day phase")


def test_week_phase_is_at_both_schools(tmp_path):
    text = edit(VALID, 'host = "both"', 'host = "A"')
    assert_error(error(tmp_path, text), "phases[0].host", "both")


def test_offset_within_programme(tmp_path):
    text = edit(VALID, "offset_days = 9", "offset_days = 16")
    text = edit(text, "window = [7, 11]", "window = [14, 18]")
    assert_error(error(tmp_path, text), "phases[1].offset_days", "after the programme's last day")


def test_window_contains_default_day(tmp_path):
    text = edit(VALID, "window = [7, 11]", "window = [10, 11]")
    assert_error(error(tmp_path, text), "phases[1].window", "default day")


def test_window_within_programme(tmp_path):
    text = edit(VALID, "window = [7, 11]", "window = [7, 15]")
    assert_error(error(tmp_path, text), "phases[1].window", "after the programme's last day")


def test_window_shape(tmp_path):
    text = edit(VALID, "window = [7, 11]", "window = [7]")
    assert_error(error(tmp_path, text), "phases[1].window", "[earliest, latest]")


def test_window_defaults_to_the_school_week(tmp_path):
    text = edit(VALID, "window = [7, 11]\n", "")
    visit = load(tmp_path, text).phase("visit")
    assert (visit.window_start_days, visit.window_end_days) == (7, 11)


def test_phases_in_order(tmp_path):
    text = edit(VALID, "weeks = 2", "weeks = 3")
    text += """
[[phases]]
key = "early"
kind = "day"
offset_days = 8
host = "B"
needs_begeleider = false
name = { nl = "Vroeg", en = "Early" }
description = { nl = "Vroeg", en = "Early" }
"""
    assert_error(error(tmp_path, text), "phases[2].offset_days", "in order")


# -- checklist rules ---------------------------------------------------------------------


def test_deadline_not_after_the_phase(tmp_path):
    text = edit(VALID, "due_days_before = 5", "due_days_before = -1")
    assert_error(error(tmp_path, text), "phases[1].checklist[0].due_days_before", "after the phase")


def test_deadline_during_a_week_phase_is_fine(tmp_path):
    text = edit(VALID, "due_days_before = 0", "due_days_before = -4")
    assert load(tmp_path, text).checklist_item("teams")[1].due_days_before == -4
    text = edit(VALID, "due_days_before = 0", "due_days_before = -5")
    assert_error(error(tmp_path, text), "phases[0].checklist[0].due_days_before", "minimum -4")


def test_deadline_not_long_before_the_start(tmp_path):
    text = edit(VALID, "due_days_before = 0", "due_days_before = 15")
    assert_error(error(tmp_path, text), "phases[0].checklist[0].due_days_before", "14 days")


def test_begeleider_item_needs_a_begeleider(tmp_path):
    text = edit(VALID, "needs_begeleider = true", "needs_begeleider = false")
    assert_error(error(tmp_path, text), "phases[1].checklist[1].role", "needs_begeleider")


def test_side_needs_a_host(tmp_path):
    text = edit(
        VALID,
        'role = "teacher"\ndue_days_before = 0',
        'role = "teacher"\nside = "host"\ndue_days_before = 0',
    )
    assert_error(error(tmp_path, text), "phases[0].checklist[0].side", "hosted by A or B")


# -- online ------------------------------------------------------------------------------


def test_online_programme_has_online_days(tmp_path):
    text = edit(VALID, "online = false", "online = true")
    assert_error(error(tmp_path, text), "phases[1].host", "online")


def test_online_host_needs_online_programme(tmp_path):
    text = edit(VALID, 'host = "A"', 'host = "online"')
    text = edit(text, 'side = "guest"\n', "")
    assert_error(error(tmp_path, text), "phases[1].host", "online = true")


# -- invalid TOML ------------------------------------------------------------------------


def test_invalid_toml_names_the_line(tmp_path):
    text = edit(VALID, 'host = "A"', "host = A")
    line = text.splitlines().index("host = A") + 1
    err = error(tmp_path, text)
    assert_error(err, f"line {line}", "invalid TOML")


def test_unreadable_file(tmp_path):
    (tmp_path / "mini.toml").write_bytes(b'key = "\xff"')
    with pytest.raises(ProgrammeError) as info:
        load_programme(tmp_path / "mini.toml")
    assert info.value.file == "mini.toml"


# -- repeat ------------------------------------------------------------------------------


def test_repeat_expands(tmp_path):
    programme = load(tmp_path, REPEAT, "jaar.toml")
    assert [p.key for p in programme.phases] == ["meeting_01", "meeting_02", "meeting_03"]
    assert [p.host for p in programme.phases] == ["A", "B", "A"]
    assert [p.offset_days for p in programme.phases] == [2, 23, 44]
    assert [(p.window_start_days, p.window_end_days) for p in programme.phases] == [
        (0, 4),
        (21, 25),
        (42, 46),
    ]
    third = programme.phase("meeting_03")
    assert (third.name.nl, third.name.en, third.description.en) == (
        "Ontmoeting 3",
        "Meeting 3",
        "Time 3",
    )
    assert [(i.key, i.text.nl) for i in third.checklist] == [("bus_03", "Bus 3")]
    assert (third.series, third.number) == ("meeting", 3)


def test_repeat_without_alternating_keeps_the_host(tmp_path):
    text = edit(REPEAT, "alternate_host = true\n", "")
    assert {p.host for p in load(tmp_path, text, "jaar.toml").phases} == {"A"}


def test_repeat_name_needs_the_number(tmp_path):
    text = edit(REPEAT, 'en = "Meeting {n}"', 'en = "Meeting"')
    assert_error(error(tmp_path, text, "jaar.toml"), "phases[0].name.en", "{n}", "jaar.toml")


def test_repeat_every_whole_weeks(tmp_path):
    text = edit(REPEAT, "every_days = 21", "every_days = 20")
    assert_error(
        error(tmp_path, text, "jaar.toml"), "phases[0].every_days", "multiple of 7", "jaar.toml"
    )


def test_repeat_needs_every_days(tmp_path):
    text = edit(REPEAT, "every_days = 21\n", "")
    assert_error(
        error(tmp_path, text, "jaar.toml"), "phases[0].every_days", "required", "jaar.toml"
    )


def test_repeat_at_least_twice(tmp_path):
    text = edit(REPEAT, "repeat = 3", "repeat = 1")
    assert_error(error(tmp_path, text, "jaar.toml"), "phases[0].repeat", "≥ 2", "jaar.toml")


def test_alternate_host_needs_a_or_b(tmp_path):
    text = edit(REPEAT, 'host = "A"', 'host = "both"')
    text = edit(text, 'side = "guest"\n', "")
    assert_error(
        error(tmp_path, text, "jaar.toml"), "phases[0].alternate_host", "'A' or 'B'", "jaar.toml"
    )


def test_repeat_fields_need_repeat(tmp_path):
    text = edit(REPEAT, "repeat = 3\n", "")
    assert_error(
        error(tmp_path, text, "jaar.toml"), "phases[0].every_days", "with repeat", "jaar.toml"
    )


def test_placeholder_needs_repeat(tmp_path):
    text = edit(
        VALID,
        'name = { nl = "Bezoek", en = "Visit" }',
        'name = { nl = "Bezoek {n}", en = "Visit" }',
    )
    assert_error(error(tmp_path, text), "phases[1]", "{n}")


def test_repeat_must_fit_in_the_programme(tmp_path):
    text = edit(REPEAT, "weeks = 10", "weeks = 6")
    err = error(tmp_path, text, "jaar.toml")
    assert_error(err, "phases[0].offset_days", "meeting_03: ends on day 44", "jaar.toml")


# -- whose tick an item is, and the day it is for ----------------------------------------


def test_every_item_says_whose_tick_it_is(tmp_path):
    programme = load(tmp_path, VALID)
    scopes = {i.key: i.scope for p in programme.phases for i in p.checklist}
    assert scopes == {"teams": "pair", "transport": "class", "numbers": "person"}


def test_scope_is_required(tmp_path):
    text = edit(VALID, 'scope = "person"\n', "")
    assert_error(error(tmp_path, text), "phases[1].checklist[1].scope", "is required")


def test_unknown_scope(tmp_path):
    text = edit(VALID, 'scope = "class"', 'scope = "school"')
    assert_error(error(tmp_path, text), "phases[1].checklist[0].scope", "one of")


def test_a_begeleider_has_no_class(tmp_path):
    text = edit(VALID, 'scope = "person"', 'scope = "class"')
    assert_error(error(tmp_path, text), "phases[1].checklist[1].scope", "no class")


def test_a_pair_item_is_for_both_schools(tmp_path):
    text = edit(VALID, 'scope = "class"', 'scope = "pair"')
    assert_error(error(tmp_path, text), "phases[1].checklist[0].scope", "side 'all'")


def test_items_are_labelled_with_their_day(tmp_path):
    programme = load(tmp_path, VALID)
    # A week phase's items need no label; a day phase's get its name unless it has a label.
    assert programme.phase("prep").item_label is None
    assert programme.phase("visit").item_label == programme.phase("visit").name
    text = edit(
        VALID,
        'name = { nl = "Bezoek"',
        'label = { nl = "Dag 1", en = "Day 1" }\nname = { nl = "Bezoek"',
    )
    labelled = load(tmp_path, text).phase("visit").item_label
    assert labelled is not None and (labelled.nl, labelled.en) == ("Dag 1", "Day 1")


def test_a_repeated_label_gets_the_number(tmp_path):
    text = edit(
        REPEAT,
        'name = { nl = "Ontmoeting {n}"',
        'label = { nl = "O{n}", en = "M{n}" }\nname = { nl = "Ontmoeting {n}"',
    )
    third = load(tmp_path, text, "jaar.toml").phase("meeting_03")
    assert third.item_label is not None and third.item_label.nl == "O3"


def test_a_label_needs_both_languages(tmp_path):
    text = edit(VALID, 'name = { nl = "Bezoek"', 'label = { nl = "Dag 1" }\nname = { nl = "Bezoek"')
    assert_error(error(tmp_path, text), "phases[1].label.en", "is required")
