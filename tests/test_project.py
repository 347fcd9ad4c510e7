"""The project's promises about itself: README documents every setting, the Procfile runs
real things, the .pot template matches the declared replies, .ci/run runs the README's
test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from babel.messages.pofile import read_po

from bot.config import ENV_DEFAULTS
from conversations.replies import REPLIES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def readme_commands() -> list[str]:
    """The shell commands in the README's 'Two commands' section."""
    section = README.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:sh|bash)\n(.+?)\n```", section, re.S)


def test_readme_documents_every_setting():
    missing = [name for name in ENV_DEFAULTS if f"`{name}`" not in README]
    assert not missing, f"README lacks {missing}"


def test_readme_has_exactly_two_commands_and_ci_runs_the_test_one():
    commands = readme_commands()
    assert len(commands) == 2, commands
    run, test = commands
    assert "jembatan up" in run and "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text()
    assert test.strip() in ci.replace(" -q", ""), "CI must run the README's test command"


def test_procfile_processes():
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert set(processes) == {"release", "web", "worker", "engine", "relay"}
    assert shlex.split(processes["release"]) == ["jembatan", "migrate"]
    assert "'bot:create_app()'" in processes["web"]
    # The same server as `jembatan up` (bot.web.server.gunicorn_command): the buffering
    # threaded worker, so slow clients cannot hold the threads (tests/web/test_hostile_server.py).
    from bot.web.server import WORKER_CLASS, gunicorn_command

    web = shlex.split(processes["web"])
    up = gunicorn_command("gunicorn", "0.0.0.0:5000", 2)
    for option in ("--worker-class", "--workers", "--threads", "--bind", "--access-logfile"):
        assert option in web and option in up, option
    assert web[web.index("--worker-class") + 1] == up[up.index("--worker-class") + 1] == WORKER_CLASS
    assert web[web.index("--threads") + 1] == "${WEB_THREADS:-4}" and up[up.index("--threads") + 1] == "4"
    worker = shlex.split(processes["worker"])
    assert "--with-scheduler" in worker and worker[worker.index("--worker-class") + 1] == "bot.worker.Worker"
    assert worker[-3:] == ["replies", "default", "broadcasts"]
    from bot.worker import Worker  # importable, as rq will import it

    assert Worker
    # The federation relay (issue 18): idle in standalone, NATS in the hub and city roles.
    assert shlex.split(processes["relay"]) == ["jembatan", "relay"]
    # The inbound engine (DECISIONS 496), beside the web on its machine.
    assert shlex.split(processes["engine"]) == ["jembatan", "engine"]


def test_pot_template_matches_declared_replies():
    with (ROOT / "locales" / "messages.pot").open("rb") as handle:
        ids = {m.id for m in read_po(handle) if m.id}
    assert ids == set(REPLIES), "run the pybabel extract command in docs/TRANSLATING.md"


def _broken_tables(text: str) -> list[str]:
    """Markdown tables that do not render as one table: a row after a blank line with no
    header above it, or a paragraph line glued to the last row (GitHub makes it a row)."""
    problems, in_fence, block = [], False, []
    lines = text.splitlines() + [""]
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("|"):
            block.append((number, line))
            continue
        if block:
            start, _ = block[0]
            if len(block) < 2 or not re.fullmatch(r"\|[\s:|-]+\|", block[1][1].strip()):
                problems.append(f"line {start}: table rows without a header")
            if line.strip():
                problems.append(f"line {number}: text glued to the table above")
            block = []
    return problems


def test_markdown_tables_render_whole():
    """A newcomer's trial (DECISIONS 451): a blank line had split the configuration table
    (its last row, API_KEY_MAX_FAILURES, rendered as a paragraph of pipes) and a sentence
    was glued to the `parse` keys table as an extra row."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert not _broken_tables(path.read_text()), (path.name, _broken_tables(path.read_text()))
