"""The code base keeps its shape: `ruff` clean (rules in pyproject.toml) and the import
contracts of `[tool.importlinter]` kept (layers, forbidden imports, no cycles). Both are
part of the test command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_ruff_check_is_clean():
    result = subprocess.run([str(BIN / "ruff"), "check", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_are_kept():
    result = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module", ["conversations.engine", "bot.services.ledger", "bot.services.orders",
                                    "conversations.news.orders", "bot.storage"])
def test_the_language_layer_and_the_domain_load_no_framework(module):
    """Importing them in a fresh interpreter loads no web framework, queue or provider SDK."""
    probe = (f"import sys, {module}; "
             "print(sorted(m for m in ('flask', 'werkzeug', 'redis', 'rq', 'twilio') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def lazy_cursor_loops(source: str) -> list[int]:
    """Lines of `for` statements that iterate a query's rows lazily: `db.query(...)` (a
    generator), `db.execute(...)` or `rows_where(...)` (a cursor) as the loop's iterable."""
    import ast

    lazy = ("query", "execute", "rows_where")
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.For | ast.AsyncFor) and isinstance(node.iter, ast.Call)
            and isinstance(node.iter.func, ast.Attribute) and node.iter.func.attr in lazy]


def test_no_loop_writes_while_a_query_is_still_reading():
    """Review finding 7 (DECISIONS 366): a loop over a cursor still being read must not
    write on the same connection (SQLite may then return rows twice or skip them, and a
    write waiting on a reader of its own connection once hung a test). Loops take their
    rows whole first (`fetch_all`, `list(...)`, `.fetchall()`); comprehensions, which read
    everything before anything else runs, may iterate a cursor."""
    assert lazy_cursor_loops("for row in db.query('SELECT 1'):\n    pass\n") == [1]
    assert lazy_cursor_loops("for row in list(db.query('SELECT 1')):\n    pass\n") == []
    assert lazy_cursor_loops("rows = [r for r in db.execute('SELECT 1')]\n") == []
    found = {str(path.relative_to(ROOT)): lines
             for folder in ("bot", "conversations") for path in sorted((ROOT / folder).rglob("*.py"))
             if (lines := lazy_cursor_loops(path.read_text(encoding="utf-8")))}
    assert found == {}
