"""`jembatan payment|ledger|payout …`: the coordinators' and operators' money commands.

- `payment record ORDER AMOUNT --ref REF`: a buyer paid for an order (reconciles receivables);
- `ledger check`: verify every ledger invariant; exits 1 on any violation (cron, CI);
- `payout list`, `payout paid CODE --ref REF`, `payout failed CODE --reason ...`: the
  manual provider's work list and outcomes (the seller is told either way).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.cli.common import phone_argument
from bot.config import local_base_url, secret_key
from bot.pipeline.payouts import release_held_payouts, report_change, report_payout_event
from bot.services import contacts, exports, ledger, orders, payments, payouts, statements
from bot.services.coordinators import record_action
from bot.services.handover import Handover
from bot.services.payouts import IllegalPayoutTransition, SecondApprovalNeeded
from bot.services.reconciliation import check_ledger
from bot.storage import transaction, utcnow
from bot.web.db import get_db, hand_over
from conversations.i18n import format_money
from conversations.numbers import parse_money

#: `--reason` of `payout failed`: what went wrong, in words the seller's text is built on.
FAILURE_REASONS = {
    "account": "the account number or holder name is wrong",
    "rejected": "the bank or e-wallet refused it",
    "other": "we could not pay it (our side)",
}


def _rupiah(amount: int) -> str:
    return format_money(amount)


@click.group("payment")
def payment_group() -> None:
    """Buyers' payments for received orders."""


@payment_group.command("record")
@click.argument("order_ref")
@click.argument("amount")
@click.option("--ref", "reference", required=True,
              help="Bank transfer or receipt reference; recording the same one twice does nothing")
@click.option("--note", default=None, help="Anything worth keeping (who paid, how)")
@with_appcontext
def payment_record(order_ref: str, amount: str, reference: str, note: str | None) -> None:
    """Record that the buyer paid AMOUNT (`500000`, `Rp500.000`, `500rb`) for ORDER_REF."""
    rupiah = parse_money(amount)
    if rupiah is None or rupiah <= 0:
        raise click.BadParameter(f"not an amount of rupiah: {amount}", param_hint="AMOUNT")
    db = get_db()
    order = orders.find_order(db, order_ref)
    if order is not None and order["origin_hub"]:  # a hub's order at a city (DECISIONS 420)
        try:
            sent = payments.record_order_payment(db, order, amount=rupiah, reference=reference,
                                                 now=utcnow(), note=note)
        except payments.PaymentRefused as refusal:
            raise click.ClickException(refusal.message) from None
        word = f"sent to hub {order['origin_hub']}" if sent.created else f"already {sent.status}"
        click.echo(f"{word}: {_rupiah(rupiah)} for order {order['code']} (ref {reference}); its ledger "
                   f"books it; still owed {_rupiah(sent.amount_due)}")
        return
    try:
        posting = ledger.record_buyer_payment(db, order_ref=order_ref, amount=rupiah,
                                              reference=reference, now=utcnow(), note=note)
    except ledger.LedgerError as exc:
        raise click.ClickException(str(exc)) from exc
    owed = ledger.order_receivable(db, order_ref)
    hand_over(release_held_payouts(db, current_app.config, utcnow()))  # withdrawals waiting for it
    word = "recorded" if posting.created else "already recorded, nothing changed"
    click.echo(f"{word}: {_rupiah(rupiah)} for order {order_ref} (ref {reference}); "
               f"still owed {_rupiah(owed)}")


@click.group("ledger")
def ledger_group() -> None:
    """The money ledger."""


@ledger_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON")
@click.option("--strict", is_flag=True,
              help="Also fail when payouts run ahead of buyers' payments beyond PAYOUT_ADVANCE_LIMIT")
