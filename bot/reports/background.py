"""Documents made beside the bot: the workbook, the CSV files and the season's charts.

Making the file of a thousand pairs takes seconds of CPU (openpyxl, matplotlib, zlib). On the
bot's event loop, or in a thread holding the GIL, every other user's reply would wait for it.
So the loop only reads the rows (a short read) and answers at once; the file is made in a
worker process and sent when it is ready.

`Documents` keeps the worker pool, created when the first document is asked for (the bot of
a day without reports never starts it, nor loads openpyxl and matplotlib), and the documents
under way: one of each kind per chat at a time. `close` lets the ones under way finish for a
moment when the bot stops, then cancels the rest and shuts the pool down.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
from collections.abc import Callable, Coroutine, Hashable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)

# One worker: the machine's other core stays the bot's. Documents asked for at the same time
# wait for each other, not the users of the bot.
WORKERS = 1
# A worker is replaced after this many documents, so what a large one left behind in its
# memory is given back.
TASKS_PER_WORKER = 20
# How long a stopping bot lets documents under way finish and be sent.
STOP_GRACE_SECONDS = 10.0
# Started once and forked for each worker: the workers start with the file writers loaded.
# Not plain fork: the bot has threads (the database driver's), whose locks a fork would copy.
START_METHOD = "forkserver"
PRELOAD = ["bot.reports.worker", "bot.reports.workbook", "bot.reports.csvzip", "bot.reports.charts"]

P = ParamSpec("P")
T = TypeVar("T")


class Documents:
    def __init__(self, workers: int = WORKERS, stop_grace: float = STOP_GRACE_SECONDS) -> None:
        self._workers = workers
        self._stop_grace = stop_grace
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._jobs: dict[Hashable, asyncio.Task[None]] = {}

    def busy(self, key: Hashable) -> bool:
        """Whether a document with this key (a chat and a kind) is under way."""
        return key in self._jobs

    def start(self, key: Hashable, job: Coroutine[Any, Any, None]) -> None:
        """Run `job` in the background until it is done, as the document under `key`. The job
        answers its own failures; what escapes it is logged."""
        if key in self._jobs:
            job.close()
            raise RuntimeError(f"a document is under way for {key!r}")
        task = asyncio.create_task(job, name=f"document-{key}")
        self._jobs[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))

    def _finished(self, key: Hashable, task: asyncio.Task[None]) -> None:
        if self._jobs.get(key) is task:
            del self._jobs[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("Document %r failed", key, exc_info=task.exception())

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`function(*args, **kwargs)` in the worker process; what goes there and back is
        pickled (so `function` is a module's own function)."""
        pool = self._pool_for_now()
        try:
            # Handing the work over may start a worker, which waits for the fork server (the
            # first time, while it loads the file writers): not on the event loop.
            future = await asyncio.to_thread(lambda: pool.submit(function, *args, **kwargs))
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): the next document gets a new pool.
            if self._pool is pool:
                self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def _pool_for_now(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context(START_METHOD)
            context.set_forkserver_preload(PRELOAD)
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=context,
                max_tasks_per_child=TASKS_PER_WORKER,
            )
        return self._pool

    async def settled(self) -> None:
        """Wait until no document is under way (those started meanwhile too)."""
        while self._jobs:
            await asyncio.wait(list(self._jobs.values()))

    async def close(self) -> None:
        """Let documents under way finish for a moment (`stop_grace` seconds), cancel the rest
        (each job tells its user), and shut the pool down."""
        if self._jobs:
            _, late = await asyncio.wait(list(self._jobs.values()), timeout=self._stop_grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
        if self._pool is not None:
            # A document still being made in the worker is dropped; the worker ends after it.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
