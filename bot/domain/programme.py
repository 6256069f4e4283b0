"""Programme templates: loading and validating the TOML files in bot/programmes/.

The schema is described in bot/programmes/README.md. A template is checked completely when it is
loaded, so that a typo in a file stops the bot at start-up instead of surfacing weeks later as a
reminder that never goes out.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any, NoReturn

LANGUAGES = ("nl", "en")
ROLES = ("teacher", "begeleider")
HOSTS = ("A", "B", "both", "online")
SIDES = ("all", "host", "guest")
# Who ticks a checklist item: the pair (one tick for both schools), the class (both teachers of
# one school share the tick) or each person for themselves.
SCOPES = ("pair", "class", "person")
KINDS = ("week", "day")
DURATION_DAYS = {"week": 5, "day": 1}
DAYS_PER_WEEK = 7
SCHOOL_DAYS_PER_WEEK = 5
# A deadline may ask for preparation before the programme starts, but not so long before that
# the teachers have not yet heard of their exchange.
MAX_LEAD_BEFORE_START_DAYS = 14
# Keys end up in callback_data (64 bytes in all) and in database columns; keep them short.
MAX_KEY_LENGTH = 32
REPEAT_PLACEHOLDER = "{n}"

PROGRAMMES_DIR = Path(__file__).resolve().parent.parent / "programmes"

_KEY = re.compile(r"[a-z][a-z0-9_]*")
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_TOML_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True)
class Text:
    """A text users read, in every language the bot speaks."""

    nl: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if language(lang) == "en" else self.nl


@dataclass(frozen=True)
class ScheduleItem:
    offset_minutes: int
    duration_minutes: int
    activity: Text
    place: Text | None


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    role: str  # "teacher" | "begeleider"
    text: Text
    due_days_before: int  # negative: that many days after the phase's first day
    side: str = "all"  # "all" | "host" | "guest": which school's teacher it is for
    # "pair" | "class" | "person": whose tick it is. Templates must say; "class" here only so
    # that code building an item by hand gets the teachers' usual sharing.
    scope: str = "class"

    def applies_to(self, role: str, side: str | None, host: str) -> bool:
        """Whether the item is for someone with `role` on `side` in a phase hosted by `host`.

        Begeleider items are for every begeleider. A teacher's item is for both classes, or
        only for the hosting or only for the visiting class when the phase is at school A or
        B. A teacher whose side is not known gets the items of both, so nothing is missed.
        """
        if role != self.role:
            return False
        if role != "teacher" or self.side == "all" or host not in ("A", "B") or side is None:
            return True
        return (side == host) == (self.side == "host")


@dataclass(frozen=True)
class Phase:
    key: str
    kind: str  # "week" | "day"
    name: Text
    description: Text
    offset_days: int
    duration_days: int
    window_start_days: int
    window_end_days: int
    host: str  # "A" | "B" | "both" | "online"
    default_start_time: time | None
    needs_begeleider: bool
    schedule: tuple[ScheduleItem, ...]
    checklist: tuple[ChecklistItem, ...]
    # Set on phases expanded from a `repeat`: "meeting" and 3 for meeting_03.
    series: str | None = None
    number: int | None = None
    # A short name that tells checklist items of different days apart ("Dag 1").
    label: Text | None = None

    @property
    def end_offset_days(self) -> int:
        return self.offset_days + self.duration_days - 1

    @property
    def item_label(self) -> Text | None:
        """What a checklist item of this phase is prefixed with: "Dag 1 · Vervoer geregeld".

        The `label` of the template, else a day phase's name; a week phase needs none.
        """
        if self.label is not None:
            return self.label
        return self.name if self.kind == "day" else None


@dataclass(frozen=True)
class Programme:
    key: str
    name: Text
    description: Text
    weeks: int
    online: bool
    phases: tuple[Phase, ...]
    follow_up: Text
    _by_key: Mapping[str, Phase] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {p.key: p for p in self.phases})

    def phase(self, key: str) -> Phase:
        try:
            return self._by_key[key]
        except KeyError:
            known = ", ".join(self._by_key)
            raise KeyError(
                f"programme {self.key!r} has no phase {key!r} (phases: {known})"
            ) from None

    @property
    def day_phases(self) -> tuple[Phase, ...]:
        return tuple(p for p in self.phases if p.kind == "day")

    @property
    def length_days(self) -> int:
        return self.weeks * DAYS_PER_WEEK

    def checklist_item(self, key: str) -> tuple[Phase, ChecklistItem]:
        """The item with this key and the phase it belongs to."""
        for phase in self.phases:
            for item in phase.checklist:
                if item.key == key:
                    return phase, item
        raise KeyError(f"programme {self.key!r} has no checklist item {key!r}")


def language(lang: str | None) -> str:
    """The language the bot speaks for a user's language code: "en" for English, else "nl"."""
    # Telegram sends IETF tags such as "en-GB"; anything we do not speak gets Dutch.
    code = (lang or "").replace("_", "-").split("-", 1)[0].strip().lower()
    return "en" if code == "en" else "nl"


