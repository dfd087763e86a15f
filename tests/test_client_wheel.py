"""The client distribution alone: its wheel, built from the checkout's files, installs into a
fresh virtual environment without torch or the server, and its `textstream` talks to a server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.cli_runner import ROOT
from tests.processes import doubles_server
from tests.streams import REVIEW

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# What the client must not bring: the server's packages, the models' libraries, and the
# generic top-level names this repository used to install.
ABSENT = ("torch", "transformers", "spacy", "server", "analyzers", "client", "protos", "tests")

PROBE = """
import importlib.util, json, sys
from textstream_client import ClientOptions, SyncTextStreamClient  # noqa: F401
from textstream_client.protos import textstream_pb2 as pb
print(json.dumps({
    "importable": [name for name in sys.argv[1:] if importlib.util.find_spec(name)],
    "proto_file": pb.DESCRIPTOR.name,
}))
"""


def _run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH and no repository on the path: only what the environment itself has.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TEXTSTREAM_TARGET")}
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _checkout_files(folder: str) -> list[str]:
    """The folder's files that git tracks or would track: what a clean clone has."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", folder],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the client wheel and its dependencies, and nothing else."""
    work = tmp_path_factory.mktemp("client-wheel")
    # Built from a copy of the checkout's files, so nothing ignored by git (a stale build/,
    # an egg-info) can make the wheel, and the build leaves nothing in the checkout.
    source = work / "source"
    for name in _checkout_files("client"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    wheels = work / "wheels"
    built = _run(
        *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet"),
        *("--wheel-dir", wheels, source / "client"),
        cwd=work,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = wheels.glob("textstream_client-*.whl")
    env = work / "venv"
    venv.create(env, with_pip=True)
    installed = _run(env / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=work)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return env


def test_the_wheel_brings_the_client_and_nothing_of_the_server(client_venv):
    probe = _run(client_venv / "bin" / "python", "-I", "-c", PROBE, *ABSENT, cwd=client_venv)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert found["importable"] == []
    # The wire contract's file name, which reflection and buf rely on, survives the move.
    assert found["proto_file"] == "protos/textstream.proto"


def test_its_textstream_command_talks_to_a_server(client_venv):
    textstream = client_venv / "bin" / "textstream"
    server = doubles_server(0.0, "http_enabled=false", "metrics_enabled=false")
    try:
        target = f"127.0.0.1:{server.wait_for('listening')['port']}"
        server.wait_for("serving")
        health = _run(textstream, "health", "--target", target, cwd=client_venv, timeout=60)
        assert (health.returncode, health.stdout.strip()) == (0, "SERVING"), health.stderr
        processed = _run(
            *(textstream, "process", REVIEW, "--entities", "-o", "json", "--target", target),
            cwd=client_venv,
            timeout=60,
        )
        assert processed.returncode == 0, processed.stderr
        result = json.loads(processed.stdout)
        assert result["sentiment"]["chunks"]
        assert result["summary"]["text"]
    finally:
        server.stop()


def test_serve_is_not_there_and_says_where_it_is(client_venv):
    textstream = client_venv / "bin" / "textstream"
    listed = _run(textstream, "--help", cwd=client_venv, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "process" in listed.stdout
    assert not re.search(r"\bserve\b", listed.stdout)
    serve = _run(textstream, "serve", "--port", "0", cwd=client_venv, timeout=60)
    assert serve.returncode == 2
    assert "install the `textstream` distribution" in serve.stderr
