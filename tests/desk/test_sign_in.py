"""Sign-in by one-time code and link, sessions, roles: services and the web, no browser."""

from __future__ import annotations

import re
from datetime import timedelta

from click.testing import CliRunner

from bot.cli import main
from bot.services import desk_auth
from bot.storage import utcnow
from tests.desk.conftest import ADMIN, VIEWER, csrf_of, post

CLIENT = "10.0.0.7"


def _code(db, phone=ADMIN, client=CLIENT, now=None):
    return desk_auth.request_code(db, phone, client, now or utcnow())


def test_a_code_signs_in_once_and_only_its_owner(migrated_db):
    desk_auth.grant_role(migrated_db, ADMIN, "admin", utcnow())
    asked = _code(migrated_db)
    assert asked.outcome == "sent" and re.fullmatch(r"\d{6}", asked.code)
    stored = migrated_db.execute("SELECT secret_hash FROM desk_tokens").fetchone()[0]
    assert asked.code not in stored
    assert desk_auth.verify_code(migrated_db, VIEWER, asked.code, CLIENT, utcnow()).outcome == "expired"
    first = desk_auth.verify_code(migrated_db, ADMIN, asked.code, CLIENT, utcnow())
    assert first.outcome == "ok" and first.user["role"] == "admin"
    assert desk_auth.verify_code(migrated_db, ADMIN, asked.code, CLIENT, utcnow()).outcome == "expired"


def test_a_code_expires_after_ten_minutes_and_a_new_one_voids_the_old(migrated_db):
    desk_auth.grant_role(migrated_db, ADMIN, "admin", utcnow())
    start = utcnow()
    old = _code(migrated_db, now=start)
    new = _code(migrated_db, now=start + timedelta(minutes=1))
    assert desk_auth.verify_code(migrated_db, ADMIN, old.code, CLIENT, start).outcome in ("wrong", "expired")
    late = start + timedelta(minutes=1) + desk_auth.CODE_LIFETIME + timedelta(seconds=1)
    assert desk_auth.verify_code(migrated_db, ADMIN, new.code, CLIENT, late).outcome == "expired"


def test_five_wrong_codes_lock_the_number_for_fifteen_minutes(migrated_db):
    desk_auth.grant_role(migrated_db, ADMIN, "admin", utcnow())
    now = utcnow()
    asked = _code(migrated_db, now=now)
    wrong = "000000" if asked.code != "000000" else "111111"
    results = [desk_auth.verify_code(migrated_db, ADMIN, wrong, CLIENT, now) for _ in range(5)]
    assert [r.outcome for r in results] == ["wrong"] * 4 + ["locked"]
    assert [r.attempts_left for r in results[:4]] == [4, 3, 2, 1]
    # Locked: even the right code fails, and no new code is sent.
    assert desk_auth.verify_code(migrated_db, ADMIN, asked.code, CLIENT, now).outcome == "locked"
    assert _code(migrated_db, client="10.0.0.8", now=now).outcome == "locked"
    after = now + desk_auth.LOCKOUT + timedelta(seconds=1)
    # The lock voided that code; after the lock a fresh code works.
    assert desk_auth.verify_code(migrated_db, ADMIN, asked.code, CLIENT, after).outcome == "expired"
    fresh = _code(migrated_db, client="10.0.0.9", now=after)
    assert desk_auth.verify_code(migrated_db, ADMIN, fresh.code, CLIENT, after).outcome == "ok"


def test_code_requests_are_throttled_per_number_and_per_client(migrated_db):
    desk_auth.grant_role(migrated_db, ADMIN, "admin", utcnow())
    now = utcnow()
    outcomes = [_code(migrated_db, client=f"10.0.1.{i}", now=now).outcome for i in range(4)]
    assert outcomes == ["sent"] * 3 + ["throttled"]
    # One client asking for many numbers (most unknown) is throttled too; unknown numbers get
    # the same page as known ones and nothing is sent.
    outcomes = [_code(migrated_db, phone=f"+62812000000{i:02d}", client="10.0.2.1", now=now).outcome
                for i in range(11)]
    assert outcomes == ["unknown"] * 10 + ["throttled"]
    later = now + desk_auth.THROTTLE_WINDOW + timedelta(seconds=1)
    assert _code(migrated_db, client="10.0.1.9", now=later).outcome == "sent"


