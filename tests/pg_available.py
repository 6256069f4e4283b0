"""Exit 0 when the PostgreSQL server of the given URL accepts a connection."""

from __future__ import annotations

import asyncio
import sys


async def _check(url: str) -> bool:
    try:
        import asyncpg
    except ImportError:
        return False
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        connection = await asyncio.wait_for(asyncpg.connect(dsn), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(_check(sys.argv[1])) else 1)
