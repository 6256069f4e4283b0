"""Starting the sandbox from the command line: `make run` without a token, or `python -m bot
sandbox`. One line says where the web chat is; Ctrl-C stops it."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import sys

from bot.config import Settings
from bot.sandbox.runtime import Sandbox, SandboxRefused
from bot.sandbox.web import start_web
from bot.texts import get_texts

log = logging.getLogger(__name__)


def run(settings: Settings, *, without_token: bool = False) -> int:
    """Run the sandbox until Ctrl-C; returns the exit status."""
    return asyncio.run(serve(settings, without_token=without_token))


async def serve(
    settings: Settings, *, without_token: bool = False, stop: asyncio.Event | None = None
) -> int:
    """Start the sandbox and its web chat, say where it is, and run until `stop` is set (or
    SIGINT/SIGTERM arrive)."""
    texts = get_texts()
    lang = settings.default_language
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    sandbox = Sandbox(settings)
    try:
        await sandbox.start()
    except SandboxRefused as refused:
        print(texts.plain(lang, refused.key, **refused.params), file=sys.stderr)
        return 2
    try:
        try:
            web = await start_web(sandbox, settings.sandbox_port)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            print(
                texts.plain(lang, "sandbox.cli.port_taken", port=settings.sandbox_port),
                file=sys.stderr,
            )
            return 2
        key = "sandbox.cli.no_token" if without_token else "sandbox.cli.ready"
        print(texts.plain(lang, key, url=web.url), flush=True)
        try:
            await stop.wait()
        finally:
            await web.stop()
    finally:
        await sandbox.stop()
    print(texts.plain(lang, "cli.stopped"), file=sys.stderr)
    return 0
