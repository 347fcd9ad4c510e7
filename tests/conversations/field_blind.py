"""Score `parse` against the blind field corpus (issue 14) and classify every miss.

A miss is *critical* when the parse would act wrongly on money or stock: a different action
than expected that would be carried out (nothing under "missing"), or an amount, quantity,
stock change, unit or code that is present (not asked about) with a value other than the
expected one. A miss is *over-asking* when a value the corpus expects is listed under
"missing" instead; every other miss is *not understood*.
"""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = FIXTURES / "field_blind_2026-12.tsv"
#: written after the blind trial, with the parser read: not part of the trial's score
PROBES = FIXTURES / "field_probes_2026-12.tsv"
#: the second blind trial (2026-12-04, DECISIONS 393-394)
SECOND = FIXTURES / "field_blind2_2026-12.tsv"
GUARDED = ("price", "amount", "quantity", "change", "all", "unit", "listing", "order", "payout")
ACTIONS = {
    "sell", "stock", "withdraw", "order", "publish_price", "accept", "decline", "receive",
    "cancel_order", "pay", "delete", "ship", "register", "register_buyer", "account", "pin",
    "broadcast",
}

#: commands that act on the one waiting order when no code is given
ACT_WITHOUT_CODE = frozenset({"accept", "decline"})


def load(path: Path = CORPUS) -> list[tuple[str, list[dict]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, expected = line.split("\t")
        expected = json.loads(expected)
        rows.append((text, expected if isinstance(expected, list) else [expected]))
    return rows


def matches(result: dict, expected: dict) -> bool:
    missing = set(result.get("missing", ()))
    for key, value in expected.items():
        if key == "catalogue":
            continue  # checked against the catalogue by the test, not the parse
        if key == "missing":
            if not set(value) <= missing:
                return False
        elif value is None:
            if key in result and key not in missing:
                return False
        elif result.get(key) != value:
            return False
    return True


def classify(result: dict, alternatives: list[dict]) -> str:
    """"ok", "critical", "over-asking" or "not understood"."""
    if any(matches(result, expected) for expected in alternatives):
        return "ok"
    missing = set(result.get("missing", ()))
    commands = {expected.get("command") for expected in alternatives}
    command = result.get("command")
    if command not in commands:
        return "critical" if command in ACTIONS and not missing else "not understood"
    same = [expected for expected in alternatives if expected.get("command") == command]
    for key in GUARDED:
        if key in result and key not in missing and all(
            expected.get(key, result[key]) != result[key] or key in expected.get("missing", ())
            for expected in same
        ):
            return "critical"
    if command in ACT_WITHOUT_CODE and all(
            expected.get("order") and "order" not in result and "order" not in missing
            for expected in same):
        return "critical"  # "ya p 7" read as a bare YA accepts whichever order waits
    if any(
        key in missing and value is not None and key not in ("missing", "catalogue")
        for expected in same for key, value in expected.items()
    ):
        return "over-asking"
    return "not understood"


def score(parse, path: Path = CORPUS) -> dict:
    rows = load(path)
    report: dict = {"total": len(rows), "ok": 0, "misses": []}
    for text, alternatives in rows:
        result = parse(text)
        kind = classify(result, alternatives)
        if kind == "ok":
            report["ok"] += 1
        else:
            report["misses"].append((kind, text, result, alternatives[0]))
    return report


if __name__ == "__main__":  # pragma: no cover - a report for people
    from conversations.parse import parse  # noqa: PLC0415

    report = score(parse)
    for kind, text, result, expected in sorted(report["misses"], key=lambda m: m[0]):
        print(f"{kind:15} {text!r}\n{'':15} got {json.dumps(result, ensure_ascii=False)}\n"
              f"{'':15} want {json.dumps(expected, ensure_ascii=False)}")
    print(f"{report['ok']}/{report['total']} = {100 * report['ok'] / report['total']:.1f}%")