@with_appcontext
def ledger_check(as_json: bool, strict: bool) -> None:
    """Verify every ledger invariant; exit 1 if any is violated."""
    report = check_ledger(get_db())
    limit = payouts.advance_limit(current_app.config)
    if strict and limit is not None and -report.figures["cash_position"] > limit:
        report.violations.append(f"paid out {_rupiah(-report.figures['cash_position'])} more than buyers "
                                 f"paid: beyond PAYOUT_ADVANCE_LIMIT {_rupiah(limit)}")
    if as_json:
        click.echo(json.dumps({"ok": report.ok, "violations": report.violations,
                               "figures": report.figures}))
    else:
        for name, value in report.figures.items():
            click.echo(f"{name}: {value}")
        for violation in report.violations:
            click.echo(f"VIOLATION: {violation}", err=True)
        click.echo("ledger OK" if report.ok else f"ledger BROKEN: {len(report.violations)} violations")
    if not report.ok:
        raise SystemExit(1)


@click.group("payout")
def payout_group() -> None:
    """Withdrawals on their way to sellers (the manual provider's work list)."""


@payout_group.command("list")
@click.option("--status", default="pending", show_default=True,
              help="pending, submitted, processing, succeeded, failed, cancelled, reversed, or all")
@with_appcontext
def payout_list(status: str) -> None:
    """List payouts, oldest first, with what a coordinator needs to pay them."""
    statuses = None if status == "all" else tuple(s.strip() for s in status.split(","))
    rows = payouts.list_payouts(get_db(), statuses)
    if not rows:
        click.echo(f"no {status} payouts")
    for row in rows:
        fields = [
            row["code"], row["status"], row["provider"], _rupiah(row["amount"]),
            f"{row['seller_name'] or '-'} ({row['seller_phone']})",
            f"{row['channel']} {row['account_number']} a.n. {row['account_holder_name']}",
            row["created_at"][:16].replace("T", " ") + " UTC",
        ]
        if row["status"] == "pending" and row["submit_attempts"]:
            # An automatic payout the provider has not taken yet: show why.
            fields.append(f"{row['submit_attempts']} tries, last: {row['last_error']}")
        click.echo("\t".join(fields))


def _manual_payout(code: str) -> dict:
    payout = payouts.find_payout(get_db(), code)
    if payout is None:
        raise click.ClickException(f"no payout {code}")
    if payout["provider"] in payouts.AUTOMATIC_PROVIDERS:
        raise click.ClickException(
            f"payout {payout['code']} goes through {payout['provider']}: its callbacks settle it")
    return payout


def _coordinator(phone: str | None, payout: dict | None = None) -> str:
    """Who is acting: a coordinator's phone (`--by`), or `cli` when none is given — but a
    payout that needs two coordinators (and any approval) needs to know who."""
    if phone is None:
        if payout is None or payout["approval_required"]:
            raise click.UsageError("say which coordinator you are: --by PHONE (this payout needs "
                                   "two different coordinators)")
        return "cli"
    number = phone_argument(phone)
    contact = contacts.find_contact_by_phone(get_db(), number)
    if contact is None or not contact.get("is_coordinator"):
        raise click.BadParameter(f"{number} is not a coordinator (jembatan coordinator add)",
                                 param_hint="--by")
    return number


BY_OPTION = click.option("--by", "by", default=None,
                         help="The coordinator acting, by phone (two different ones are needed above "
                              "PAYOUT_SECOND_APPROVAL_ABOVE)")


