"""Validate payloads against the Android gateway's own OpenAPI document (Apache-2.0,
copied into tests/fixtures from the capcom6 project)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema

SPEC_PATH = Path(__file__).parent / "fixtures" / "android-sms-gateway.openapi.json"


@cache
def _spec() -> dict:
    return json.loads(SPEC_PATH.read_text())


def validate_gateway_schema(instance: dict, schema_name: str) -> None:
    """Raise jsonschema.ValidationError unless `instance` matches components/schemas/NAME."""
    spec = _spec()
    # OpenAPI 3 schemas are JSON Schema with local refs into the same document.
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    jsonschema.validate(instance, schema)

_PAYLOAD_SCHEMA = {
    "sms:received": "SmsReceivedPayload", "sms:sent": "SmsSentPayload",
    "sms:delivered": "SmsDeliveredPayload", "sms:failed": "SmsFailedPayload",
    "system:ping": "SystemPingPayload",
}


def validate_gateway_event(event: dict) -> None:
    """Validate a webhook event: the envelope, then the payload against its event's schema.

    The document's `payload` is a `oneOf` of schemas loose enough that one payload matches
    several, so the payload is checked against the schema its `event` names instead.
    """
    spec = _spec()
    envelope = json.loads(json.dumps(spec["components"]["schemas"]["WebHookEvent"]))
    envelope["properties"]["payload"] = {"type": "object"}
    jsonschema.validate(event, dict(envelope, components=spec["components"]))
    validate_gateway_schema(event["payload"], _PAYLOAD_SCHEMA[event["event"]])
