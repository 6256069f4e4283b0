"""The sandbox from the command line: `run` without a token starts it, a token means the real
bot, and neither starts on the other's database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.texts import get_texts
from db import migrate
from db.models import SandboxMarker, User
from db.session import Database
from tests.fixtures import said_any

ROOT = Path(__file__).resolve().parent.parent
URL = re.compile(r"http://127\.0\.0\.1:\d+/")
START_TIMEOUT = 60.0


def environment(tmp_path: Path, **env: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TELEGRAM_TOKEN", "DATABASE_URL", "COORDINATOR_IDS", "TIMEZONE"}
        and not k.startswith("SANDBOX_")
    }
    clean["PYTHONPATH"] = str(ROOT)
    clean["SANDBOX_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'sandbox.db'}"
    clean["SANDBOX_PORT"] = "0"
    clean.update(env)
    return clean


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def start(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """Start the command and wait for its line with the web chat's address."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    line = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line or process.poll() is not None:
            break
    if not line:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"no address line; stderr:\n{err}")
    return process, line.strip()


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def test_run_without_token_starts_the_sandbox_and_says_where(tmp_path: Path) -> None:
    process, line = start(["run"], tmp_path, environment(tmp_path))
    try:
        assert said_any("sandbox.cli.no_token").fullmatch(line), line
        url = URL.search(line)
        assert url, line
        with urllib.request.urlopen(url.group(), timeout=10) as answer:
            page = answer.read().decode()
        assert answer.status == 200 and "<html" in page.lower()
    finally:
        status, out, err = stop(process)
    assert status == 0, err
    assert out.strip() == "", out  # one line, nothing else on stdout
    assert (tmp_path / "sandbox.db").exists()
    assert not (tmp_path / "data" / "wijkbot.db").exists()  # the bot's database is not touched


def test_sandbox_listens_on_loopback_only(tmp_path: Path) -> None:
    process, line = start(["sandbox"], tmp_path, environment(tmp_path))
    try:
        assert said_any("sandbox.cli.ready").fullmatch(line), line
        url = URL.search(line)
        assert url, line
        port = int(url.group().rsplit(":", 1)[1].strip("/"))
        outward = _outward_address()
        if outward is not None:
            with socket.socket() as probe:
                probe.settimeout(2)
                assert probe.connect_ex((outward, port)) != 0
    finally:
        status, _, err = stop(process)
    assert status == 0, err


def _outward_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent over UDP connect
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


async def _database_with(path: Path, *, marker: bool, user: bool) -> None:
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate.upgrade(database.engine)
        now = datetime.now(UTC)
        async with database.write() as session:
            if marker:
                session.add(SandboxMarker(created_at=now))
            if user:
                session.add(
                    User(
                        id=4242,
                        display_name="Echte Leerkracht",
                        language="nl",
                        created_at=now,
                        last_seen_at=now,
                    )
                )
    finally:
        await database.dispose()


async def _users(path: Path) -> int:
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.read() as session:
            return int(await session.scalar(select(func.count()).select_from(User)) or 0)
    finally:
        await database.dispose()


def test_sandbox_refuses_a_database_with_real_data(tmp_path: Path) -> None:
    real = tmp_path / "wijkbot.db"
    asyncio.run(_database_with(real, marker=False, user=True))
    env = environment(tmp_path, SANDBOX_DATABASE_URL=f"sqlite+aiosqlite:///{real}")
    result = run(["sandbox"], tmp_path, env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and said_any("sandbox.cli.real_data").fullmatch(lines[0]), lines
    assert result.stdout == ""
    assert asyncio.run(_users(real)) == 1  # nothing added, nothing removed


def test_a_token_means_the_real_bot_which_refuses_a_sandbox_database(tmp_path: Path) -> None:
    sandbox = tmp_path / "demo.db"
    asyncio.run(_database_with(sandbox, marker=True, user=False))
    # The token comes from .env, as people set it; the sandbox's own settings are ignored.
    (tmp_path / ".env").write_text("TELEGRAM_TOKEN=999:SECRET-TOKEN-VALUE\n", encoding="utf-8")
    env = environment(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{sandbox}")
    result = run(["run"], tmp_path, env)
    assert result.returncode == 2
    # The real bot logs its migrations first (at INFO); its last word is why it stops.
    last = result.stderr.strip().splitlines()[-1]
    assert said_any("sandbox.cli.sandbox_database").fullmatch(last), result.stderr
    assert "SECRET-TOKEN-VALUE" not in result.stderr + result.stdout


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["sandbox"], tmp_path, environment(tmp_path, SANDBOX_PORT=str(port)))
    assert result.returncode == 2
    expected = get_texts().plain("nl", "sandbox.cli.port_taken", port=port)
    assert result.stderr.strip().splitlines() == [expected]
