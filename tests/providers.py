"""Local HTTP servers that speak the providers' protocols, for tests and demos.

Each fake records every request it receives and answers from a script, so a test can
say "500, 500, then accept" and then assert on exactly what was sent.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from itertools import zip_longest

from werkzeug import Request, Response


@dataclass(frozen=True)
class Late:
    """A scripted answer: accept the message at once, answer only after `seconds` (the
    client may have given up by then; the message exists all the same)."""

    seconds: float


@dataclass
class ScriptedProvider:
    """Base: a queue of scripted answers, one per request, default `accept` (also `None`).

    A `threading.Event` holds that request until the test sets it, then answers normally:
    the sender is stuck mid-request for exactly as long as the test needs, with no timing.
    """

    script: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0

    def next_answer(self):
        """The next scripted answer; a float means "answer normally, after that many seconds"."""
        with self.lock:
            answer = self.script.pop(0) if self.script else None
        if isinstance(answer, float):
            time.sleep(answer)
            return None
        if isinstance(answer, threading.Event):
            answer.wait(timeout=120)  # bounded, so a failing test cannot hang the server
            return None
        return answer


class FakeTwilio(ScriptedProvider):
    """Twilio's Messages API: `POST /2010-04-01/Accounts/<sid>/Messages.json`."""

    _sids = itertools.count(1)

    def install(self, httpserver, account_sid: str) -> None:
        self.messages: list[dict] = []  # what Twilio created, as its list API returns it
        path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        httpserver.expect_request(path, method="POST").respond_with_handler(self.handle)
        httpserver.expect_request(path, method="GET").respond_with_handler(self.list_messages)

    def list_messages(self, request: Request) -> Response:
        """`GET Messages.json?To=...`: newest first, like Twilio."""
        to = request.args.get("To")
        found = [m for m in reversed(self.messages) if to is None or m["to"] == to]
        return Response(json.dumps({"messages": found, "next_page_uri": None, "page": 0,
                                    "page_size": 50}), content_type="application/json")

    def handle(self, request: Request) -> Response:
        params = request.form.to_dict()
        self.requests.append(params)
        if self.delay:
            time.sleep(self.delay)
        answer = self.next_answer()
        late = answer.seconds if isinstance(answer, Late) else 0.0
        if late:
            answer = None
        if isinstance(answer, tuple):  # (http status, twilio error code)
            status, code = answer
            return Response(json.dumps({"code": code, "message": f"error {code}", "status": status,
                                        "more_info": ""}), status=status,
                            content_type="application/json")
        if isinstance(answer, int):
            return Response(json.dumps({"message": "boom", "status": answer}), status=answer,
                            content_type="application/json")
        sid = f"SM{next(self._sids):032d}"
        message = {
            "sid": sid, "status": "queued", "to": params.get("To"), "from": params.get("From"),
            "body": params.get("Body"), "account_sid": "AC", "num_segments": "1",
            "date_created": format_datetime(datetime.now(UTC), usegmt=True),
        }
        with self.lock:
            self.messages.append(message)
        if late:
            time.sleep(late)
        return Response(json.dumps(message), status=201, content_type="application/json")

    @property
    def sent(self) -> list[dict]:
        """Requests that were accepted (the texts a phone would actually get)."""
        return self.requests


class FakeAndroidGateway(ScriptedProvider):
    """The phone's local API: `POST /messages`, answering 409 to a repeated id, and
    `GET /health` answering `health` (status code, body) as the app does."""

    def install(self, httpserver) -> None:
        self.accepted: dict[str, dict] = {}
        self.health_checks = 0
        self.health = (200, health_body(battery=80, charging=True))
        httpserver.expect_request("/messages", method="POST").respond_with_handler(self.handle)
        httpserver.expect_request("/health", method="GET").respond_with_handler(self.answer_health)

    def answer_health(self, request: Request) -> Response:
        self.health_checks += 1
        status, body = self.health
        return Response(json.dumps(body), status=status, content_type="application/json")

    def handle(self, request: Request) -> Response:
        payload = request.get_json()
        self.requests.append({"json": payload, "authorization": request.headers.get("Authorization")})
        if self.delay:
            time.sleep(self.delay)
        answer = self.next_answer()
        if isinstance(answer, int):
            return Response(json.dumps({"code": answer, "message": "scripted failure"}),
                            status=answer, content_type="application/json")
        with self.lock:
            if payload.get("id") in self.accepted:
                return Response(json.dumps({"code": 409, "message": "Message with such ID already exists"}),
                                status=409, content_type="application/json")
            self.accepted[payload["id"]] = payload
        body = {"id": payload["id"], "state": "Pending", "deviceId": "dev1",
                "recipients": [{"phoneNumber": p, "state": "Pending"} for p in payload["phoneNumbers"]]}
        return Response(json.dumps(body), status=202, content_type="application/json")

    def texts_to(self, phone: str) -> list[str]:
        """Texts the phone accepted for `phone`, in order."""
        return [m["textMessage"]["text"] for m in self.accepted.values() if phone in m["phoneNumbers"]]