def test_wrong_codes_are_throttled_per_client_across_numbers(migrated_db):
    now = utcnow()
    for i in range(desk_auth.WRONG_PER_CLIENT // 4):
        phone = f"+628130000{i:04d}"
        desk_auth.grant_role(migrated_db, phone, "viewer", now)
        _code(migrated_db, phone=phone, client=f"10.9.{i}.1", now=now)
        for _ in range(4):
            assert desk_auth.verify_code(migrated_db, phone, "999999", CLIENT, now).outcome in ("wrong", "ok")
    desk_auth.grant_role(migrated_db, ADMIN, "admin", now)
    asked = _code(migrated_db, client="10.9.99.1", now=now)
    assert desk_auth.verify_code(migrated_db, ADMIN, asked.code, CLIENT, now).outcome == "throttled"
    assert desk_auth.verify_code(migrated_db, ADMIN, asked.code, "10.0.0.99", now).outcome == "ok"


def test_sessions_end_on_sign_out_when_idle_and_when_the_role_goes(migrated_db):
    desk_auth.grant_role(migrated_db, ADMIN, "admin", utcnow())
    now, idle = utcnow(), timedelta(minutes=30)
    token = desk_auth.start_session(migrated_db, desk_auth.desk_users(migrated_db)[0]["id"], CLIENT, now)
    assert desk_auth.session_user(migrated_db, token, now + timedelta(minutes=29), idle)["role"] == "admin"
    # Being seen moved the idle clock: 29 minutes after that it is still alive.
    assert desk_auth.session_user(migrated_db, token, now + timedelta(minutes=58), idle) is not None
    assert desk_auth.session_user(migrated_db, token, now + timedelta(minutes=89), idle) is None
    token = desk_auth.start_session(migrated_db, desk_auth.desk_users(migrated_db)[0]["id"], CLIENT, now)
    desk_auth.end_session(migrated_db, token, now)
    assert desk_auth.session_user(migrated_db, token, now, idle) is None
    token = desk_auth.start_session(migrated_db, desk_auth.desk_users(migrated_db)[0]["id"], CLIENT, now)
    assert desk_auth.revoke_role(migrated_db, ADMIN, now)
    assert desk_auth.session_user(migrated_db, token, now, idle) is None


def test_cli_grants_roles_and_prints_a_one_time_link(app, db):
    runner = CliRunner()
    env = {"DATABASE_PATH": app.config["DATABASE_PATH"]}
    refused = runner.invoke(main, ["desk", "link", "0811-0000-0001"], env=env)
    assert refused.exit_code != 0 and "no desk role" in refused.output
    granted = runner.invoke(main, ["desk", "grant", "0811-0000-0001", "--role", "admin"], env=env)
    assert granted.exit_code == 0, granted.output
    printed = runner.invoke(main, ["desk", "link", "0811-0000-0001"], env=env)
    link = printed.output.strip()
    assert printed.exit_code == 0 and "/dashboard/masuk/tautan/" in link
    path = "/dashboard/" + link.split("/dashboard/", 1)[1]
    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 200  # a GET (a link preview) does not spend it
    signed = client.post(path, data={"csrf_token": csrf_of(page)})
    assert signed.status_code == 302 and client.get("/dashboard/").status_code == 200
    again = app.test_client()
    assert again.post(path, data={"csrf_token": csrf_of(again.get(path))}).status_code == 400
    actions = [row["action"] for row in db.query("SELECT action FROM coordinator_actions ORDER BY id")]
    assert actions == ["desk.role_grant", "desk.link_create", "desk.sign_in"]


def test_sign_in_by_code_through_the_outbox_and_sign_out(app, db):
    desk_auth.grant_role(db, ADMIN, "coordinator", utcnow())
    client = app.test_client()
    assert client.get("/dashboard/orang").headers["Location"].startswith("/dashboard/masuk")
    page = client.get("/dashboard/masuk")
    asked = client.post("/dashboard/masuk", data={"csrf_token": csrf_of(page), "phone": "0811 0000 0001"})
    assert asked.status_code == 200 and "Tulis kode masuk" in asked.get_data(as_text=True)
    (row,) = db.query("SELECT * FROM outbox")
    assert row["reply_id"] == "desk.code" and row["phone"] == ADMIN
    code = re.search(r"\d{6}", row["body"]).group(0)
    wrong = client.post("/dashboard/masuk/kode", data={"csrf_token": csrf_of(page), "phone": ADMIN,
                                                       "code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 400 and "Sisa percobaan: 4" in wrong.get_data(as_text=True)
    signed = client.post("/dashboard/masuk/kode", data={"csrf_token": csrf_of(page), "phone": ADMIN,
                                                        "code": code})
    assert signed.status_code == 302
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/dashboard/").status_code == 200
    # The code never shows on the desk, in the message log or the person's page.
    log = client.get("/dashboard/pesan").get_data(as_text=True)
    assert code not in log and "••••••" in log
    assert post(client, "/dashboard/keluar", {}).status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_cookie_is_secure_over_https(app, db):
    client = app.test_client()
    page = client.get("/dashboard/masuk", base_url="https://hub.local")
    assert "Secure" in page.headers["Set-Cookie"]


def test_every_form_needs_the_csrf_token(app, admin):
    assert admin.post("/dashboard/masuk", data={"phone": ADMIN}).status_code == 400
    assert admin.post("/dashboard/tim", data={"phone": VIEWER, "role": "admin"}).status_code == 400
    assert admin.post("/dashboard/tim", data={"phone": VIEWER, "role": "admin",
                                              "csrf_token": "forged"}).status_code == 400
    assert post(admin, "/dashboard/tim", {"phone": VIEWER, "role": "viewer"}).status_code == 302


def test_pages_send_security_headers(app, admin):
    page = admin.get("/dashboard/")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'; style-src 'self'; script-src 'self'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert "viewport" in page.get_data(as_text=True)


def test_a_viewer_reads_but_every_change_is_403(app, db, viewer):
    assert viewer.get("/dashboard/orang").status_code == 200
    changing = [rule for rule in app.url_map.iter_rules()
                if rule.endpoint.startswith("desk.") and "POST" in rule.methods
                and rule.endpoint not in ("desk.sign_in", "desk.verify", "desk.link", "desk.sign_out",
                                          "desk.broadcast_preview")]
    assert len(changing) >= 11
    token = csrf_of(viewer.get("/dashboard/"))
    for rule in changing:
        path = rule.rule.replace("<int:contact_id>", "1").replace("<int:listing_id>", "1").replace(
            "<int:product_id>", "1").replace("<int:payout_id>", "1").replace("<int:story_id>", "1")
        assert viewer.post(path, data={"csrf_token": token}).status_code == 403, rule.rule
    assert post(viewer, "/dashboard/keluar", {}).status_code == 302


def test_only_admins_manage_the_team(app, db):
    from tests.desk.conftest import sign_in

    coordinator = sign_in(app.test_client(), db, "+6281100000009", "coordinator")
    assert post(coordinator, "/dashboard/tim", {"phone": VIEWER, "role": "admin"}).status_code == 403


def test_the_desk_speaks_english_on_request(app, admin):
    assert "Ringkasan" in admin.get("/dashboard/").get_data(as_text=True)
    admin.get("/dashboard/bahasa/en")
    assert "Overview" in admin.get("/dashboard/").get_data(as_text=True)


def test_admins_grant_desk_roles_and_coordinator_texts(app, db, admin):
    assert post(admin, "/dashboard/tim", {"phone": "0813 1111 2222", "role": "coordinator",
                                          "sms_coordinator": "1"}).status_code == 302
    row = db.execute("SELECT c.is_coordinator, r.role FROM contacts c JOIN desk_roles r "
                     "ON r.contact_id = c.id WHERE c.phone = '+6281311112222'").fetchone()
    assert row == (1, "coordinator")
    assert post(admin, "/dashboard/tim", {"phone": "0813 1111 2222", "revoke": "1"}).status_code == 302
    assert db.execute("SELECT COUNT(*) FROM desk_roles WHERE role = 'coordinator'").fetchone()[0] == 0
