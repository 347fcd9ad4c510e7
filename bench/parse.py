"""Benchmark ``conversations.parse.parse`` on the command corpus, one core.

Parses the texts of ``tests/fixtures/commands.tsv`` repeated to at least 100,000
messages and prints messages per second. Run from the repository root::

    .venv/bin/python bench/parse.py            # 100,000 messages
    .venv/bin/python bench/parse.py -n 500000  # more
    .venv/bin/python bench/parse.py --corpus tests/fixtures/commands_field.tsv  # as people write

The last line is meant to be pasted into docs as is.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script without installing the package

from conversations.parse import parse  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "commands.tsv"


def load_texts(path: Path = CORPUS) -> list[str]:
    texts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            texts.append(line.split("\t", 1)[0])
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--messages", type=int, default=100_000)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="a corpus file (.tsv)")
    args = parser.parse_args(argv)

    corpus = args.corpus if args.corpus.is_absolute() else ROOT / args.corpus
    texts = load_texts(corpus)
    repeats = -(-args.messages // len(texts))  # ceiling division
    messages = texts * repeats
    for text in texts:  # warm-up: imports, regex and fuzzy caches, as in a running server
        parse(text)

    gc.disable()  # measure parsing, not when the collector happens to run
    start = time.perf_counter()
    for text in messages:
        parse(text)
    elapsed = time.perf_counter() - start
    gc.enable()

    rate = len(messages) / elapsed
    print(f"corpus: {len(texts)} distinct texts from {corpus.relative_to(ROOT)}")
    print(
        f"parse(): {len(messages):,} messages in {elapsed:.2f} s = {rate:,.0f} messages/s "
        f"(Python {platform.python_version()}, one core, {platform.machine()})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
