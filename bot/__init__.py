"""Jembatan: the application around the language layer (`conversations/`).

`bot:create_app()` (gunicorn's entry point) is resolved lazily, so importing
`bot.services` or `bot.storage` never loads Flask.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "create_app":
        from bot.web.app import create_app

        return create_app
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
