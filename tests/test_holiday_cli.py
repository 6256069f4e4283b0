"""The command line's holiday import: `python -m bot holidays import FILE [--region R]`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ICS = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//wijkbot tests//NL\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:voorjaar-2027-zuid\r\n"
    "DTSTAMP:20260901T000000Z\r\n"
    "SUMMARY:Voorjaarsvakantie\r\n"
    "DTSTART;VALUE=DATE:20270213\r\n"
    "DTEND;VALUE=DATE:20270222\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def run_holidays(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TELEGRAM_TOKEN", "DATABASE_URL", "COORDINATOR_IDS", "DEFAULT_LANGUAGE"}
    }
    env["PYTHONPATH"] = str(ROOT)
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    return subprocess.run(
        [sys.executable, "-m", "bot", "holidays", "import", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_holiday_import_errors_and_summary_are_in_dutch(tmp_path: Path) -> None:
    csv_file = tmp_path / "vakanties.csv"
    csv_file.write_text(
        "regio;naam;begin;eind\n"
        "noord;Voorjaarsvakantie;20-02-2027;28-02-2027\n"
        "zuid;Meivakantie;31-04-2027;09-05-2027\n",
        encoding="utf-8",
    )
    result = run_holidays(tmp_path, str(csv_file))
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == (
        f"Fout in {csv_file}: regel 3: kolom start: de datum '31-04-2027' bestaat niet"
    )
    assert "holiday_file." not in result.stderr

    ics_file = tmp_path / "zuid.ics"
    ics_file.write_text(ICS, encoding="utf-8")
    result = run_holidays(tmp_path, str(ics_file), "--region", "zuid")
    assert result.returncode == 0, result.stderr
    assert "Toegevoegd: 1 vakantieperiode; bijgewerkt: 0." in result.stdout

    result = run_holidays(tmp_path, str(ics_file))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Geef bij een .ics-bestand de regio op: --region noord, midden of zuid."
    )