@payout_group.command("paid")
@click.argument("code")
@click.option("--ref", "reference", required=True, help="Your transfer or receipt reference")
@BY_OPTION
@with_appcontext
def payout_paid(code: str, reference: str, by: str | None) -> None:
    """Record that payout CODE was paid; the seller is told (with REF). Above
    PAYOUT_SECOND_APPROVAL_ABOVE it needs a second coordinator's word first."""
    payout = _manual_payout(code)
    actor = _coordinator(by, payout)
    db = get_db()
    waiting = None
    try:
        with transaction(db):
            try:
                change = payouts.mark_paid(db, payout["id"], actor, utcnow(), source="cli",
                                           provider_reference=reference, detail={"reference": reference})
            except SecondApprovalNeeded as exc:
                waiting = exc  # caught inside the transaction: the approval is kept
            else:
                reported = report_change(db, current_app.config, change, utcnow())
    except IllegalPayoutTransition as exc:
        raise click.ClickException(f"{exc} (the money is back in the seller's balance)") from exc
    if waiting is not None:
        _audit("payout.approval_requested", {"payout": payout["code"], "by": actor})
        raise click.ClickException(
            f"{payout['code']} ({_rupiah(payout['amount'])}) needs a second coordinator: approved so "
            f"far by {', '.join(waiting.approvers)}; another must run `jembatan payout approve "
            f"{payout['code']} --by PHONE` or reply BAYAR {payout['code']}")
    hand_over(reported.handover)
    if reported.change.applied:
        _audit("payout.paid", {"payout": payout["code"], "reference": reference, "by": actor})
        click.echo(f"{payout['code']} paid: {_rupiah(payout['amount'])}; the seller has been told")
    else:
        click.echo(f"{payout['code']} was already paid; nothing changed")


@payout_group.command("approve")
@click.argument("code")
@BY_OPTION
@with_appcontext
def payout_approve(code: str, by: str | None) -> None:
    """Give a coordinator's word on payout CODE: the second word records a manual payout as
    paid (the seller is told); an automatic one waiting for approval is submitted."""
    db, now = get_db(), utcnow()
    payout = payouts.find_payout(db, code)
    if payout is None:
        raise click.ClickException(f"no payout {code}")
    actor = _coordinator(by)
    if not payouts.awaiting_approval(payout, db):
        raise click.ClickException(f"{payout['code']} is {payout['status']} and waits for no approval")
    if payout["provider"] in payouts.AUTOMATIC_PROVIDERS:
        payouts.approve_submission(db, payout["id"], actor, now, source="cli")
        hand_over(Handover(payout_ids=[payout["id"]]))
        _audit("payout.approved", {"payout": payout["code"], "by": actor})
        click.echo(f"{payout['code']} approved: it goes to {payout['provider']} now")
        return
    given = payouts.approvers(db, payout["id"])
    if actor in given:
        raise click.ClickException(f"{actor} already approved {payout['code']}: another coordinator must")
    if not given:
        payouts.approve(db, payout["id"], actor, now, source="cli")
        _audit("payout.approval_requested", {"payout": payout["code"], "by": actor})
        click.echo(f"{payout['code']}: approval by {actor} recorded; a second coordinator is needed")
        return
    with transaction(db):
        change = payouts.mark_paid(db, payout["id"], actor, now, source="cli", detail={"approved_by": given})
        reported = report_change(db, current_app.config, change, now)
    hand_over(reported.handover)
    _audit("payout.paid", {"payout": payout["code"], "by": actor, "approved_by": given})
    click.echo(f"{payout['code']} paid: {_rupiah(payout['amount'])}; the seller has been told")


@payout_group.command("failed")
@click.argument("code")
@click.option("--reason", required=True, type=click.Choice(sorted(FAILURE_REASONS)),
              help="account: number/name wrong; rejected: bank/e-wallet refused; other: our side")
@click.option("--note", default=None, help="Details for the record (not sent to the seller)")
@with_appcontext
def payout_failed(code: str, reason: str, note: str | None) -> None:
    """Record that payout CODE could not be paid: the money returns to the seller's
    balance and they are told why."""
    payout = _manual_payout(code)
    try:
        reported = report_payout_event(get_db(), current_app.config, payout["id"], "failed",
                                       utcnow(), source="cli", failure_code=reason,
                                       detail={"reason": reason, "note": note})
    except IllegalPayoutTransition as exc:
        raise click.ClickException(str(exc)) from exc
    hand_over(reported.handover)
    if reported.change.applied:
        _audit("payout.failed", {"payout": payout["code"], "reason": reason, "note": note})
        click.echo(f"{payout['code']} failed ({FAILURE_REASONS[reason]}): "
                   f"{_rupiah(payout['amount'])} is back in the seller's balance; they have been told")
    else:
        click.echo(f"{payout['code']} was already failed; nothing changed")


