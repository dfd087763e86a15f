"""Every example in README.md, run against a real server so the README cannot drift.

`sh` blocks are split into commands (backslash continuations joined) and each is run with
bash -o pipefail, with the venv's bin folder on PATH and `localhost:50051` replaced by the
test server's address (TEXTSTREAM_TARGET points there too). Skipped, by this rule only:
commands whose first word is `make`, and `textstream serve ...` (they install or start a
server). `python` blocks are run as scripts with the same substitution. Other blocks
(`console`, `toml`, ...) are not run.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys

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


@pytest.fixture(scope="module")
def bin_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The venv's bin folder, plus a `textstream` stand-in where the package is not installed
    (the console script exists after `make install`)."""
    folders = [str(BIN)]
    if not (BIN / "textstream").exists():
        shim = tmp_path_factory.mktemp("bin") / "textstream"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m client.cli "$@"\n')
        shim.chmod(0o755)
        folders.insert(0, str(shim.parent))
    return ":".join(folders)


async def run(args: list[str], target: str, bin_path: str) -> tuple[int, str, str]:
    env = cli_env(TEXTSTREAM_TARGET=target)
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
