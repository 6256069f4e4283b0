"""Glue for running python-telegram-bot's ``Bot`` and ``Application`` against the fake."""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Bot
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from .server import FakeTelegram


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def fake_request(*, connection_pool_size: int = 256, **kwargs: Any) -> HTTPXRequest:
    """An ``HTTPXRequest`` suited to the fake server.

    Every new httpx client builds its own SSL context, which costs about 50 ms, although the
    fake speaks plain HTTP; sharing one context makes a test's Bot almost free to create.
    Proxy environment variables are ignored so the local server is always reached directly.
    """
    return HTTPXRequest(
        connection_pool_size=connection_pool_size,
        httpx_kwargs={"verify": _shared_ssl_context(), "trust_env": False},
        **kwargs,
    )


def make_bot(tg: FakeTelegram) -> Bot:
    """A ``telegram.Bot`` connected to ``tg`` (call ``initialize()`` or use ``async with``)."""
    return Bot(
        tg.token,
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        request=fake_request(),
        get_updates_request=fake_request(connection_pool_size=1),
    )


def application_builder(
    tg: FakeTelegram, *, fast_requests: bool = True
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """An ``ApplicationBuilder`` with token, ``base_url`` and ``base_file_url`` of ``tg``.

    With ``fast_requests`` (the default) the builder also gets :func:`fake_request` instances,
    with the same pool sizes PTB would use. PTB then refuses request settings such as
    ``.connect_timeout()`` on the builder; pass ``fast_requests=False`` if you need those.
    """
    builder = (
        ApplicationBuilder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url)
    )
    if fast_requests:
        builder = builder.request(fake_request()).get_updates_request(
            fake_request(connection_pool_size=1)
        )
    return builder


@asynccontextmanager
async def polling(
    app: Application[Any, Any, Any, Any, Any, Any], *, poll_timeout: int = 1
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Run ``app`` with long polling for the duration of the ``async with`` block.

    Mirrors what ``run_polling`` does minus the signal handling and the ``post_*`` hooks, and
    stops the updater, the application and its bot in the right order on exit. A short
    ``poll_timeout`` keeps shutdown fast; the fake answers as soon as an update is pushed, so
    it does not slow delivery down.
    """
    if app.updater is None:
        raise ValueError("the application has no updater; build it without .updater(None)")
    await app.initialize()
    try:
        await app.start()
        try:
            await app.updater.start_polling(poll_interval=0, timeout=poll_timeout)
            try:
                yield app
            finally:
                if app.updater.running:
                    await app.updater.stop()
        finally:
            if app.running:
                await app.stop()
    finally:
        await app.shutdown()