def health_body(*, battery: int, charging: bool, failed: int = 0, status: str = "pass") -> dict:
    """A `GET /health` answer in the shape the app gives (smsgateway.HealthResponse)."""
    return {
        "status": status, "version": "1.40.1", "releaseId": 1120,
        "checks": {
            "battery:level": {"status": "pass" if battery > 20 else "warn",
                              "observedValue": battery, "observedUnit": "percent",
                              "description": "Battery level in percent"},
            "battery:charging": {"status": "pass", "observedValue": int(charging),
                                 "observedUnit": "boolean", "description": "Is the phone charging?"},
            "connection:status": {"status": "pass", "observedValue": 1, "observedUnit": "boolean",
                                  "description": "Internet connection status"},
            "messages:failed": {"status": "pass" if failed == 0 else "warn", "observedValue": failed,
                                "observedUnit": "messages", "description": "Failed messages, last hour"},
        },
    }


class FakeXendit(ScriptedProvider):
    """Xendit Payouts v2: `POST /v2/payouts` and `GET /v2/payouts?reference_id=`.

    Like Xendit, it keeps what it created under the Idempotency-key: a repeated key gets
    the same payout back (or, with `duplicate_error`, Xendit's DUPLICATE_TRANSACTION_ERROR),
    never a second payout. Scripted answers: an int is an error status (500 ->
    SERVER_ERROR, 400 -> a validation error); a float delays the answer by that many
    seconds (the payout is still created: a client timeout does not undo it).
    """

    _ids = itertools.count(1)

    def install(self, httpserver) -> None:
        self.created: dict[str, dict] = {}  # Idempotency-key -> payout object
        self.duplicate_error = False
        httpserver.expect_request("/v2/payouts", method="POST").respond_with_handler(self.handle)
        httpserver.expect_request("/v2/payouts", method="GET").respond_with_handler(self.lookup)

    def handle(self, request: Request) -> Response:
        body = request.get_json()
        key = request.headers.get("Idempotency-key")
        self.requests.append({"json": body, "idempotency_key": key,
                              "authorization": request.headers.get("Authorization"),
                              "content_type": request.headers.get("Content-Type")})
        answer = self.next_answer()
        if isinstance(answer, int):
            code = "SERVER_ERROR" if answer >= 500 else "RECIPIENT_ACCOUNT_NUMBER_ERROR"
            return self._json({"error_code": code, "message": "scripted failure"}, answer)
        with self.lock:
            if key in self.created:
                if self.duplicate_error:
                    # True: the classic answer; or a (status, error_code) pair, for the
                    # other ways Xendit's API versions have said "key used before".
                    status, code = ((409, "DUPLICATE_TRANSACTION_ERROR")
                                    if self.duplicate_error is True else self.duplicate_error)
                    return self._json({"error_code": code,
                                       "message": "Idempotency key has been used before"}, status)
                return self._json(self.created[key], 200)
            payout = {"id": f"disb-{next(self._ids):025d}", "status": "ACCEPTED",
                      "created": "2026-11-28T02:00:00Z", "estimated_arrival_time":
                      "2026-11-28T02:30:00Z", "business_id": "5f27a14a9bf05c73dd040bc8", **body}
            self.created[key] = payout
        return self._json(payout, 200)

    def lookup(self, request: Request) -> Response:
        reference = request.args.get("reference_id")
        return self._json([p for p in self.created.values() if p["reference_id"] == reference], 200)

    @staticmethod
    def _json(body, status: int) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")

    @property
    def payouts(self) -> list[dict]:
        """Every payout Xendit holds (what would actually be paid)."""
        return list(self.created.values())


def assert_exact_requests(got: list, expected: list, provider: str = "the provider") -> None:
    """The provider received exactly `expected`, in order: a missing request fails, and so
    does an unexpected one (the table-driven provider tests' one rule, after RapidPro's
    courier)."""
    if got == expected:
        return
    lines = []
    for number, (wanted, made) in enumerate(zip_longest(expected, got), 1):
        if made is None:
            lines.append(f"  request {number} missing: {wanted}")
        elif wanted is None:
            lines.append(f"  request {number} unexpected: {made}")
        elif made != wanted:
            lines.append(f"  request {number} differs:\n    expected {wanted}\n         got {made}")
    raise AssertionError(f"{provider} got {len(got)} requests, expected {len(expected)}:\n"
                         + "\n".join(lines))