class ProgrammeError(Exception):
    """A template that cannot be used; names the file and the field so it can be fixed."""

    def __init__(self, file: str, field: str, message: str) -> None:
        super().__init__(f"{file}: {field}: {message}")
        self.file = file
        self.field = field
        self.message = message


def load_programme(path: Path) -> Programme:
    """Read and validate one template file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        where = f"line {match.group(1)}" if match else "(toml)"
        raise ProgrammeError(path.name, where, f"invalid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgrammeError(path.name, "(file)", f"cannot read: {exc}") from exc
    return _Reader(path.name).programme(raw)


def load_programmes(directory: Path | None = None) -> dict[str, Programme]:
    """All templates in `directory` (default: the ones shipped in the package), by key."""
    directory = PROGRAMMES_DIR if directory is None else directory
    if not directory.is_dir():
        raise ProgrammeError(str(directory), "(directory)", "not a directory")
    programmes: dict[str, Programme] = {}
    files: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        programme = load_programme(path)
        if programme.key in programmes:
            raise ProgrammeError(
                path.name, "key", f"{programme.key!r} is already used by {files[programme.key]}"
            )
        programmes[programme.key] = programme
        files[programme.key] = path.name
    return programmes


class _Reader:
    """Turns the parsed TOML of one file into a Programme, failing on the first problem."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.places: dict[str, Text] = {}

    def fail(self, path: str, message: str) -> NoReturn:
        raise ProgrammeError(self.file, path, message)

    # -- generic checks -------------------------------------------------------------------

    def fields(
        self,
        table: Any,
        path: str,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        if not isinstance(table, dict):
            self.fail(path or "(top level)", "must be a table")
        for name in table:
            if name not in required and name not in optional:
                allowed = ", ".join((*required, *optional))
                self.fail(_join(path, name), f"unknown field (a typo?); allowed here: {allowed}")
        for name in required:
            if name not in table:
                self.fail(_join(path, name), "is required")
        return table

    def integer(self, value: Any, path: str, *, minimum: int | None = None) -> int:
        # TOML booleans arrive as Python bools, which are ints too.
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(path, "must be a whole number")
        if minimum is not None and value < minimum:
            self.fail(path, f"must be a whole number ≥ {minimum}")
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            self.fail(path, "must be a string")
        return value

    def choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str:
        chosen = self.string(value, path)
        if chosen not in choices:
            self.fail(path, f"must be one of {', '.join(repr(c) for c in choices)}")
        return chosen

    def key(self, value: Any, path: str) -> str:
        key = self.string(value, path)
        if not _KEY.fullmatch(key) or len(key) > MAX_KEY_LENGTH:
            self.fail(
                path,
                "must be lower-case letters, digits and _, starting with a letter, "
                f"at most {MAX_KEY_LENGTH} characters",
            )
        return key

    def text(self, value: Any, path: str) -> Text:
        table = self.fields(value, path, LANGUAGES)
        parts: dict[str, str] = {}
        for lang in LANGUAGES:
            part = self.string(table[lang], f"{path}.{lang}")
            if not part.strip():
                self.fail(f"{path}.{lang}", "must not be empty")
            parts[lang] = part.strip()
        return Text(**parts)

    def start_time(self, value: Any, path: str) -> time:
        match = _TIME.fullmatch(self.string(value, path))
        if not match:
            self.fail(path, 'must be a time "HH:MM" (00:00-23:59)')
        return time(int(match.group(1)), int(match.group(2)))

    # -- the schema -----------------------------------------------------------------------

    def programme(self, raw: dict[str, Any]) -> Programme:
        top = self.fields(
            raw,
            "",
            ("key", "name", "description", "weeks", "online", "follow_up", "phases"),
            ("places",),
        )
        key = self.key(top["key"], "key")
        name = self.text(top["name"], "name")
        description = self.text(top["description"], "description")
        weeks = self.integer(top["weeks"], "weeks", minimum=1)
        online = self.boolean(top["online"], "online")
        follow_up = self.text(top["follow_up"], "follow_up")
        if "places" in top:
            self.read_places(top["places"])

        raw_phases = top["phases"]
        if not isinstance(raw_phases, list) or not raw_phases:
            self.fail("phases", "must be a non-empty list of [[phases]] tables")

        phases: list[Phase] = []
        origin: list[str] = []  # the file path each (expanded) phase came from, for errors
        for index, raw_phase in enumerate(raw_phases):
            path = f"phases[{index}]"
            for phase in self.phase(raw_phase, path):
                phases.append(phase)
                origin.append(path)

        self.check_phases(phases, origin, weeks=weeks, online=online)
        return Programme(
            key=key,
            name=name,
            description=description,
            weeks=weeks,
            online=online,
            phases=tuple(phases),
            follow_up=follow_up,
        )

    def read_places(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            self.fail("places", "must be a table of named places")
        for name, value in raw.items():
            self.key(name, f"places.{name}")
            self.places[name] = self.text(value, f"places.{name}")

    def phase(self, raw: Any, path: str) -> list[Phase]:
        table = self.fields(
            raw,
            path,
            ("key", "kind", "name", "description", "offset_days", "host", "needs_begeleider"),
            (
                "window",
                "start_time",
                "schedule",
                "checklist",
                "repeat",
                "every_days",
                "alternate_host",
                "label",
            ),
        )
        key = self.key(table["key"], f"{path}.key")
        kind = self.choice(table["kind"], f"{path}.kind", KINDS)
        duration = DURATION_DAYS[kind]
        name = self.text(table["name"], f"{path}.name")
        label = self.text(table["label"], f"{path}.label") if "label" in table else None
        description = self.text(table["description"], f"{path}.description")
        offset = self.integer(table["offset_days"], f"{path}.offset_days", minimum=0)
        host = self.choice(table["host"], f"{path}.host", HOSTS)
        needs_begeleider = self.boolean(table["needs_begeleider"], f"{path}.needs_begeleider")

        if kind == "week":
            for name_ in ("window", "start_time", "schedule"):
                if name_ in table:
                    self.fail(f"{path}.{name_}", "only a day phase has this")
            if offset % DAYS_PER_WEEK:
                self.fail(
                    f"{path}.offset_days", "a week phase must start on a Monday (a multiple of 7)"
                )
            if host != "both":
                self.fail(f"{path}.host", "a week phase happens at both schools: use 'both'")
            window = (offset, offset)
        else:
            if offset % DAYS_PER_WEEK >= SCHOOL_DAYS_PER_WEEK:
                self.fail(f"{path}.offset_days", "must fall on a school day (Monday to Friday)")
            window = self.window(table.get("window"), f"{path}.window", offset)

        start_time = (
            self.start_time(table["start_time"], f"{path}.start_time")
            if "start_time" in table
            else None
        )
        schedule = self.schedule(table.get("schedule", []), f"{path}.schedule", start_time)

        checklist = self.checklist(
            table.get("checklist", []),
            f"{path}.checklist",
            duration=duration,
            host=host,
            needs_begeleider=needs_begeleider,
        )

        phase = Phase(
            key=key,
            kind=kind,
            name=name,
            description=description,
            offset_days=offset,
            duration_days=duration,
            window_start_days=window[0],
            window_end_days=window[1],
            host=host,
            default_start_time=start_time,
            needs_begeleider=needs_begeleider,
            schedule=schedule,
            checklist=checklist,
            label=label,
        )
        if "repeat" in table:
            return self.expand(phase, table, path)
        for name_ in ("every_days", "alternate_host"):
            if name_ in table:
                self.fail(f"{path}.{name_}", "only allowed together with repeat")
        if _mentions_placeholder(phase):
            self.fail(path, f"{REPEAT_PLACEHOLDER} is only replaced in a phase with repeat")
        return [phase]

    def window(self, raw: Any, path: str, offset: int) -> tuple[int, int]:
        if raw is None:
            # Unless the file says otherwise, the date may move within the school week.
            monday = offset - offset % DAYS_PER_WEEK
            return monday, monday + SCHOOL_DAYS_PER_WEEK - 1
        if not isinstance(raw, list) or len(raw) != 2:
            self.fail(path, "must be [earliest, latest] in days from the programme start")
        start = self.integer(raw[0], f"{path}[0]", minimum=0)
        end = self.integer(raw[1], f"{path}[1]", minimum=0)
        if not start <= offset <= end:
            self.fail(path, f"must contain the default day (offset_days = {offset})")
        return start, end

    def schedule(self, raw: Any, path: str, start_time: time | None) -> tuple[ScheduleItem, ...]:
        if not isinstance(raw, list):
            self.fail(path, "must be a list of [[...schedule]] tables")
        if raw and start_time is None:
            self.fail(path, "a schedule needs the phase's start_time")
        start_minutes = start_time.hour * 60 + start_time.minute if start_time else 0
        items: list[ScheduleItem] = []
        previous = 0
        for index, raw_item in enumerate(raw):
            item_path = f"{path}[{index}]"
            table = self.fields(
                raw_item, item_path, ("offset_minutes", "duration_minutes", "activity"), ("place",)
            )
            offset = self.integer(table["offset_minutes"], f"{item_path}.offset_minutes", minimum=0)
            duration = self.integer(
                table["duration_minutes"], f"{item_path}.duration_minutes", minimum=1
            )
            if offset < previous:
                self.fail(f"{item_path}.offset_minutes", "items must be in order of offset_minutes")
            previous = offset
            if start_minutes + offset + duration > 24 * 60:
                self.fail(f"{item_path}.duration_minutes", "the item would end after midnight")
            activity = self.text(table["activity"], f"{item_path}.activity")
            place = self.place(table["place"], f"{item_path}.place") if "place" in table else None
            items.append(ScheduleItem(offset, duration, activity, place))
        return tuple(items)

    def place(self, raw: Any, path: str) -> Text:
        if isinstance(raw, str):
            if raw not in self.places:
                known = ", ".join(self.places) or "none"
                self.fail(path, f"unknown place {raw!r} (defined in [places]: {known})")
            return self.places[raw]
        return self.text(raw, path)

    def checklist(
        self, raw: Any, path: str, *, duration: int, host: str, needs_begeleider: bool
    ) -> tuple[ChecklistItem, ...]:
        if not isinstance(raw, list):
            self.fail(path, "must be a list of [[...checklist]] tables")
        items: list[ChecklistItem] = []
        for index, raw_item in enumerate(raw):
            item_path = f"{path}[{index}]"
            table = self.fields(
                raw_item,
                item_path,
                ("key", "role", "scope", "text", "due_days_before"),
                ("side",),
            )
            key = self.key(table["key"], f"{item_path}.key")
            role = self.choice(table["role"], f"{item_path}.role", ROLES)
            text = self.text(table["text"], f"{item_path}.text")
            due = self.integer(table["due_days_before"], f"{item_path}.due_days_before")
            if due < -(duration - 1):
                self.fail(
                    f"{item_path}.due_days_before",
                    f"the deadline falls after the phase's last day (minimum {-(duration - 1)})",
                )
            side = self.choice(table.get("side", "all"), f"{item_path}.side", SIDES)
            if side != "all" and host not in ("A", "B"):
                self.fail(f"{item_path}.side", f"needs a phase hosted by A or B (host is {host!r})")
            if role == "begeleider" and not needs_begeleider:
                self.fail(f"{item_path}.role", "the phase has needs_begeleider = false")
            if role == "begeleider" and side != "all":
                self.fail(f"{item_path}.side", "a begeleider serves both schools: use 'all'")
            scope = self.choice(table["scope"], f"{item_path}.scope", SCOPES)
            if scope == "class" and role != "teacher":
                self.fail(
                    f"{item_path}.scope",
                    "a begeleider belongs to no class: use 'person' or 'pair'",
                )
            if scope == "pair" and side != "all":
                self.fail(
                    f"{item_path}.scope",
                    f"a pair item is ticked once for both schools: it needs side 'all' "
                    f"(side is {side!r})",
                )
            items.append(ChecklistItem(key, role, text, due, side, scope))
        return tuple(items)

    def expand(self, phase: Phase, table: dict[str, Any], path: str) -> list[Phase]:
        count = self.integer(table["repeat"], f"{path}.repeat", minimum=2)
        if "every_days" not in table:
            self.fail(f"{path}.every_days", "is required with repeat")
        every = self.integer(table["every_days"], f"{path}.every_days", minimum=1)
        if every % DAYS_PER_WEEK:
            # Whole weeks keep every repetition on the same weekday as the first.
            self.fail(f"{path}.every_days", "must be a whole number of weeks (a multiple of 7)")
        alternate = self.boolean(table.get("alternate_host", False), f"{path}.alternate_host")
        if alternate and phase.host not in ("A", "B"):
            self.fail(f"{path}.alternate_host", "needs host 'A' or 'B' for the first repetition")
        for lang in LANGUAGES:
            if REPEAT_PLACEHOLDER not in getattr(phase.name, lang):
                self.fail(
                    f"{path}.name.{lang}",
                    f"must contain {REPEAT_PLACEHOLDER} so the repetitions get their own names",
                )
        width = max(2, len(str(count)))
        phases: list[Phase] = []
        for n in range(1, count + 1):
            shift = every * (n - 1)
            suffix = f"_{n:0{width}d}"
            host = phase.host
            if alternate and n % 2 == 0:
                host = "B" if phase.host == "A" else "A"
            phases.append(
                replace(
                    phase,
                    key=phase.key + suffix,
                    name=_number(phase.name, n),
                    label=_number(phase.label, n) if phase.label is not None else None,
                    description=_number(phase.description, n),
                    offset_days=phase.offset_days + shift,
                    window_start_days=phase.window_start_days + shift,
                    window_end_days=phase.window_end_days + shift,
                    host=host,
                    schedule=tuple(
                        replace(item, activity=_number(item.activity, n)) for item in phase.schedule
                    ),
                    checklist=tuple(
                        replace(item, key=item.key + suffix, text=_number(item.text, n))
                        for item in phase.checklist
                    ),
                    series=phase.key,
                    number=n,
                )
            )
        return phases

    def check_phases(
        self, phases: list[Phase], origin: list[str], *, weeks: int, online: bool
    ) -> None:
        last_day = weeks * DAYS_PER_WEEK - 1
        phase_keys: set[str] = set()
        item_keys: set[str] = set()
        previous = 0
        for phase, path in zip(phases, origin, strict=True):
            # Repetitions share their origin's path; name the repetition in the message.
            which = f"{phase.key}: " if phase.series else ""
            if phase.key in phase_keys:
                self.fail(f"{path}.key", f"{which}phase key {phase.key!r} is used twice")
            phase_keys.add(phase.key)
            if len(phase.key) > MAX_KEY_LENGTH:
                self.fail(
                    f"{path}.key",
                    f"{which}{phase.key!r} is longer than {MAX_KEY_LENGTH} characters",
                )
            if phase.end_offset_days > last_day:
                self.fail(
                    f"{path}.offset_days",
                    f"{which}ends on day {phase.end_offset_days}, after the programme's "
                    f"last day ({last_day}, weeks = {weeks})",
                )
            if phase.window_end_days + phase.duration_days - 1 > last_day:
                self.fail(
                    f"{path}.window",
                    f"{which}latest day {phase.window_end_days} is after the programme's "
                    f"last day ({last_day}, weeks = {weeks})",
                )
            if phase.offset_days < previous:
                self.fail(f"{path}.offset_days", f"{which}phases must be in order of offset_days")
            previous = phase.offset_days
            if phase.kind == "day":
                if online and phase.host != "online":
                    self.fail(f"{path}.host", f"{which}an online programme's days are 'online'")
                if not online and phase.host == "online":
                    self.fail(f"{path}.host", f"{which}'online' needs online = true")
            for index, item in enumerate(phase.checklist):
                item_path = f"{path}.checklist[{index}]"
                if item.key in item_keys:
                    self.fail(
                        f"{item_path}.key", f"{which}checklist key {item.key!r} is used twice"
                    )
                item_keys.add(item.key)
                if len(item.key) > MAX_KEY_LENGTH:
                    self.fail(
                        f"{item_path}.key",
                        f"{which}{item.key!r} is longer than {MAX_KEY_LENGTH} characters",
                    )
                if phase.offset_days - item.due_days_before < -MAX_LEAD_BEFORE_START_DAYS:
                    self.fail(
                        f"{item_path}.due_days_before",
                        f"{which}the deadline is more than {MAX_LEAD_BEFORE_START_DAYS} days "
                        "before the programme starts",
                    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _number(text: Text, n: int) -> Text:
    return Text(
        nl=text.nl.replace(REPEAT_PLACEHOLDER, str(n)),
        en=text.en.replace(REPEAT_PLACEHOLDER, str(n)),
    )


def _mentions_placeholder(phase: Phase) -> bool:
    texts = [phase.name, phase.description]
    texts += [phase.label] if phase.label is not None else []
    texts += [item.activity for item in phase.schedule]
    texts += [item.text for item in phase.checklist]
    return any(REPEAT_PLACEHOLDER in t.nl or REPEAT_PLACEHOLDER in t.en for t in texts)
