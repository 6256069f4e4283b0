"""The bot's HTTP client for the Bot API: python-telegram-bot's request interface on aiohttp.

python-telegram-bot talks to Telegram through a `BaseRequest`; its own uses httpx. On these
machines httpx (with httpcore, h11 and anyio beneath it, all in Python) spent more CPU on each
call than the rest of a push: aiohttp parses HTTP in C. What the bot sends and how it reads
the answers are python-telegram-bot's as before; only the transport differs.

Parameters go as a JSON body, which Telegram accepts for every call without a file, encoded in
one C call; a form would encode each value as JSON and then the whole again for a URL, in
Python. Calls with files go as multipart forms.

Timeouts as python-telegram-bot means them: `connect` to open a connection, `read` for the
answer, `pool` for a free connection. aiohttp has no timeout for writing a request apart from
reading its answer, so `write` bounds the whole call when it is longer than `read` (a file
being sent).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


def _or(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """`BaseRequest` on an aiohttp session, opened by `initialize` and closed by `shutdown`."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        media_write_timeout: float | None = 20.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._media_write_timeout = media_write_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = _or(read_timeout, self._read_timeout)
        write = _or(write_timeout, self._media_write_timeout if files else self._write_timeout)
        connect = _or(connect_timeout, self._connect_timeout)
        pool = _or(pool_timeout, self._pool_timeout)
        whole = None if write is None or read is None or write <= read else write
        timeout = aiohttp.ClientTimeout(
            total=whole,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        data: Any = None
        headers: dict[str, str] | None = None
        if request_data is not None and files:
            data = _form(request_data.json_parameters, files)
        elif request_data is not None:
            data = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            headers = _JSON
        try:
            async with session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


_JSON = {"Content-Type": "application/json"}


def _form(fields: dict[str, str], files: dict[str, Any]) -> aiohttp.FormData:
    """A multipart form: the parameters, then the files (name, content, MIME type)."""
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
