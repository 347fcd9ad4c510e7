"""The one path every inbound message takes: store first, then respond, then enqueue.

Webhooks and the simulator both call `accept_inbound_message`, so what a person sees in
`jembatan chat` is exactly what a farmer's phone would get.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlite_utils

from bot.pipeline.dispatch import dispatch
from bot.services import inbox
from bot.storage import transaction
from conversations.engine import Response, respond_to_inbound

log = logging.getLogger(__name__)


def accept_inbound_message(db: sqlite_utils.Database, config: dict, redis_connection,
                           **message) -> tuple[Response | None, bool]:
    """Store the message (idempotently), handle it, and hand resulting messages to RQ.
    `message`: `store_and_respond`'s keyword arguments (channel, provider_id, phone, body,
    raw, now, reply_inline, bsuid).

    Returns (response, is_new). A repeat of a stored message returns (None, False) and
    does nothing else. If handling crashes, the stored message waits for the sweep and
    (None, True) is returned: the sender is never silently dropped, only answered later.
    """
    response, is_new = store_and_respond(db, config, **message)
    if response is not None:
        dispatch(redis_connection, db, response.handover, message["now"], keep_sweep=True)
    return response, is_new


def store_and_respond(
    db: sqlite_utils.Database,
    config: dict,
    *,
    channel: str,
    provider_id: str,
    phone: str,
    body: str,
    raw: dict | None,
    now: datetime,
    reply_inline: bool,
    bsuid: str | None = None,
) -> tuple[Response | None, bool]:
    """`accept_inbound_message` up to its commit: the caller dispatches `response.handover`
    once the commit is durable (the inbound engine commits a batch, syncs once, then
    dispatches each)."""
    # One commit for the common case: the stored message and its effects. Processing runs
    # in a savepoint, so if it fails the message itself still commits and waits for the
    # sweep; if the process dies before the commit, we never answered 200, and the
    # provider posts the message again.
    with transaction(db):
        inbound_id, stored = inbox.store_inbound(
            db, channel=channel, provider_id=provider_id, phone=phone, body=body, raw=raw, now=now,
            bsuid=bsuid, status="processed",
        )
        if stored is None:
            return None, False
        try:
            response = respond_to_inbound(db, inbound_id, config, now, reply_inline=reply_inline,
                                          stored=stored)
        except Exception:
            log.exception("inbound %s left for the sweep", inbound_id)
            return None, True
    return response, True
