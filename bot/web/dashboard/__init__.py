"""`/dashboard`: the coordinator's desk (DESIGN.md section 9).

Server-rendered pages that work without JavaScript, every asset served from `static/`.
Every request reads the desk cookie; every form post carries the CSRF token; every page
but sign-in needs a signed-in user; every post that changes something needs a role that
may change (`viewer` gets 403 everywhere), whatever the page. Views only parse the form,
call `bot.services`, and hand the resulting outbox rows to the workers after the commit.
"""

from __future__ import annotations

from bot.web.dashboard import auth, delivery_words, money, pages  # noqa: F401  (they register on bp)
from bot.web.dashboard.blueprint import bp

__all__ = ["bp"]
