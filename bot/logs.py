"""Logging that keeps secrets and what people typed out of the log, at every level."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[token]"

# Libraries that log request URLs (with the token in them), request bodies (with message
# texts), whole updates (with what users typed) or SQL rows (with incident descriptions)
# below these levels. They stay at these levels even when LOG_LEVEL=DEBUG: the bot's own
# debug lines are what DEBUG is for.
QUIET: dict[str, int] = {
    "httpx": logging.WARNING,  # every request URL at INFO; URLs contain the token
    "httpcore": logging.WARNING,  # raw request and response bytes at DEBUG
    "telegram": logging.INFO,  # Bot API parameters, return values and updates at DEBUG
    "apscheduler": logging.INFO,
    "sqlalchemy": logging.WARNING,  # statements at INFO; parameters and rows at DEBUG
    "aiosqlite": logging.INFO,  # every executed call, with its arguments, at DEBUG
    "asyncpg": logging.INFO,
    "aiohttp": logging.INFO,  # the fake Bot API's access log
}


def secret_forms(value: str | None) -> list[str]:
    """Every form in which a secret may show up: as configured and as used (stripped)."""
    if not value:
        return []
    forms = {value, value.strip()}
    return sorted((f for f in forms if f.strip()), key=len, reverse=True)


class RedactingFormatter(logging.Formatter):
    """Formats records, then blanks out secrets wherever they ended up (tracebacks too)."""

    def __init__(self, fmt: str, secrets: Sequence[str]) -> None:
        super().__init__(fmt)
        # Longest first, so a stripped form never leaves the whitespace of a longer one behind.
        self._secrets = sorted({s for s in secrets if s.strip()}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def configure(
    level: str, secrets: Iterable[str], *, handlers: Sequence[logging.Handler] | None = None
) -> list[logging.Handler]:
    """Set the root level, redact `secrets` on every handler and quiet chatty libraries.

    Without `handlers`, logging goes to stderr as before. Returns the handlers it set up.
    """
    root = logging.getLogger()
    if handlers is None:
        if not root.handlers:
            logging.basicConfig(level=level)
        handlers = list(root.handlers)
    else:
        for handler in handlers:
            root.addHandler(handler)
    root.setLevel(level)
    formatter = RedactingFormatter(FORMAT, [s for value in secrets for s in secret_forms(value)])
    for handler in handlers:
        handler.setFormatter(formatter)
    threshold = logging.getLevelName(level)
    for name, floor in QUIET.items():
        logging.getLogger(name).setLevel(max(floor, threshold))
    return list(handlers)
