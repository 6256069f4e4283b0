"""The command line: settings errors, migrations and the CSV import."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Exchange, ExchangeSide
from db.session import Database

ROOT = Path(__file__).resolve().parent.parent
HEADER = (
    "programme;city;start_date;school_a;address_a;class_a;size_a;school_b;address_b;class_b;size_b"
)


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TELEGRAM_TOKEN", "DATABASE_URL", "COORDINATOR_IDS", "TIMEZONE"}
    }
    clean["PYTHONPATH"] = str(ROOT)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TIMEZONE", "Mars/Olympus"),
        ("COORDINATOR_IDS", "12,abc"),
        ("DATABASE_URL", "mysql://x"),
        ("DEFAULT_LANGUAGE", "fr"),
    ],
)
def test_invalid_setting_names_the_setting(tmp_path: Path, name: str, value: str) -> None:
    result = run(["migrate"], tmp_path, TELEGRAM_TOKEN="999:SECRET-TOKEN-VALUE", **{name: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], result.stderr
    assert "SECRET-TOKEN-VALUE" not in result.stderr + result.stdout


def write_csv(path: Path, *lines: str) -> Path:
    path.write_text("\n".join((HEADER, *lines)) + "\n", encoding="utf-8")
    return path


# The import checks dates against the real today, so the file's dates move with it.
_MONDAY = date.today() + timedelta(days=28 - date.today().weekday())
GOOD_1 = (
    f"standaard;Rotterdam;{_MONDAY:%d-%m-%Y};De Klimop;Klimopstraat 3;groep 8;25;Het Anker;;7/8;23"
)
GOOD_2 = f"online;Leiden;{_MONDAY + timedelta(days=7):%Y-%m-%d};De Vlinder;;8;20;De Zon;;groep 7;21"
BAD = f"standaard;Rotterdam;31-02-{_MONDAY.year};De Klimop;;groep 8;vijf;De Klimop;;8;300"


async def exchanges_in(url: str) -> list[tuple[str, str, list[int]]]:
    database = Database(url)
    try:
        async with database.read() as session:
            rows = (await session.scalars(select(Exchange).order_by(Exchange.id))).all()
            out = []
            for exchange in rows:
                sides = (
                    await session.scalars(
                        select(ExchangeSide.class_size)
                        .where(ExchangeSide.exchange_id == exchange.id)
                        .order_by(ExchangeSide.side)
                    )
                ).all()
                out.append((exchange.programme_key, exchange.city, list(sides)))
            return out
    finally:
        await database.dispose()


async def test_import_reports_every_bad_line_and_imports_nothing(
    tmp_path: Path, database: Database, database_url: str
) -> None:
    unknown = f"onbekend;Delft;{_MONDAY:%d-%m-%Y};A school;;8;20;B school;;8;20"
    csv = write_csv(tmp_path / "season.csv", GOOD_1, BAD, unknown)
    result = run(["import", str(csv)], tmp_path, DATABASE_URL=database_url)
    assert result.returncode == 1
    err = result.stderr
    assert "regel 3, kolom start_date: Die datum bestaat niet" in err
    assert "regel 3, kolom size_a" in err and "regel 3, kolom size_b" in err
    assert "regel 4, kolom programme: onbekend programma" in err
    assert "er is niets geïmporteerd" in err
    assert await exchanges_in(database_url) == []


async def test_import_skip_invalid_imports_the_good_lines(
    tmp_path: Path, database: Database, database_url: str
) -> None:
    csv = write_csv(tmp_path / "season.csv", GOOD_1, BAD, GOOD_2)
    result = run(["import", str(csv), "--skip-invalid"], tmp_path, DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert "Geïmporteerd: 2 uitwisselingen. Overgeslagen: 1 regel." in result.stdout
    assert await exchanges_in(database_url) == [
        ("standaard", "Rotterdam", [25, 23]),
        ("online", "Leiden", [20, 21]),
    ]


def test_import_checks_the_header(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("programme,city\nstandaard,Delft\n", encoding="utf-8")
    result = run(
        ["import", str(csv)], tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db"
    )
    assert result.returncode == 1
    assert "ontbreken" in result.stderr and "school_a" in result.stderr


async def test_rejected_token_is_one_clear_line(tmp_path: Path) -> None:
    from fake_telegram import FakeTelegram

    async with FakeTelegram() as tg:
        result = await asyncio.to_thread(
            run,
            ["run"],
            tmp_path,
            TELEGRAM_TOKEN="999:WRONG-TOKEN-VALUE",
            TELEGRAM_API_URL=tg.base_url.removesuffix("/bot"),
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        )
    assert result.returncode == 2
    assert "TELEGRAM_TOKEN" in result.stderr.strip().splitlines()[-1]
    assert "WRONG-TOKEN-VALUE" not in result.stderr + result.stdout
