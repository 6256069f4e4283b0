"""Where a reply's time goes, in the bot's own process (`python -m bench.child bot --trace F`).

A diagnosis, not a figure: `python -m bench --only latency --trace DIR` has each bot process
write what it saw during the rush to DIR. For each update the bot handled: its whole time,
and within it the time spent waiting for its chat's turn and a free slot (bot/concurrency.py),
for the SQLite write turn (db/session.py), in the pacer (bot/ratelimit.py), in Telegram calls
(the HTTP round trip), and in database statements. Beside those, over the same window: the
garbage collector's pauses, the event loop's lateness (a task that sleeps 5 ms and notes how
late it wakes: something held the loop), who held the write turn and for how long, the
process's CPU seconds, and a cProfile of the main thread's CPU time (what holds the loop).

Everything here is wrapped around the bot from outside its code, in the bench's child only.
"""

from __future__ import annotations

import asyncio
import contextvars
import cProfile
import gc
import io
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

LAG_EVERY = 0.005


@dataclass
class UpdateTrace:
    update_id: int
    began: float
    ended: float = 0.0
    queued: float = 0.0  # waiting for the chat's turn and a slot
    write_wait: float = 0.0
    write_held: float = 0.0
    pacer: float = 0.0
    http: float = 0.0
    db: float = 0.0
    sends: int = 0


_CURRENT: contextvars.ContextVar[UpdateTrace | None] = contextvars.ContextVar(
    "bench_update_trace", default=None
)


