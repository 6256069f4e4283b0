"""`python -m bench [--pairs N] [--repeat K] [--updates U] [--database-url URL]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from typing import Any

from . import cpu, push, report
from .report import Figure, Target
from .world import kind_of

TELEGRAM_PER_SECOND = 30.0


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
        help="repetitions of the Monday (default: --repeat, but once with 1000 pairs or more)",
    )
    parser.add_argument("--updates", type=int, default=300, help="/help updates per CPU run")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL URL; the bench uses a database 'bench' on that server (default SQLite)",
    )
    return parser.parse_args(argv)


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


async def monday_figures(args: argparse.Namespace) -> list[Figure]:
    times = args.monday_repeat
    if times is None:
        # A full Monday takes three to four minutes with its set-up: one keeps `make bench`
        # within ten.
        times = args.repeat if args.pairs < 1000 else 1
    runs: list[push.MondayRun] = []
    for index in range(max(1, times)):
        say(f"Monday with {args.pairs} pairs, run {index + 1}/{times}")
        run = await push.monday(args.database_url, args.pairs)
        say(
            f"  {run.sent} sent in {run.first_to_last_s:.1f} s ({run.rate:.1f}/s), "
            f"last {run.last_left_s:.1f} s after 08:00, {run.refused} × 429, "
            f"{run.late_notes} late notes"
        )
        runs.append(run)
    sent = statistics.median(r.sent for r in runs)
    extra: dict[str, Any] = {
        "pairs": args.pairs,
        "due_rows": [r.due_rows for r in runs],
        "due_kinds": runs[0].due_kinds,
        "sent": [r.sent for r in runs],
        "first_to_last_s": [r.first_to_last_s for r in runs],
        "settled": [r.settled for r in runs],
        "setup_s": [r.setup_s for r in runs],
        "startup_s": [r.startup_s for r in runs],
    }
    return [
        Figure(
            "monday_rate",
            f"Monday push rate ({args.pairs} pairs)",
            "msg/s",
            [r.rate for r in runs],
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
            [r.last_left_s for r in runs],
            sent / TELEGRAM_PER_SECOND,
            "those messages at 30/s",
            Target("<=", 240.0),
            notes="includes the wait for the dispatcher's first tick after 08:00",
        ),
        Figure(
            "monday_429",
            "429 answers on Monday",
            "",
            [float(r.refused) for r in runs],
            0.0,
            "",
            Target("<=", 0.0),
            ratio_kind="",
        ),
        Figure(
            "monday_late",
            "Monday pushes saying they are late",
            "",
            [float(r.late_notes) for r in runs],
            0.0,
            "",
            Target("<=", 0.0),
            ratio_kind="",
        ),
    ]


async def cpu_figures(args: argparse.Namespace) -> list[Figure]:
    bot: list[float] = []
    echo: list[float] = []
    limited: list[float] = []
    for index in range(max(1, args.repeat)):
        say(f"CPU per update, {args.updates} × /help, run {index + 1}/{args.repeat}")
        bot.append(await cpu.bot_ms(args.database_url, args.updates))
        echo.append(await cpu.echo_ms(args.updates, rate_limited=False))
        limited.append(await cpu.echo_ms(args.updates, rate_limited=True))
        say(f"  bot {bot[-1]:.2f} ms, echo {echo[-1]:.2f} ms, echo+limiter {limited[-1]:.2f} ms")
    bare = statistics.median(echo)
    note = "CPU of the whole process (bot, fake server and driver) per update"
    return [
        Figure(
            "cpu_update",
            "CPU per /help update",
            "ms",
            bot,
            bare,
            "bare PTB echo bot",
            Target("<=", 1.5 * bare),
            notes=f"{note}; target 1.5 × the echo bot",
            extra={"updates": args.updates, "echo_runs": echo},
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
    ]


async def main(args: argparse.Namespace) -> None:
    began = time.monotonic()
    figures = [*await monday_figures(args), *await cpu_figures(args)]
    database = kind_of(args.database_url)
    settings = {"pairs": args.pairs, "updates": args.updates, "repeat": args.repeat}
    report.write(figures, settings, "PostgreSQL" if database == "postgresql" else "SQLite")
    say(f"done in {time.monotonic() - began:.0f} s: {report.RESULTS_MD}")
    print(report.RESULTS_MD.read_text(), end="")


if __name__ == "__main__":
    # The bot's own warnings would drown the progress lines.
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(parse()))
