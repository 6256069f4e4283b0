"""`python -m bench [--pairs N] [--repeat K] [--updates U] [--database-url URL] [--only …]`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from . import cpu, latency, locks, report, startup
from .report import Figure, Target
from .world import kind_of

TELEGRAM_PER_SECOND = 30.0
# In the order the table shows them. "queries" and "planning" live in modules of their own,
# each with `async def figures(args) -> list[Figure]`, and are left out where missing.
SECTIONS = ("push", "latency", "cpu", "queries", "planning", "locks", "startup")
OPTIONAL = ("queries", "planning")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--pairs", type=int, default=1000, help="pairs in the Monday city")
    parser.add_argument(
        "--repeat", type=int, default=3, help="repetitions of each figure (the Monday: see below)"
    )
    parser.add_argument(
        "--monday-repeat",
        type=int,
        default=None,
        help="repetitions of each whole Monday (the push rate, the reply latency, the holiday "
        "import; default: --repeat, but once with 1000 pairs or more)",
    )
    parser.add_argument("--updates", type=int, default=200, help="/help updates per CPU run")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL URL; the bench uses a database 'bench' on that server (default SQLite)",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run, of {', '.join(SECTIONS)} (default: all)",
    )
    parser.add_argument(
        "--trace",
        default=None,
        help="a directory: each Monday's and reply-latency bot writes there where its time "
        "went from 08:00 (bench/trace.py; slows the bot, for diagnosis only)",
    )
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    return args


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


def monday_times(args: argparse.Namespace) -> int:
    """A full Monday takes one to three minutes with its set-up: once at 1000 pairs keeps
    `make bench` within ten."""
    if args.monday_repeat is not None:
        return max(1, int(args.monday_repeat))
    return max(1, int(args.repeat) if args.pairs < 1000 else 1)


class Bench:
    """Runs the sections; keeps what one section measures that another reports."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        # The RSS of each Monday's process, reported with start-up (figure 5).
        self.monday_rss: list[float] = []
        self.monday_due = 0
        # The bot's CPU per push on each Monday, reported beside the JobQueue bot's.
        self.monday_push_cpu: list[float] = []

    async def push(self) -> list[Figure]:
        args = self.args
        times = monday_times(args)
        runs: list[dict[str, Any]] = []
        for index in range(times):
            say(f"Monday with {args.pairs} pairs, run {index + 1}/{times} (bot apart)")
            trace = _trace_file(args.trace, f"monday-{index + 1}.json")
            run = await startup.monday_in_child(args.database_url, args.pairs, trace=trace)
            say(
                f"  {run['sent']} sent in {run['first_to_last_s']:.1f} s ({run['rate']:.1f}/s), "
                f"last {run['last_left_s']:.1f} s after 08:00, {run['refused']} × 429, "
                f"{run['late_notes']} late notes; start-up {run['startup_s']:.1f} s, "
                f"RSS {run.get('rss_mb', 0):.0f} MB ({run.get('rss_at_eight_mb', 0):.0f} MB at "
                f"08:00), the bot's CPU "
                f"{_ms_per_push(run):.1f} ms a push"
            )
            if run.get("refused_for"):
                say(f"  the 429s: {'; '.join(run['refused_for'])}")
            runs.append(run)
        self.monday_rss = [float(r.get("rss_mb", 0.0)) for r in runs]
        self.monday_push_cpu = [_ms_per_push(r) for r in runs]
        self.monday_due = int(statistics.median(r["due_rows"] for r in runs))
        sent = statistics.median(r["sent"] for r in runs)
        extra: dict[str, Any] = {
            "pairs": args.pairs,
            "due_rows": [r["due_rows"] for r in runs],
            "due_kinds": runs[0]["due_kinds"],
            "sent": [r["sent"] for r in runs],
            "first_to_last_s": [r["first_to_last_s"] for r in runs],
            "settled": [r["settled"] for r in runs],
            "setup_s": [r["setup_s"] for r in runs],
            "startup_s": [r["startup_s"] for r in runs],
            "bot_cpu_s": [round(r.get("rush_cpu_s", 0.0), 2) for r in runs],
            "rss_at_eight_mb": [round(r.get("rss_at_eight_mb", 0.0), 1) for r in runs],
        }
        return [
            Figure(
                "monday_rate",
                f"Monday push rate ({args.pairs} pairs)",
                "msg/s",
                [r["rate"] for r in runs],
                TELEGRAM_PER_SECOND,
                "Telegram's limit",
                Target(">=", 28.0),
                notes="messages let through by the strict fake server, first send to last",
                extra=extra,
            ),
            Figure(
                "monday_last",
                "Last Monday push leaves",
                "s after 08:00",
                [r["last_left_s"] for r in runs],
                sent / TELEGRAM_PER_SECOND,
                "those messages at 30/s",
                Target("<=", 240.0),
                notes="includes the wait for the dispatcher's first tick after 08:00",
            ),
            _zero("monday_429", "429 answers on Monday", [float(r["refused"]) for r in runs]),
            _zero(
                "monday_late",
                "Monday pushes saying they are late",
                [float(r["late_notes"]) for r in runs],
            ),
        ]

    async def latency(self) -> list[Figure]:
        args = self.args
        times = monday_times(args)
        bots: list[latency.BotLatency] = []
        for index in range(times):
            say(
                f"Reply latency, {args.pairs} pairs: {latency.IDLE_USERS} users idle, then "
                f"{latency.RUSH_USERS} during the Monday rush, run {index + 1}/{times}"
            )
            trace = _trace_file(args.trace, f"rush-{index + 1}.json")
            bot = await latency.bot_latency(args.database_url, args.pairs, trace=trace)
            say(f"  set-up {bot.setup_s:.1f} s, start-up {bot.startup_s:.1f} s")
            for name, run in (("idle", bot.idle), ("rush", bot.rush)):
                say(f"  {name}: {_line(run)}; {run.pushes} pushes meanwhile")
            bots.append(bot)
        say("Reply latency of the bare echo bot under the same load")
        share = latency.ECHO_SHARE
        echo_rush = await latency.echo_latency(
            latency.RUSH_USERS, latency.RUSH_SECONDS * share, latency.RUSH_THINK
        )
        echo_idle = await latency.echo_latency(
            latency.IDLE_USERS, latency.IDLE_SECONDS * share, latency.IDLE_THINK
        )
        say(f"  echo rush: {_line(echo_rush)}; echo idle: {_line(echo_idle)}")
        figures: list[Figure] = []
        for name, users, target, echo in (
            ("rush", latency.RUSH_USERS, 300.0, echo_rush),
            ("idle", latency.IDLE_USERS, 50.0, echo_idle),
        ):
            runs = [getattr(b, name) for b in bots]
            when = "during the Monday rush" if name == "rush" else "idle"
            extra = {
                "users": users,
                "seconds": runs[0].seconds,
                "replies": [len(r.latencies_ms) for r in runs],
                "missing": [r.missing for r in runs],
                "commands": runs[0].commands,
                "p95_by_command_ms": runs[0].p95_by_command(),
                "behind_a_push": [r.behind_push for r in runs],
                "pushes_meanwhile": [r.pushes for r in runs],
                "echo_replies": len(echo.latencies_ms),
                "bot_cpu_s": [round(r.bot_cpu_s, 2) for r in runs],
                "echo_cpu_s": round(echo.bot_cpu_s, 2),
            }
            note = "from the update handed to the fake server to the first reply arriving there"
            figures += [
                Figure(
                    f"reply_{name}_p50",
                    f"Reply p50, {users} users {when}",
                    "ms",
                    [r.p50 for r in runs],
                    echo.p50,
                    "bare PTB echo bot",
                    None,
                    notes=note,
                    extra=extra,
                ),
                Figure(
                    f"reply_{name}_p95",
                    f"Reply p95, {users} users {when}",
                    "ms",
                    [r.p95 for r in runs],
                    echo.p95,
                    "bare PTB echo bot",
                    Target("<=", target),
                    notes=note,
                ),
                Figure(
                    f"reply_{name}_max",
                    f"Slowest reply, {users} users {when}",
                    "ms",
                    [r.worst for r in runs],
                    echo.worst,
                    "bare PTB echo bot",
                    None,
                    notes="commands without any reply are counted in 'missing'",
                ),
            ]
        return figures

    async def cpu(self) -> list[Figure]:
        args = self.args
        bot: list[float] = []
        first: list[float] = []
        echo: list[float] = []
        limited: list[float] = []
        on_aiohttp: list[float] = []
        for index in range(max(1, args.repeat)):
            say(
                f"CPU per update, {args.updates} × /help at {cpu.PER_SECOND:.0f} a second, "
                f"run {index + 1}/{args.repeat}"
            )
            measured = await cpu.bot_ms(args.database_url, args.updates)
            bot.append(measured.known)
            first.append(measured.first)
            echo.append(await cpu.echo_ms(args.updates, rate_limited=False))
            limited.append(await cpu.echo_ms(args.updates, rate_limited=True))
            if index == 0:  # shown beside, not a baseline: once keeps the bench short
                on_aiohttp.append(await cpu.echo_ms(args.updates, rate_limited=False, aiohttp=True))
            say(
                f"  bot {bot[-1]:.2f} ms ({first[-1]:.2f} ms at first contact), "
                f"echo {echo[-1]:.2f} ms, echo+limiter {limited[-1]:.2f} ms"
            )
        bare = statistics.median(echo)
        note = (
            "CPU of the bot's own process per update (the fake server and the driver run in "
            f"another), {cpu.PER_SECOND:.0f} updates a second"
        )
        return [
            Figure(
                "cpu_update",
                "CPU per /help update",
                "ms",
                bot,
                bare,
                "bare PTB echo bot",
                Target("<=", 1.5 * bare),
                notes=f"{note}, from people the bot knows; target 1.5 × the echo bot",
                extra={"updates": args.updates, "echo_runs": echo},
            ),
            Figure(
                "cpu_update_first",
                "CPU per /help update, someone's first",
                "ms",
                first,
                bare,
                "bare PTB echo bot",
                None,
                notes=f"{note}: the bot stores each new person in a write transaction",
                extra={"updates": args.updates},
            ),
            Figure(
                "cpu_update_echo_limited",
                "CPU per update, echo bot with AIORateLimiter",
                "ms",
                limited,
                bare,
                "bare PTB echo bot",
                None,
                notes=note,
                extra={"updates": args.updates},
            ),
            Figure(
                "cpu_update_echo_aiohttp",
                "CPU per update, echo bot on the bot's aiohttp transport",
                "ms",
                on_aiohttp,
                bare,
                "bare PTB echo bot",
                None,
                notes=(
                    f"{note}; one run: what the bot's transport (bot/request.py) saves any bot, "
                    "so that the bot's own work shows beside it"
                ),
                extra={"updates": args.updates},
            ),
        ]

    async def locks(self) -> list[Figure]:
        args = self.args
        counting: list[locks.LockRun] = []
        # Half a minute each (400 messages at Telegram's 30 a second): as often as a Monday.
        times = monday_times(args)
        for index in range(times):
            say(f"{locks.COUNTERS} begeleiders of one pair count at once, run {index + 1}/{times}")
            run = await locks.counting_at_once(args.database_url)
            say(f"  {_locks_line(run)}")
            counting.append(run)
        importing: list[locks.LockRun] = []
        for index in range(times):
            say(
                f"Holiday import for {args.pairs} pairs while {locks.workforce(args.pairs)} people "
                f"work, "
                f"run {index + 1}/{times}"
            )
            run = await locks.import_while_working(args.database_url, args.pairs)
            say(f"  {_locks_line(run)}; the import took {run.import_s or 0:.1f} s")
            importing.append(run)
        return [
            _zero(
                "locks_count_errors",
                f"Errors, {locks.COUNTERS} begeleiders of one pair counting at once",
                [float(r.errors) for r in counting],
                notes="error replies, ERROR log records, unanswered commands, 429 answers",
                extra={"runs": [r.as_extra() for r in counting]},
            ),
            _zero(
                "locks_count_lost",
                "Lost counts, the same",
                [float(r.lost) for r in counting],
                notes="headcounts sent minus headcounts stored",
            ),
            _zero(
                "locks_import_errors",
                f"Errors, holiday import for {args.pairs} pairs while "
                f"{locks.workforce(args.pairs)} work",
                [float(r.errors) for r in importing],
                notes="as above, and a failing import command",
                extra={"runs": [r.as_extra() for r in importing]},
            ),
            _zero(
                "locks_import_lost",
                "Lost writes, the same",
                [float(r.lost) for r in importing],
                notes="people whose last class size or language is not the one stored",
            ),
        ]

    async def startup(self) -> list[Figure]:
        args = self.args
        say(f"Start-up with {startup.PENDING_ROWS} pending rows, {args.repeat} × (own process)")
        bot = await startup.bot_startup(args.database_url, max(1, args.repeat))
        say(f"  {bot.pending} pending rows: first getUpdates after {_seconds(bot.first_poll_s)}")
        due = self.monday_due or 2 * args.pairs
        say(
            f"The JobQueue bot: {startup.PENDING_ROWS} jobs, {due} sent at once, "
            f"{args.repeat} × (own process)"
        )
        queue = await startup.jobqueue(max(1, args.repeat), due)
        queue_first = [float(r["first_poll_s"]) for r in queue]
        queue_rss = [float(r["rss_mb"]) for r in queue]
        say(f"  first getUpdates after {_seconds(queue_first)}, RSS {_mb(queue_rss)}")
        figures = [
            Figure(
                "startup_first_poll",
                f"Start to first getUpdates, {bot.pending} pending rows",
                "s",
                bot.first_poll_s,
                statistics.median(queue_first),
                f"JobQueue bot, {startup.PENDING_ROWS} jobs",
                Target("<=", 1.0),
                notes="a fresh process; from building the application, imports apart",
                extra={
                    "pending_rows": bot.pending,
                    "pairs": bot.pairs,
                    "imports_s": bot.imports_s,
                    "jobqueue_runs": queue_first,
                },
            )
        ]
        if self.monday_push_cpu:
            queue_cpu = [1000 * float(r["send_cpu_s"]) / max(int(r["sent"]), 1) for r in queue]
            figures.append(
                Figure(
                    "cpu_push",
                    f"CPU per Monday push ({args.pairs} pairs)",
                    "ms",
                    self.monday_push_cpu,
                    statistics.median(queue_cpu),
                    "JobQueue bot, per reminder sent",
                    Target("<=", 3.0),
                    notes="the bot's process from 08:00 until the last push, per push; the "
                    "JobQueue bot's from its first due reminder to its last, unpaced",
                    extra={"jobqueue_runs": queue_cpu},
                )
            )
        if self.monday_rss:
            figures.append(
                Figure(
                    "rss_after_monday",
                    f"RSS after the Monday rush ({args.pairs} pairs)",
                    "MB",
                    self.monday_rss,
                    statistics.median(queue_rss),
                    f"JobQueue bot, {due} of its jobs sent",
                    Target("<=", 100.0),
                    notes="the bot's process alone (the fake server runs apart), VmRSS",
                    extra={"jobqueue_runs": queue_rss},
                )
            )
        return figures

    async def optional(self, name: str) -> list[Figure]:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"bench.{name}":
                raise
            say(f"(no bench/{name}.py: its figures are left out)")
            return []
        figures: Callable[[argparse.Namespace], Awaitable[list[Figure]]] = module.figures
        return await figures(self.args)

    async def section(self, name: str) -> list[Figure]:
        if name in OPTIONAL:
            return await self.optional(name)
        run: Callable[[], Awaitable[list[Figure]]] = getattr(self, name)
        return await run()


