"""Every dialog the bot knows, and which command starts which one."""

from __future__ import annotations

from conversations.dialog import Flow, InvalidFlow
from conversations.flows.balance import BALANCE
from conversations.flows.coordination import COORDINATION
from conversations.flows.orders import FULFILMENT, ORDER_STATUS, ORDERING
from conversations.flows.payment_record import PAYMENT_RECORD
from conversations.flows.payout_account import PAYOUT_ACCOUNT
from conversations.flows.payout_approval import PAYOUT_APPROVAL
from conversations.flows.pin import PIN
from conversations.flows.prices import PRICES
from conversations.flows.registration import REGISTRATION
from conversations.flows.reports import REPORTS, STATEMENT
from conversations.flows.search import PAGING, SEARCH
from conversations.flows.selling import SELLING
from conversations.flows.stock import STOCK
from conversations.flows.stories import STORIES
from conversations.flows.withdrawal import WITHDRAWAL

FLOWS: tuple[Flow, ...] = (REGISTRATION, SELLING, STOCK, PRICES,
                           BALANCE, PAYOUT_ACCOUNT, PIN, WITHDRAWAL, PAYOUT_APPROVAL, PAYMENT_RECORD,
                           COORDINATION, STATEMENT, REPORTS,
                           STORIES,
                           SEARCH, PAGING, ORDERING, FULFILMENT, ORDER_STATUS)


def _entry_table(flows: tuple[Flow, ...]) -> dict[str, Flow]:
    table: dict[str, Flow] = {}
    for flow in flows:
        for command in flow.entry:
            if command in table:
                raise InvalidFlow(f"{command!r} starts both {table[command].name} and {flow.name}")
            table[command] = flow
    return table


FLOW_BY_NAME: dict[str, Flow] = {flow.name: flow for flow in FLOWS}
FLOW_BY_ENTRY_COMMAND: dict[str, Flow] = _entry_table(FLOWS)
