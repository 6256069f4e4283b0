"""The presentation package runs no queries: it cannot even name a database session."""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "bot" / "ui"
FORBIDDEN = ("sqlalchemy", "db.session")


def imported_modules(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_nothing_in_bot_ui_imports_the_database_layer() -> None:
    offenders = {
        f"{path.name}: {module}"
        for path in sorted(UI.glob("*.py"))
        for module in imported_modules(ast.parse(path.read_text(encoding="utf-8")))
        if any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)
    }
    assert offenders == set()


def test_views_are_plain_functions() -> None:
    """No coroutine in bot/ui: a view that would await a query has nowhere to go."""
    coroutines = {
        f"{path.name}: {node.name}"
        for path in sorted(UI.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.AsyncFunctionDef)
    }
    assert coroutines == set()


def test_the_check_sees_an_offender() -> None:
    tree = ast.parse(
        "from sqlalchemy.ext.asyncio import AsyncSession\nimport db.session\nfrom db import session"
    )
    assert {"sqlalchemy.ext.asyncio", "db.session"} <= imported_modules(tree)
