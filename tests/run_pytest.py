"""Run pytest on parallel workers, treating "no tests collected" as the failure it is.

Workers come from pytest-xdist: TEST_WORKERS of them (3: more than the two cores CI has,
because the tests spend much of their time waiting on the fake Bot API, subprocesses and the
database), unless the arguments choose (`-n 0` for one process). `--dist loadgroup` keeps tests
marked with the same `xdist_group` on one worker.
"""

from __future__ import annotations

import os
import sys

import pytest

NO_TESTS_COLLECTED = 5
WORKERS = os.environ.get("TEST_WORKERS", "3")


def _chooses_workers(args: list[str]) -> bool:
    return any(
        arg.startswith(("-n", "--numprocesses", "--dist")) or arg.endswith("no:xdist")
        for arg in args
    )


def main() -> int:
    args = sys.argv[1:]
    if not _chooses_workers(args):
        args = ["-n", WORKERS, "--dist", "loadgroup", *args]
    code = int(pytest.main(args))
    if code == NO_TESTS_COLLECTED:
        print("No tests were collected: that is a failure, not a pass.", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