@dataclass
class Tracer:
    updates: list[UpdateTrace] = field(default_factory=list)
    gc_pauses: list[tuple[float, float, int]] = field(default_factory=list)  # start, s, gen
    lags: list[tuple[float, float]] = field(default_factory=list)  # when, how late
    write_holds: dict[str, list[float]] = field(default_factory=dict)  # by kind of task
    on: bool = False
    profile: cProfile.Profile | None = None
    _gc_started: float = 0.0
    _window: tuple[float, float] = (0.0, 0.0)  # monotonic, CPU of the process at the start
    _spent: tuple[float, float] = (0.0, 0.0)  # seconds, CPU seconds over the window
    _lag_task: asyncio.Task[None] | None = None
    _spy: subprocess.Popen[bytes] | None = None

    # ----- installing

    def install(self, app: Any, database: Any) -> None:
        from bot.concurrency import PerChatUpdateProcessor
        from bot.ratelimit import Pacer

        gc.callbacks.append(self._gc)
        processor = app.update_processor
        assert isinstance(processor, PerChatUpdateProcessor)
        self._wrap_processor(processor)
        if database._write_turn is not None:
            database._write_turn = _TimedLock(self)
        self._wrap_pacer(Pacer)
        self._wrap_http()
        self._wrap_sessions()

    def _wrap_processor(self, processor: Any) -> None:
        original = processor.do_process_update
        tracer = self

        async def do_process_update(update: object, coroutine: Awaitable[Any]) -> None:
            from telegram import Update

            if not tracer.on or not isinstance(update, Update):
                await original(update, coroutine)
                return
            trace = UpdateTrace(update.update_id, time.monotonic())
            _CURRENT.set(trace)

            async def timed() -> Any:
                trace.queued = time.monotonic() - trace.began
                return await coroutine

            try:
                await original(update, timed())
            finally:
                trace.ended = time.monotonic()
                tracer.updates.append(trace)

        processor.do_process_update = do_process_update

    def _wrap_pacer(self, pacer_class: Any) -> None:
        original = pacer_class.acquire

        async def acquire(pacer: Any, chat_id: int, *, bulk: bool = True) -> None:
            trace = _CURRENT.get()
            began = time.monotonic()
            try:
                await original(pacer, chat_id, bulk=bulk)
            finally:
                if trace is not None:
                    trace.pacer += time.monotonic() - began
                    trace.sends += 1

        pacer_class.acquire = acquire

    def _wrap_http(self) -> None:
        from telegram.request import HTTPXRequest

        original = HTTPXRequest.do_request

        async def do_request(request: Any, *args: Any, **kwargs: Any) -> Any:
            trace = _CURRENT.get()
            began = time.monotonic()
            try:
                return await original(request, *args, **kwargs)
            finally:
                if trace is not None:
                    trace.http += time.monotonic() - began

        HTTPXRequest.do_request = do_request  # type: ignore[method-assign,assignment]

    def _wrap_sessions(self) -> None:
        from sqlalchemy.ext.asyncio import AsyncSession

        for name in ("execute", "scalar", "scalars", "get", "commit", "flush"):
            original = getattr(AsyncSession, name)
            setattr(AsyncSession, name, _timed_db(original))

    # ----- watching

    def start(self, spy_to: str | None = None) -> None:
        """Start watching; with `spy_to` and BENCH_PYSPY=1 in the environment, py-spy (if
        installed beside this Python) samples the process's stacks too, into that file
        (collapsed stacks, idle ones included; it slows the bot down)."""
        self.on = True
        spy = Path(sys.executable).with_name("py-spy")
        if spy_to is not None and spy.exists() and os.environ.get("BENCH_PYSPY"):
            self._spy = subprocess.Popen(
                [
                    *(str(spy), "record", "-p", str(os.getpid()), "-r", "200"),
                    *("-f", "raw", "--idle", "-o", spy_to),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        self._window = (time.monotonic(), time.process_time())
        # The main thread's CPU time: what holds the event loop (the database's threads and
        # time spent off the CPU are not counted).
        self.profile = cProfile.Profile(time.thread_time)
        self.profile.enable()
        self._lag_task = asyncio.get_running_loop().create_task(self._watch_lag())

    def stop(self) -> None:
        self.on = False
        if self._spy is not None:
            self._spy.send_signal(signal.SIGINT)
            self._spy.wait(timeout=60)
        self._spent = (
            time.monotonic() - self._window[0],
            time.process_time() - self._window[1],
        )
        if self.profile is not None:
            self.profile.disable()
        if self._lag_task is not None:
            self._lag_task.cancel()

    async def _watch_lag(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_EVERY)
            late = time.monotonic() - before - LAG_EVERY
            if late > 0.01:
                self.lags.append((before, late))

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.monotonic()
        elif self.on:
            self.gc_pauses.append(
                (self._gc_started, time.monotonic() - self._gc_started, int(info["generation"]))
            )

    def held(self, seconds: float, waited: float) -> None:
        task = asyncio.current_task()
        name = task.get_name() if task is not None else "?"
        kind = "outbox row" if name.startswith("outbox-row") else "other"
        trace = _CURRENT.get()
        if trace is not None:
            kind = "update"
            trace.write_wait += waited
            trace.write_held += seconds
        if self.on:
            self.write_holds.setdefault(kind, []).append(seconds)

    # ----- the report

    def report(self) -> dict[str, Any]:
        done = sorted(self.updates, key=lambda t: t.ended - t.began)
        slow = done[int(len(done) * 0.95) :] if done else []

        def parts(traces: list[UpdateTrace]) -> dict[str, float]:
            if not traces:
                return {}
            total = [t.ended - t.began for t in traces]
            found: dict[str, float] = {"updates": len(traces), "total_ms": _ms_mean(total)}
            for key in ("queued", "write_wait", "write_held", "pacer", "http", "db"):
                found[f"{key}_ms"] = _ms_mean([getattr(t, key) for t in traces])
            found["gc_ms"] = _ms_mean([self._overlap_gc(t) for t in traces])
            found["loop_late_ms"] = _ms_mean([self._overlap_lag(t) for t in traces])
            return found

        holds = {
            kind: {
                "count": len(values),
                "mean_ms": _ms_mean(values),
                "max_ms": round(max(values) * 1000, 1),
                "total_s": round(sum(values), 2),
            }
            for kind, values in self.write_holds.items()
        }
        pauses = [p[1] for p in self.gc_pauses]
        return {
            "window_s": round(self._spent[0], 2),
            "cpu_s": round(self._spent[1], 2),
            "all": parts(done),
            "slowest_5pct": parts(slow),
            "gc": {
                "pauses": len(pauses),
                "total_ms": round(sum(pauses) * 1000, 1),
                "max_ms": round(max(pauses, default=0.0) * 1000, 1),
                "by_generation": {
                    str(g): sum(1 for p in self.gc_pauses if p[2] == g) for g in (0, 1, 2)
                },
            },
            "loop_late": {
                "times_over_10ms": len(self.lags),
                "total_ms": round(sum(lag for _, lag in self.lags) * 1000, 1),
                "max_ms": round(max((lag for _, lag in self.lags), default=0.0) * 1000, 1),
            },
            "write_turn_holds": holds,
        }

    def _overlap_gc(self, trace: UpdateTrace) -> float:
        return sum(
            _overlap(start, start + seconds, trace.began, trace.ended)
            for start, seconds, _ in self.gc_pauses
        )

    def _overlap_lag(self, trace: UpdateTrace) -> float:
        return sum(
            _overlap(when + LAG_EVERY, when + LAG_EVERY + late, trace.began, trace.ended)
            for when, late in self.lags
        )

    def write(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(self.report(), out, indent=2)
        if self.profile is not None:
            text = io.StringIO()
            stats = pstats.Stats(self.profile, stream=text)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
            with open(path + ".profile.txt", "w", encoding="utf-8") as out:
                out.write(text.getvalue())
            stats.dump_stats(path + ".prof")


class _TimedLock(asyncio.Lock):
    """The write turn, telling the tracer how long it was waited for and held."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self._tracer = tracer
        self._since = 0.0
        self._waited = 0.0

    async def acquire(self) -> Literal[True]:
        began = time.monotonic()
        await super().acquire()
        self._since = time.monotonic()
        self._waited = self._since - began
        return True

    def release(self) -> None:
        self._tracer.held(time.monotonic() - self._since, self._waited)
        super().release()


def _timed_db(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def timed(*args: Any, **kwargs: Any) -> Any:
        trace = _CURRENT.get()
        began = time.monotonic()
        try:
            return await original(*args, **kwargs)
        finally:
            if trace is not None:
                trace.db += time.monotonic() - began

    return timed


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _ms_mean(values: list[float]) -> float:
    return round(statistics.fmean(values) * 1000, 1) if values else 0.0
