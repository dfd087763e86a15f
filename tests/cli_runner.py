"""Runs the `textstream` command as a subprocess, off the event loop that serves it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Variables that would change what the command prints or where it connects.
_DROPPED = ("TEXTSTREAM_TARGET", "TEXTSTREAM_TOKEN", "FORCE_COLOR", "TTY_COMPATIBLE")


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def sigint_default() -> None:
    """In the child before exec: a SIGINT ignored by whoever started the tests is restored,
    so Python raises KeyboardInterrupt on it as it does in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def textstream(*args: str, stdin: str | None = None, limit: float = 60) -> Result:
    """`python -m textstream_client.cli ARGS`, as the `textstream` console script runs it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "textstream_client.cli",
        *args,
        cwd=ROOT,
        env=cli_env(),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        proc.communicate(stdin.encode() if stdin is not None else None), limit
    )
    return Result(proc.returncode or 0, out.decode(), err.decode())
