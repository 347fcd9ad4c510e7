"""Name this process so that another process on the same machine can tell whether it died.

A delivery claim records `process_identity()`; the sweep asks `is_dead(identity)`. Only a
definite answer counts: the identity must come from this kernel boot and this PID
namespace (same machine, same container), and then the process is dead when its pid is
gone or now belongs to a process that started at another time (a reused pid). From
anywhere else (another host, another container, before a reboot) the answer is "cannot
tell", and the claim's lease decides as before.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

_PROC = Path("/proc")


@lru_cache(maxsize=1)
def _namespace() -> str | None:
    """This boot and PID namespace, or None where /proc does not tell (not Linux)."""
    try:
        boot = (_PROC / "sys/kernel/random/boot_id").read_text().strip()
        pid_ns = os.stat(_PROC / "self/ns/pid").st_ino
    except OSError:
        return None
    return f"{boot}/{pid_ns}"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    state, start = fields[0], fields[19]
    return None if state in ("Z", "X") else start  # a zombie has finished its work too


_identity: dict[int, str | None] = {}


def process_identity() -> str | None:
    """`<boot>/<pid namespace>:<pid>:<start time>` for this process (recomputed after a fork)."""
    pid = os.getpid()
    if pid not in _identity:
        namespace, start = _namespace(), _start_time(pid)
        _identity.clear()
        _identity[pid] = f"{namespace}:{pid}:{start}" if namespace and start else None
    return _identity[pid]


def is_dead(identity: str | None) -> bool:
    """True only when `identity` names a process of this machine and namespace that is gone."""
    if not identity or _namespace() is None:
        return False
    parts = identity.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _namespace() or not parts[1].isdigit():
        return False
    return _start_time(int(parts[1])) != parts[2]


def write_owned(path: Path, text: str) -> None:
    """Write `text` to `path` with this process's identity under it, so a reader can tell
    when the writer died without removing it (a SIGKILLed `jembatan up`, DECISIONS 493)."""
    path.write_text(f"{text}\n{process_identity() or ''}\n")


def read_owned(path: Path) -> str | None:
    """What `write_owned` put in `path`; None when it is missing or empty, or when its writer
    is definitely dead (then it names a server nobody runs). A file with no identity (written
    by hand, or where /proc does not tell) is believed, as before."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return None
    text = lines[0].strip() if lines else ""
    if not text or (len(lines) > 1 and is_dead(lines[1].strip())):
        return None
    return text