def _ms_per_push(run: dict[str, Any]) -> float:
    """The bot's CPU milliseconds per push on a Monday (bench/push.py's run)."""
    return 1000 * float(run.get("rush_cpu_s", 0.0)) / max(int(run["sent"]), 1)


def _zero(
    key: str,
    title: str,
    runs: list[float],
    *,
    notes: str = "",
    extra: dict[str, Any] | None = None,
) -> Figure:
    return Figure(
        key, title, "", runs, 0.0, "", Target("<=", 0.0), "", notes=notes, extra=extra or {}
    )


def _trace_file(directory: str | None, name: str) -> str | None:
    if not directory:
        return None
    Path(directory).mkdir(parents=True, exist_ok=True)
    return str(Path(directory).resolve() / name)


def _line(run: latency.LatencyRun) -> str:
    return (
        f"{len(run.latencies_ms)} replies, p50 {run.p50:.0f} ms, p95 {run.p95:.0f} ms, "
        f"max {run.worst:.0f} ms, {run.missing} missing, {run.behind_push} behind a push; "
        f"the bot's process used {run.bot_cpu_s / max(run.seconds, 1e-9):.2f} CPU s/s"
    )


def _locks_line(run: locks.LockRun) -> str:
    return (
        f"{run.errors} errors ({run.error_replies} error replies, {run.log_errors} in the log, "
        f"{run.locked} locked, {run.unanswered} unanswered, {run.refused} × 429), "
        f"{run.lost} lost of {run.writes} writes, {run.seconds:.0f} s"
        + (f"; the 429s: {'; '.join(run.refused_for)}" if run.refused_for else "")
    )


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f} s" for v in values)


def _mb(values: list[float]) -> str:
    return ", ".join(f"{v:.0f} MB" for v in values if not math.isnan(v))


async def main(args: argparse.Namespace) -> None:
    began = time.monotonic()
    bench = Bench(args)
    figures: list[Figure] = []
    # The Monday's process also gives figure 5's memory (left out when "push" is not run).
    for name in SECTIONS:
        if name in args.only:
            figures += await bench.section(name)
    database = kind_of(args.database_url)
    settings = {
        "pairs": args.pairs,
        "updates": args.updates,
        "repeat": args.repeat,
        "monday_repeat": monday_times(args),
    }
    if args.only != list(SECTIONS):
        settings["only"] = ",".join(args.only)
    written = report.write(
        figures, settings, "PostgreSQL" if database == "postgresql" else "SQLite"
    )
    say(f"done in {time.monotonic() - began:.0f} s: {written}")
    print(written.read_text(), end="")


if __name__ == "__main__":
    # The bot's own warnings would drown the progress lines.
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(parse()))
