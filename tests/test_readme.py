"""Every example in README.md, run against a real server so the README cannot drift.

`sh` blocks are split into commands (backslash continuations joined) and each is run with
bash -o pipefail, with the venv's bin folder on PATH and `localhost:50051` replaced by the
test server's address (TEXTSTREAM_TARGET points there too). Skipped, by this rule only:
commands whose first word is `make`, and `textstream serve ...` (they install or start a
server). `python` blocks are run as scripts with the same substitution. `js` blocks are run
with node, from the repository root, against examples/node's packages (installed here with
`npm ci` from its package-lock.json when missing or stale); without node or npm they are
skipped, except in CI (CI=true), where that fails. Other blocks (`console`, `toml`, ...) are
not run.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import BIN, ROOT, cli_env
from tests.doubles import EchoGenerator, word_analyzers
from tests.http_servers import http_server

README = (ROOT / "README.md").read_text(encoding="utf-8")
ADDRESS = "localhost:50051"
HTTP_ADDRESS = "localhost:8000"

# What a command's output must show, by a pattern its text matches.
EXPECTED = [
    (r"grpcurl .* list$", "textstream.v1.TextProcessor"),
    (r"describe textstream\.v1\.StageUpdate", "SentimentProgress sentiment_progress"),
    (r"TextProcessor/ProcessStream", '"completed"'),
    (r"TextProcessor/ProcessFeed", '"summary"'),
    (r"textstream feed", '"result"'),
    (r"curl .*process-feed", '"summary"'),
    (r"curl .*process-stream", '"status":"completed"'),
    (r"curl .*process-batch", '"processing_time"'),
    (r"curl .*readyz", '"ready"'),
    (r"Health/Check", '"status": "SERVING"'),
    (r"^textstream health", "SERVING"),
    (r"^textstream process --entities", "completed "),
    (r"--output jsonl", '"progress"'),
    (r"--output json ", '"label"'),
    (r"^textstream generate", "Once upon a time"),
]


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)


def commands(block: str) -> list[str]:
    found: list[str] = []
    pending = ""
    for line in block.splitlines():
        pending += line + "\n"
        if not line.endswith("\\"):
            if pending.strip() and not pending.lstrip().startswith("#"):
                found.append(pending.strip())
            pending = ""
    return found


def skipped(command: str) -> bool:
    return command.split()[0] == "make" or command.startswith("textstream serve")


SH_COMMANDS = [c for block in blocks("sh") for c in commands(block) if not skipped(c)]
PYTHON_BLOCKS = blocks("python")
JS_BLOCKS = blocks("js")
NODE_EXAMPLE = ROOT / "examples" / "node"
# What each Node.js example must print: the stream's entities sliced right and the decoded
# BadRequest; the feed's results, the error of its bad document and its summary.
JS_EXPECTED = ["ORG Acme", "ORG Berlin", "completed in", "INVALID_ARGUMENT text: must be at least"]
FEED_JS_EXPECTED = [
    "long: SENTIMENT_LABEL_POSITIVE",
    "short: SENTIMENT_LABEL_POSITIVE",
    "bad: error 3",
    "summary: 3 accepted, 2 finished, 1 failed",
]


@pytest.fixture(scope="module")
def bin_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The venv's bin folder, plus a `textstream` stand-in where the package is not installed
    (the console script exists after `make install`)."""
    folders = [str(BIN)]
    if not (BIN / "textstream").exists():
        shim = tmp_path_factory.mktemp("bin") / "textstream"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m textstream_client.cli "$@"\n')
        shim.chmod(0o755)
        folders.insert(0, str(shim.parent))
    return ":".join(folders)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _npm_ci(folder: Path) -> Path:
    """folder/node_modules, installed by `npm ci` unless it already matches the lock file."""
    lock = folder / "package-lock.json"
    modules = folder / "node_modules"
    stamp = modules / ".textstream-installed"
    digest = hashlib.sha256((folder / "package.json").read_bytes() + lock.read_bytes()).hexdigest()
    # One install at a time across processes (npm ci empties node_modules first); npm ci
    # never writes the lock file, so it can carry the lock.
    with lock.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not stamp.exists() or stamp.read_text() != digest:
            args = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
            done = subprocess.run(
                args, cwd=folder, capture_output=True, text=True, timeout=600, check=False
            )
            assert done.returncode == 0, f"npm ci in {folder} failed:\n{done.stdout}{done.stderr}"
            stamp.write_text(digest)
    return modules


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """examples/node/node_modules for the README's js blocks (skip without node, but not in CI)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not installed (Debian: apt-get install nodejs npm)"
        if in_ci():
            pytest.fail(f"{reason}: CI must run the README's Node.js example")
        pytest.skip(reason)
    return _npm_ci(NODE_EXAMPLE)


async def run(
    args: list[str], target: str, bin_path: str, **extra_env: str
) -> tuple[int, str, str]:
    env = cli_env(TEXTSTREAM_TARGET=target, **extra_env)
    env["PATH"] = f"{bin_path}:{env['PATH']}"
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def test_readme_has_every_recipe():
    for pattern, _ in EXPECTED:
        assert any(re.search(pattern, c, re.MULTILINE) for c in SH_COMMANDS), pattern
    assert len(PYTHON_BLOCKS) >= 2
    # The Node.js example: the loader options that work, UTF-16 offsets, the rich error model.
    assert len(JS_BLOCKS) >= 1
    example = "".join(JS_BLOCKS)
    needed = ("keepCase", "longs", "enums", "defaults", "oneofs", "OFFSET_UNIT_UTF16")
    for word in (*needed, "substring", "grpc-status-details-bin"):
        assert word in example, word
    # The first commands in the file are still `make run` and `make test`.
    first = commands(blocks("sh")[0])
    assert [c.split("#")[0].strip() for c in first[:2]] == ["make run", "make test"]


@pytest.mark.parametrize("command", SH_COMMANDS, ids=lambda c: c.split("\n")[0][:60])
async def test_readme_shell_command(serve, bin_path, command):
    if re.search(r"\|\s*jq\b", command) and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    async with http_server(word_analyzers(generator=EchoGenerator())) as srv:
        target = srv.grpc.target
        script = command.replace(ADDRESS, target).replace(HTTP_ADDRESS, f"127.0.0.1:{srv.port}")
        code, out, err = await run(["bash", "-o", "pipefail", "-c", script], target, bin_path)
    assert code == 0, f"{script}\nstdout: {out}\nstderr: {err}"
    assert out.strip(), err
    assert "\x1b" not in out
    for pattern, shown in EXPECTED:
        if re.search(pattern, command, re.MULTILINE):
            assert shown in out, f"{command}: {shown!r} not in {out}"


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
async def test_readme_python_example(serve, bin_path, index):
    async with serve(word_analyzers()) as srv:
        code = PYTHON_BLOCKS[index].replace(ADDRESS, srv.target)
        code, out, err = await run([sys.executable, "-c", code], srv.target, bin_path)
    assert code == 0, err
    assert out.strip()
    if "process_stream" in PYTHON_BLOCKS[index]:
        assert "completed" in out or "100%" in out


@pytest.mark.parametrize("index", range(len(JS_BLOCKS)))
async def test_readme_js_example(serve, node_modules, tmp_path, index):
    # Written outside the repository (no package.json above it: CommonJS); NODE_PATH finds the
    # packages as they would be found from examples/node, and the cwd the .proto.
    script = tmp_path / "client.js"
    async with serve(word_analyzers()) as srv:
        script.write_text(JS_BLOCKS[index].replace(ADDRESS, srv.target), encoding="utf-8")
        code, out, err = await run(
            ["node", str(script)], srv.target, str(BIN), NODE_PATH=str(node_modules)
        )
    assert code == 0, f"stdout: {out}\nstderr: {err}"
    expected = FEED_JS_EXPECTED if "client.ProcessFeed(" in JS_BLOCKS[index] else JS_EXPECTED
    for shown in expected:
        assert shown in out, f"{shown!r} not in {out}"