def _audit(action: str, details: dict) -> None:
    """Record a coordinator's action from the command line in the audit trail."""
    db = get_db()
    with transaction(db):
        record_action(db, "cli", action, details, utcnow())


@click.command("export")
@click.argument("kind", type=click.Choice(sorted(exports.EXPORTS)))
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day (YYYY-MM-DD, in DEFAULT_TIMEZONE)")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last day, included (YYYY-MM-DD, in DEFAULT_TIMEZONE)")
@click.option("--format", "file_format", type=click.Choice(["csv", "xlsx"]), default="csv",
              show_default=True, help="CSV, or an Excel workbook (needs --output)")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="File to write (CSV goes to standard output without it)")
@with_appcontext
def export_command(kind: str, start: datetime, end: datetime, file_format: str, output: str | None) -> None:
    """Export KIND (members, listings, orders, payments, payouts, ledger, broadcasts) for the
    days FROM..TO, streamed row by row."""
    zone = ZoneInfo(current_app.config.get("DEFAULT_TIMEZONE") or "Asia/Jakarta")
    first = start.replace(tzinfo=zone)
    after = (end + timedelta(days=1)).replace(tzinfo=zone)
    if after <= first:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    rows = exports.export_rows(get_db(), kind, first, after)
    if file_format == "xlsx":
        if not output:
            raise click.UsageError("--format xlsx needs --output FILE")
        count = exports.write_xlsx(rows, output)
    elif output:
        with open(output, "w", newline="", encoding="utf-8") as handle:
            count = exports.write_csv(rows, handle)
    else:
        with click.open_file("-", "w") as stdout:
            count = exports.write_csv(rows, stdout)
    if output:
        click.echo(f"{count} {kind} rows written to {output}")


@click.group("statement")
def statement_group() -> None:
    """Seller statements that lenders verify at /verify/<code>."""


@statement_group.command("issue")
@click.argument("phone")
@click.option("--months", default=6, show_default=True, type=click.IntRange(1, 24),
              help="Whole months before this one to cover (this month is included too)")
@BY_OPTION
@with_appcontext
def statement_issue(phone: str, months: int, by: str | None) -> None:
    """Issue the statement of the seller at PHONE: print its verification code and the
    page to print or send (`/verify/<code>`, which shows only what the statement shows)."""
    db = get_db()
    seller = contacts.find_contact_by_phone(db, phone_argument(phone))
    if seller is None:
        raise click.ClickException(f"no seller with the number {phone}")
    actor = _coordinator(by) if by else "cli"
    config = current_app.config
    try:
        statement = statements.issue_statement(
            db, seller["id"], months=months, now=utcnow(), timezone=config.get("DEFAULT_TIMEZONE") or
            "Asia/Jakarta", secret=secret_key(config), issued_by=actor)
    except statements.StatementRefused as exc:
        raise click.ClickException(str(exc)) from exc
    _audit("statement.issued", {"seller": seller["id"], "code": statement.code, "by": actor})
    base = local_base_url(config)
    totals = statement.content["totals"]
    click.echo(f"statement {statement.code} for {seller['name']} ({statement.content['period']['from']} to "
               f"{statement.content['period']['to']}): {totals['orders']} orders, sales "
               f"{_rupiah(totals['sales'])}, paid out {_rupiah(totals['paid_out'])}")
    click.echo(f"verify and print: {base}/verify/{statement.code}")


def register(main: click.Group) -> None:
    """Add the money command groups (and the books' export) to the `jembatan` command."""
    for group in (payment_group, ledger_group, payout_group, export_command, statement_group):
        main.add_command(group)
