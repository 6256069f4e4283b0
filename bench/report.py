"""Figures with their spread, baseline and target; written as JSON and as a Markdown table."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "results.md"


@dataclass(frozen=True)
class Target:
    """What issue 12 asks: `op` is "<=" or ">=" against `value`."""

    op: str
    value: float

    def met(self, result: float) -> bool:
        return result <= self.value if self.op == "<=" else result >= self.value

    def __str__(self) -> str:
        return f"{'≤' if self.op == '<=' else '≥'} {_number(self.value)}"


@dataclass
class Figure:
    key: str
    title: str
    unit: str
    runs: list[float]
    baseline: float | None
    baseline_label: str
    target: Target | None
    # How the ratio reads: result / baseline ("x"), or left out where a ratio says nothing.
    ratio_kind: str = "x"
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.ratio_kind != "x":
            return None
        return self.median / self.baseline

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.median)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "unit": self.unit,
            "median": self.median,
            "min": min(self.runs),
            "max": max(self.runs),
            "runs": self.runs,
            "baseline": self.baseline,
            "baseline_label": self.baseline_label,
            "ratio": self.ratio,
            "target": None if self.target is None else asdict(self.target),
            "met": self.met,
            "notes": self.notes,
            **self.extra,
        }


def _number(value: float) -> str:
    if value == int(value) and abs(value) >= 10:
        return f"{int(value)}"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _spread(figure: Figure) -> str:
    if len(figure.runs) < 2:
        return ""
    return f" ({_number(min(figure.runs))}–{_number(max(figure.runs))})"


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
    }


def commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def paths(database: str) -> tuple[Path, Path]:
    """Where a run on this database is written: SQLite's results.json and results.md, another
    database's beside them with its name (results-postgresql.md), so both can be shown."""
    if database.lower() == "sqlite":
        return RESULTS_JSON, RESULTS_MD
    name = database.lower()
    return HERE / f"results-{name}.json", HERE / f"results-{name}.md"


def write(figures: list[Figure], settings: dict[str, Any], database: str) -> Path:
    """Write the JSON and the Markdown table; returns the Markdown file."""
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "database": database,
        "settings": settings,
        "figures": {figure.key: figure.as_json() for figure in figures},
    }
    as_json, as_md = paths(database)
    as_json.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    as_md.write_text(markdown(figures, record))
    return as_md


def markdown(figures: list[Figure], record: dict[str, Any]) -> str:
    host = record["machine"]
    lines = [
        f"Measured {record['date'][:10]} at commit `{record['commit'] or 'unknown'}` on "
        f"{host['cores']} cores, Python {host['python']}, {record['database']}; "
        f"{_settings_line(record['settings'])}.",
        "",
        "| Figure | Result (median, range) | Baseline | Ratio | Target | Met? |",
        "|---|---|---|---|---|---|",
    ]
    for figure in figures:
        unit = f" {figure.unit}" if figure.unit else ""
        result = f"{_number(figure.median)}{unit}{_spread(figure)}"
        label = f" ({figure.baseline_label})" if figure.baseline_label else ""
        baseline = "—" if figure.baseline is None else f"{_number(figure.baseline)}{unit}{label}"
        ratio = "—" if figure.ratio is None else f"{figure.ratio:.2f} ×"
        target = "—" if figure.target is None else f"{figure.target}{unit}"
        met = {None: "—", True: "yes", False: "**no**"}[figure.met]
        lines.append(f"| {figure.title} | {result} | {baseline} | {ratio} | {target} | {met} |")
    return "\n".join(lines) + "\n"


def _settings_line(settings: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in settings.items())
