"""What a committed transaction leaves for the workers, named by the ids of its rows.

Every path that writes work for a worker (a reply to deliver, a webhook relay, a photo to
download, a payout to submit, a broadcast to fan out) returns one `Handover`; after the
commit one function, `bot.pipeline.dispatch.dispatch`, hands it to RQ. The rows are the
truth and the jobs only a nudge: a handover that never reaches Redis is found again by
the sweep. This is also how the language layer hands work over without importing RQ.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass
class Handover:
    """Ids of rows committed for the workers, by the kind of work they need."""

    outbox_ids: list[int] = field(default_factory=list)
    relay_ids: list[int] = field(default_factory=list)
    media_ids: list[int] = field(default_factory=list)
    payout_ids: list[int] = field(default_factory=list)
    broadcast_ids: list[int] = field(default_factory=list)

    def add(self, other: Handover | None) -> Handover:
        """Take `other`'s ids in as well (order kept, no id twice); returns self."""
        if other is not None:
            for kind in fields(self):
                mine = getattr(self, kind.name)
                seen = set(mine)
                for item in getattr(other, kind.name):
                    if item not in seen:
                        mine.append(item)
                        seen.add(item)
        return self

    def __bool__(self) -> bool:
        return any(getattr(self, kind.name) for kind in fields(self))
