"""The fake is a package of its own: it must run without the bot (the sandbox ships it)."""

import ast
from pathlib import Path

import fake_telegram

PACKAGE = Path(fake_telegram.__file__).parent


def test_the_fake_imports_nothing_from_the_bot():
    offending = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            offending += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("bot", "db")]
    assert offending == []
