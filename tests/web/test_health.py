"""`/healthz` reports database and Redis reachability."""

from __future__ import annotations

from bot.web.app import create_app


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["database"], body["redis"], body["status"]) == ("ok", "ok", "ok")
    assert body["outbox"] == {"pending": 0, "sending": 0, "failed": 0}


def test_redis_unreachable_is_degraded_not_down(settings, closed_port):
    app = create_app(dict(settings, REDIS_URL=f"redis://127.0.0.1:{closed_port}/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"
    assert response.get_json()["redis"].startswith("error")
