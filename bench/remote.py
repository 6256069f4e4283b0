"""A bot in a process of its own, beside the fake server and the simulated people.

The bench process runs the fake Telegram server, the simulated people and whatever watches
them; the bot being measured (or a baseline bot) runs in `python -m bench.child MODE …` and
talks to that server over HTTP, as it would to Telegram. Its process then holds the bot alone:
its CPU and its memory are the bot's, not the fake server's (which keeps every message).

The two processes speak over the child's stdin and stdout, one line at a time:

- the child says `READY {json}` once it is up, `DONE <update id>` each time the bot has
  handled an update (all its replies sent), and `REPLY {json}` to each command;
- the parent sends commands, one word a line (`jobs`, `rush`, `memory`, `stop`; each mode
  says which it knows). `stop` ends the child; end of input stops it too.

Only the standard library is imported here: the child side (`Control`) runs in processes
whose start-up is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
READY = "READY "
REPLY = "REPLY "
DONE = "DONE "
# Long enough for a thousand pairs' start-up re-plan and evening before on a busy machine.
READY_TIMEOUT = 900.0
ANSWER_TIMEOUT = 120.0
# Update ids remembered as handled: enough for any wait that is still coming.
KEEP_DONE = 20_000


class ChildFailed(RuntimeError):
    pass


class Child:
    """The parent's side: a running `python -m bench.child MODE …`."""

    def __init__(
        self, args: tuple[str, ...], process: asyncio.subprocess.Process, log: IO[bytes]
    ) -> None:
        self.args = args
        self.process = process
        self.ready: dict[str, Any] = {}
        self._log = log
        self._replies: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._done: set[int] = set()
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, *args: str) -> Child:
        """Start the child and wait until it says it is ready."""
        # The child's stderr, read only to say why it failed; closed by `kill`.
        log = tempfile.TemporaryFile()  # noqa: SIM115
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.child",
            *args,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
        child = cls(args, process, log)
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                child.ready = await asyncio.shield(child._ready)
        except BaseException:
            await child.kill()
            raise
        return child

    async def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            while line := (await self.process.stdout.readline()).decode():
                if line.startswith(DONE):
                    self._handled(int(line.removeprefix(DONE)))
                elif line.startswith(REPLY):
                    await self._replies.put(json.loads(line.removeprefix(REPLY)))
                elif line.startswith(READY) and not self._ready.done():
                    self._ready.set_result(json.loads(line.removeprefix(READY)))
        finally:
            await self._replies.put(None)
            if not self._ready.done():
                self._ready.set_exception(self._failure("ended before it was ready"))
            for waiter in self._waiting.values():
                if not waiter.done():
                    waiter.set_exception(self._failure("ended"))

    def _handled(self, update_id: int) -> None:
        self._done.add(update_id)
        if len(self._done) > KEEP_DONE:
            self._done = {i for i in self._done if i > update_id - KEEP_DONE // 2}
        waiter = self._waiting.pop(update_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _failure(self, what: str) -> ChildFailed:
        self._log.seek(0)
        tail = self._log.read().decode(errors="replace")[-3000:]
        return ChildFailed(f"bench.child {' '.join(self.args)} {what}:\n{tail}")

    async def processed(self, update_id: int) -> None:
        """Wait until the bot has handled this update (callers bound the wait)."""
        if update_id in self._done:
            return
        waiter = self._waiting.get(update_id)
        if waiter is None:
            waiter = self._waiting[update_id] = asyncio.get_running_loop().create_future()
        await asyncio.shield(waiter)

    async def ask(self, command: str) -> dict[str, Any]:
        """Send a command; its answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        async with asyncio.timeout(ANSWER_TIMEOUT):
            answer = await self._replies.get()
        if answer is None:
            raise self._failure(f"ended instead of answering {command!r}")
        return answer

    async def stop(self) -> dict[str, Any]:
        """`stop`: the child stops its bot and ends; its answer."""
        try:
            answer = await self.ask("stop")
            async with asyncio.timeout(ANSWER_TIMEOUT):
                await self.process.wait()
            return answer
        finally:
            await self.kill()

    async def kill(self) -> None:
        """End the child if it still runs (after a failure)."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self._log.close()


@contextlib.asynccontextmanager
async def running(*args: str) -> AsyncIterator[Child]:
    """A child for the length of the block; stopped (or killed, after a failure) at the end."""
    child = await Child.start(*args)
    try:
        yield child
    except BaseException:
        await child.kill()
        raise
    if child.process.returncode is None:
        await child.stop()
    else:
        await child.kill()


class Control:
    """The child's side: commands from stdin, answers and signals to stdout."""

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None

    async def _commands(self) -> asyncio.StreamReader:
        if self._reader is None:
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
            self._reader = reader
        return self._reader

    async def next_command(self) -> str:
        """The next command; `stop` at the end of input (the parent is gone)."""
        reader = await self._commands()
        line = (await reader.readline()).decode().strip()
        return line or "stop"

    @staticmethod
    def _say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def ready(self, data: dict[str, Any]) -> None:
        self._say(READY + json.dumps(data))

    def reply(self, data: dict[str, Any]) -> None:
        self._say(REPLY + json.dumps(data))

    def done(self, update_id: int) -> None:
        self._say(f"{DONE}{update_id}")
