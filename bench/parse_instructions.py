"""Instructions per message of ``conversations.parse.parse``, for callgrind (repeatable
on a loaded machine, unlike a clock). Parses the corpus once (warm-up), then REPEATS times::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/parse_instructions.py . 0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/parse_instructions.py . 40

(instructions of the second minus the first) / (40 x corpus lines) is the figure; run with
``PYTHONHASHSEED=0``. ROOT (first argument) is the tree whose parser is measured, so an
older commit unpacked with ``git archive`` can be measured beside this one. ``COLD=1``
clears the parser's caches before every message (the figure without them). An optional
third argument is another corpus (.tsv).
"""

import gc
import os
import sys

root = sys.argv[1]
sys.path.insert(0, root)
from conversations.parse import parse  # noqa: E402

corpus = sys.argv[3] if len(sys.argv) > 3 else root + "/tests/fixtures/commands.tsv"
with open(corpus, encoding="utf-8") as file:
    texts = [line.split("\t", 1)[0] for line in file.read().splitlines()
             if line and not line.startswith("#")]
for text in texts:
    parse(text)
clears = []
if os.environ.get("COLD"):
    for name, module in list(sys.modules.items()):
        if name.startswith("conversations"):
            for obj in vars(module).values():
                if callable(obj) and hasattr(obj, "cache_clear") and obj not in clears:
                    clears.append(obj)
gc.disable()
repeats = int(sys.argv[2])
if clears:
    for _ in range(repeats):
        for text in texts:
            for clear in clears:
                clear.cache_clear()
            parse(text)
else:
    for _ in range(repeats):
        for text in texts:
            parse(text)
