"""Registers the shared fixtures (they live in `tests/fixtures.py`, imported from there)."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.fixtures"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start tests marked `slow` first, so parallel workers finish at about the same time."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
