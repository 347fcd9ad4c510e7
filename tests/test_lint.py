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
