"""Payouts through Xendit, against a local server speaking Xendit's Payouts v2 protocol:
the exact request, retries that reuse the Idempotency-key (never a second payout), the
callback endpoint with each status, repeats, forgeries; and the whole path from a
seller's TARIK by SMS through the RQ job to the money arriving."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from bot.config import ConfigError
from bot.pipeline.payouts import submit_payout
from bot.services import contacts, payout_accounts, payouts
from bot.services.reconciliation import check_ledger
from bot.storage import open_database, to_db_time, utcnow
from bot.web.app import create_app
from tests.conftest import export_settings, gateway_post, run_worker, sms_received
from tests.money import balance, credit, make_seller_with_money
from tests.providers import FakeXendit
from tests.waiting import wait_until

SITI = "+6281234567890"
SECRET = "xnd_development_O46JfOtygef9kMNsK"
TOKEN = "verification-token-from-the-dashboard"


@pytest.fixture
def fake_xendit(httpserver):
    provider = FakeXendit()
    provider.install(httpserver)
    return provider


@pytest.fixture
def xendit_settings(settings, monkeypatch):
    xendit = export_settings(monkeypatch, {
        "PAYOUT_PROVIDER": "xendit", "XENDIT_API_BASE_URL": settings["TWILIO_API_BASE_URL"],
        "XENDIT_SECRET_KEY": SECRET, "XENDIT_CALLBACK_TOKEN": TOKEN})
    return dict(settings, **xendit)


@pytest.fixture
def app(xendit_settings):
    return create_app(xendit_settings)


@pytest.fixture
def config(app):
    return dict(app.config)


@pytest.fixture
def seller(db):
    """Siti, a seller with Rp1.250.000 from a received order and a DANA account."""
    return make_seller_with_money(db, SITI, "DANA", "081234567890", 1_250_000, utcnow())


def withdraw(db, config, seller, amount=500_000):
    """What TARIK + the right PIN does: a pending Xendit payout, money in transit."""
    return payouts.request_withdrawal(
        db, seller_contact_id=seller, amount=amount,
        account=payout_accounts.get_account(db, seller), provider="xendit", settings=config,
        now=utcnow(), timezone="Asia/Jakarta")


def payout_row(db, payout_id):
    return payouts.get_payout(db, payout_id)


def wait_until_xendit_created_it(fake_xendit):
    """Xendit finishes the request we gave up on (the server is slow, not down)."""
    wait_until(lambda: fake_xendit.payouts, timeout=30,
               what="Xendit to create the payout whose answer came too late")


def seller_news(db):
    return [row["body"] for row in db.query(
        "SELECT body FROM outbox WHERE phone = ? AND kind = 'notification' ORDER BY id", [SITI])]


# --- submitting --------------------------------------------------------------------------


def test_submission_sends_exactly_what_xendit_expects(db, config, seller, fake_xendit):
    payout = withdraw(db, config, seller)
    outcome = submit_payout(db, config, payout["id"], utcnow())

    assert outcome.status == "submitted"
    (request,) = fake_xendit.requests
    assert request["json"] == {
        "reference_id": payout["reference"],
        "channel_code": "ID_DANA",
        "channel_properties": {"account_number": "081234567890", "account_holder_name": "Siti Aminah"},
        "amount": 500_000,
        "currency": "IDR",
        "description": f"Jembatan {payout['code']}",
    }
    assert request["idempotency_key"] == payout["reference"]
    assert len(request["idempotency_key"]) <= 100
    assert request["authorization"] == "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()
    assert request["content_type"] == "application/json"
    row = payout_row(db, payout["id"])
    assert (row["status"], row["provider_status"]) == ("submitted", "ACCEPTED")
    assert row["provider_payout_id"] == fake_xendit.payouts[0]["id"]
    assert balance(db, SITI) == (750_000, 500_000, 0)
    # Submitting again (a job queued twice) sends nothing.
    assert submit_payout(db, config, payout["id"], utcnow()).status == "skipped"
    assert len(fake_xendit.requests) == 1


def test_server_error_then_success_makes_one_payout(db, config, seller, fake_xendit):
    fake_xendit.script = [500, 503]
    payout = withdraw(db, config, seller)
    now = utcnow()

    first = submit_payout(db, config, payout["id"], now)
    assert first.status == "retry" and first.retry_at == now + timedelta(seconds=15)
    assert submit_payout(db, config, payout["id"], now).status == "skipped"  # not due yet
    second = submit_payout(db, config, payout["id"], first.retry_at)
    assert second.status == "retry" and second.retry_at == first.retry_at + timedelta(seconds=30)
    row = payout_row(db, payout["id"])
    assert (row["status"], row["submit_attempts"]) == ("pending", 2)
    assert row["last_error"].startswith("SERVER_ERROR")
    assert submit_payout(db, config, payout["id"], second.retry_at).status == "submitted"

    assert len(fake_xendit.requests) == 3
    assert {r["idempotency_key"] for r in fake_xendit.requests} == {payout["reference"]}
    assert len(fake_xendit.payouts) == 1
    assert balance(db, SITI) == (750_000, 500_000, 0)
    assert check_ledger(db).ok


def test_timeout_then_retry_uses_the_same_key_and_pays_once(db, config, seller, fake_xendit):
    config["PROVIDER_TIMEOUT_SECONDS"] = 0.5
    fake_xendit.script = [1.0]  # Xendit creates the payout, but answers too late
    payout = withdraw(db, config, seller)
    now = utcnow()

    first = submit_payout(db, config, payout["id"], now)
    assert first.status == "retry"
    assert payout_row(db, payout["id"])["last_error"].startswith("network: ReadTimeout")
    wait_until_xendit_created_it(fake_xendit)
    assert submit_payout(db, config, payout["id"], first.retry_at).status == "submitted"

    keys = [r["idempotency_key"] for r in fake_xendit.requests]
    assert keys == [payout["reference"], payout["reference"]]
    assert len(fake_xendit.payouts) == 1
    assert payout_row(db, payout["id"])["provider_payout_id"] == fake_xendit.payouts[0]["id"]


@pytest.mark.parametrize("duplicate_answer", [
    True, (409, "DUPLICATE_ERROR"), (409, "SOMETHING_NEW"), (400, "IDEMPOTENCY_KEY_ALREADY_USED"),
])
def test_duplicate_answer_after_a_timeout_is_looked_up_not_failed(
    db, config, seller, fake_xendit, duplicate_answer
):
    config["PROVIDER_TIMEOUT_SECONDS"] = 0.5
    fake_xendit.script = [1.0]
    fake_xendit.duplicate_error = duplicate_answer  # this time Xendit says "key used before"
    payout = withdraw(db, config, seller)
    first = submit_payout(db, config, payout["id"], utcnow())
    assert first.status == "retry"
    wait_until_xendit_created_it(fake_xendit)
    assert submit_payout(db, config, payout["id"], first.retry_at).status == "submitted"
    assert len(fake_xendit.payouts) == 1 and len(fake_xendit.requests) == 2
    row = payout_row(db, payout["id"])
    assert row["provider_payout_id"] == fake_xendit.payouts[0]["id"]
    assert balance(db, SITI) == (750_000, 500_000, 0)


def test_permanent_refusal_fails_the_payout_and_returns_the_money(db, config, seller, fake_xendit):
    fake_xendit.script = [400]
    payout = withdraw(db, config, seller)
    assert submit_payout(db, config, payout["id"], utcnow()).status == "failed"
    row = payout_row(db, payout["id"])
    assert (row["status"], row["failure_code"]) == ("failed", "RECIPIENT_ACCOUNT_NUMBER_ERROR")
    assert balance(db, SITI) == (1_250_000, 0, 0)
    assert seller_news(db) == [
        f"Maaf, penarikan {payout['code']} Rp500.000 gagal: nomor atau nama rekening tidak cocok. "
        "Uangnya kembali ke saldo. Mohon periksa REK lalu TARIK lagi."]
    assert check_ledger(db).ok


def test_without_a_key_the_payout_waits_instead_of_failing(db, config, seller, fake_xendit):
    config["XENDIT_SECRET_KEY"] = None
    payout = withdraw(db, config, seller)
    outcome = submit_payout(db, config, payout["id"], utcnow())
    assert outcome.status == "retry" and fake_xendit.requests == []
    assert payout_row(db, payout["id"])["status"] == "pending"


# --- callbacks ---------------------------------------------------------------------------


def callback(client, payout, status, token=TOKEN, **extra):
    """POST a payout callback exactly as Xendit sends it."""
    body = {"event": f"payout.{status.lower()}", "business_id": "5f27a14a9bf05c73dd040bc8",
            "created": "2026-11-28T02:10:00Z",
            "data": {"id": payout.get("provider_payout_id") or "disb-571f3644d2b4edf0745e9703",
                     "amount": payout["amount"], "channel_code": "ID_DANA", "currency": "IDR",
                     "status": status, "reference_id": payout["reference"],
                     "created": "2026-11-28T02:00:00Z", "updated": "2026-11-28T02:10:00Z",
                     **extra}}
    headers = {} if token is None else {"x-callback-token": token}
    return client.post("/payouts/xendit/callback", json=body, headers=headers)


SUCCESS_TEXT = "Uang Rp500.000 sudah ditransfer ke DANA 0812...7890. Ref {ref}"


@pytest.mark.parametrize(("statuses", "final", "money", "news"), [
    (["ACCEPTED"], "submitted", (750_000, 500_000, 0), []),
    (["ACCEPTED", "REQUESTED"], "processing", (750_000, 500_000, 0), []),
    (["PENDING_COMPLIANCE_ASSESSMENT"], "submitted", (750_000, 500_000, 0), []),
    (["ACCEPTED", "REQUESTED", "SUCCEEDED"], "succeeded", (750_000, 0, 500_000), [SUCCESS_TEXT]),
    (["SUCCEEDED"], "succeeded", (750_000, 0, 500_000), [SUCCESS_TEXT]),
    (["REQUESTED", "FAILED"], "failed", (1_250_000, 0, 0),
     ["Maaf, penarikan {code} Rp500.000 gagal karena gangguan di pihak kami. Uangnya kembali ke saldo "
      "Bapak/Ibu. Silakan TARIK lagi nanti."]),
    (["COMPLIANCE_REJECTED"], "failed", (1_250_000, 0, 0),
     ["Maaf, penarikan {code} Rp500.000 ditolak oleh DANA. Uangnya kembali ke saldo Bapak/Ibu. Silakan "
      "TARIK lagi nanti."]),
    (["ACCEPTED", "CANCELLED"], "cancelled", (1_250_000, 0, 0),
     ["Penarikan {code} Rp500.000 dibatalkan. Uangnya kembali ke saldo Bapak/Ibu. Ketik SALDO untuk melihat "
      "saldo."]),
    (["SUCCEEDED", "REVERSED"], "reversed", (1_250_000, 0, 0),
     [SUCCESS_TEXT, "Maaf, uang Rp500.000 ({code}) dikembalikan DANA, mungkin rekening salah/tidak "
                    "aktif. Uangnya kembali ke saldo. Periksa REK lalu TARIK lagi."]),
])
def test_each_callback_status_has_its_ledger_effect(client, db, config, seller, statuses, final,
                                                     money, news):
    payout = withdraw(db, config, seller)
    for status in statuses:
        extra = {"failure_code": "INSUFFICIENT_BALANCE"} if status == "FAILED" else {}
        response = callback(client, payout, status, **extra)
        assert response.status_code == 200 and response.get_json() == {"status": "applied"}
    row = payout_row(db, payout["id"])
    assert row["status"] == final
    assert balance(db, SITI) == money
    expected = [text.format(code=payout["code"], ref="disb-571f3644d2b4edf0745e9703") for text in news]
    assert seller_news(db) == expected
    assert check_ledger(db).ok

    # Xendit retries every callback (and may send them all again): nothing changes twice.
    for status in statuses:
        response = callback(client, payout, status)
        assert response.status_code == 200 and response.get_json() == {"status": "repeated"}
    assert balance(db, SITI) == money and seller_news(db) == expected
    assert payout_row(db, payout["id"])["status"] == final


def test_out_of_order_callback_waits_for_its_turn(client, db, config, seller):
    payout = withdraw(db, config, seller)
    response = callback(client, payout, "REVERSED")
    assert response.status_code == 409  # Xendit retries it later...
    assert payout_row(db, payout["id"])["status"] == "pending"
    assert callback(client, payout, "SUCCEEDED").status_code == 200
    assert callback(client, payout, "REVERSED").status_code == 200  # ...and then it applies
    assert balance(db, SITI) == (1_250_000, 0, 0)
    # A late REQUESTED after all that changes nothing.
    assert callback(client, payout, "REQUESTED").get_json() == {"status": "repeated"}


@pytest.mark.parametrize("token", [None, "", "wrong-token", TOKEN + "x", TOKEN.upper()])
def test_forged_callbacks_are_refused_with_no_effect(client, db, config, seller, token):
    payout = withdraw(db, config, seller)
    events_before = db.execute("SELECT COUNT(*) FROM payout_events").fetchone()[0]
    response = callback(client, payout, "SUCCEEDED", token=token)
    assert response.status_code == 403
    assert payout_row(db, payout["id"])["status"] == "pending"
    assert balance(db, SITI) == (750_000, 500_000, 0)
    assert db.execute("SELECT COUNT(*) FROM payout_events").fetchone()[0] == events_before
    assert seller_news(db) == []


def test_callbacks_we_cannot_use(client, db, config, seller):
    payout = withdraw(db, config, seller)
    unknown = dict(payout, reference="someone-elses-payout", provider_payout_id="disb-other")
    assert callback(client, unknown, "SUCCEEDED").get_json() == {"status": "unknown payout"}
    assert callback(client, payout, "READY").get_json() == {"status": "ignored"}  # cash pick-up only
    wrong_amount = dict(payout, amount=5_000_000)
    assert callback(client, wrong_amount, "SUCCEEDED").status_code == 422
    response = client.post("/payouts/xendit/callback", data="not json",
                           headers={"x-callback-token": TOKEN, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert payout_row(db, payout["id"])["status"] == "pending"
    assert balance(db, SITI) == (750_000, 500_000, 0)


def test_callback_endpoint_exists_only_with_a_token(settings):
    app = create_app(dict(settings, XENDIT_CALLBACK_TOKEN=None))
    assert app.test_client().post("/payouts/xendit/callback", json={}).status_code == 404


@pytest.mark.parametrize("missing", ["XENDIT_SECRET_KEY", "XENDIT_CALLBACK_TOKEN"])
def test_xendit_provider_refuses_to_start_half_configured(xendit_settings, missing):
    with pytest.raises(ConfigError, match="PAYOUT_PROVIDER=xendit needs"):
        create_app(dict(xendit_settings, **{missing: None}))


def test_unknown_provider_refuses_to_start(settings):
    with pytest.raises(ConfigError, match="use manual or xendit"):
        create_app(dict(settings, PAYOUT_PROVIDER="bank_transfer"))


# --- the whole way, by SMS ---------------------------------------------------------------


def test_tarik_by_sms_goes_through_the_job_to_xendit_and_back(
    client, db, xendit_settings, fake_xendit, fake_gateway, redis_url
):
    def sms(message_id, text):
        response = gateway_post(client, sms_received(message_id, SITI, text))
        assert response.status_code == 200

    sms("s1", "DAFTAR Siti Aminah, Sukamaju")
    credit(db, contacts.find_contact_by_phone(db, SITI)["id"], 1_250_000, utcnow())
    sms("s2", "REK DANA 081234567890 Siti Aminah")
    sms("s3", "PIN 2580")
    sms("s4", "TARIK 500rb")
    sms("s5", "2580")
    run_worker(redis_url)  # delivers the replies and runs the submission job

    (payout,) = db.query("SELECT * FROM payouts")
    assert payout["status"] == "submitted" and len(fake_xendit.payouts) == 1
    assert fake_xendit.requests[0]["json"]["amount"] == 500_000
    texts = fake_gateway.texts_to(SITI)
    assert texts[-1] == (f"Penarikan Rp500.000 ke DANA 0812...7890 sedang diproses, kode "
                         f"{payout['code']}. Kami kabari bila uangnya sudah ditransfer.")

    response = callback(client, payout, "SUCCEEDED")
    assert response.status_code == 200
    run_worker(redis_url)
    assert fake_gateway.texts_to(SITI)[-1] == SUCCESS_TEXT.format(ref=payout["provider_payout_id"])
    assert balance(db, SITI) == (750_000, 0, 500_000)
    assert "2580" not in " ".join(fake_gateway.texts_to(SITI))


def test_sweep_submits_payouts_whose_job_was_lost(db, xendit_settings, seller, fake_xendit,
                                                  redis_url):
    """Redis was down when the seller withdrew: the periodic sweep submits it later."""
    import redis as redis_lib
    from rq import Queue

    config = dict(xendit_settings)
    payout = withdraw(db, config, seller)  # its job never reached Redis
    connection = redis_lib.Redis.from_url(redis_url)
    Queue("default", connection=connection).enqueue("bot.jobs.sweep_job")
    run_worker(redis_url)
    assert fake_xendit.payouts == []  # within the grace the sweep trusts the job to come
    # Two minutes on, it stops trusting it.
    two_minutes_ago = to_db_time(utcnow() - timedelta(minutes=2, seconds=1))
    db.execute("UPDATE payouts SET enqueued_at = ? WHERE id = ?", [two_minutes_ago, payout["id"]])
    Queue("default", connection=connection).enqueue("bot.jobs.sweep_job")
    run_worker(redis_url)
    assert len(fake_xendit.payouts) == 1
    assert payout_row(open_database(xendit_settings["DATABASE_PATH"]), payout["id"])["status"] == \
        "submitted"
