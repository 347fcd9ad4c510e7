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
        if other:
            for name in KINDS:
                mine = getattr(self, name)
                seen = set(mine)
                for item in getattr(other, name):
                    if item not in seen:
                        mine.append(item)
                        seen.add(item)
        return self

    def __bool__(self) -> bool:
        # Spelled out: this runs several times per message, and `fields()` is not cheap.
        return bool(self.outbox_ids or self.relay_ids or self.media_ids or self.payout_ids
                    or self.broadcast_ids)


#: The kinds of work a handover names (its fields).
KINDS = tuple(kind.name for kind in fields(Handover))
