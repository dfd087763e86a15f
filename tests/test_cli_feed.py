"""`textstream feed` through a real server: JSON Lines or files in, one result line per document."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import sys

from tests.cli_runner import ROOT, cli_env, textstream
from tests.doubles import word_analyzers
from tests.streams import REVIEW
from tests.test_cli import _read_all

SHORT = "A short and happy text."


def outcomes(out: str) -> dict[str, dict]:
    return {line["id"]: line for line in map(json.loads, out.splitlines())}


async def test_jsonl_from_stdin_with_options_per_document(serve):
    lines = [
        {"id": "a", "text": REVIEW, "include_entities": True},
        {"id": "b", "text": SHORT, "chunk_size": 50},
        {"text": SHORT},  # no id: its position
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    async with serve(word_analyzers()) as srv:
        result = await textstream("feed", "--target", srv.target, "--no-summary", stdin=stdin)
    assert result.code == 0, result.err
    answers = outcomes(result.out)
    assert set(answers) == {"a", "b", "2"}
    assert answers["a"]["result"]["entities"]["total"] > 0
    assert "summary" not in answers["b"]["result"]
    assert "feed: 3 documents, 3 results, 0 errors" in result.err


async def test_files_and_a_failed_document_exit_9(serve, tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text(REVIEW, encoding="utf-8")
    bad.write_text("too short", encoding="utf-8")
    async with serve(word_analyzers()) as srv:
        result = await textstream("feed", "--files", str(good), str(bad), "--target", srv.target)
    assert result.code == 9, result.err
    answers = outcomes(result.out)
    assert "sentiment" in answers["good.txt"]["result"]
    error = answers["bad.txt"]["error"]
    assert error["code"] == 3
    assert error["details"][0]["field_violations"][0]["field"] == "request.text"


async def test_a_line_that_is_no_document_ends_the_input_there(serve, tmp_path):
    source = tmp_path / "docs.jsonl"
    source.write_text(f'{{"id": "a", "text": "{SHORT}"}}\nnot json\n{{"text": "{SHORT}"}}\n')
    async with serve(word_analyzers()) as srv:
        result = await textstream("feed", str(source), "--target", srv.target)
    assert result.code == 2
    assert list(outcomes(result.out)) == ["a"]
    assert "line 2: not JSON" in result.err


async def test_progress_on_a_terminal_goes_to_stderr(serve, tmp_path):
    documents = [tmp_path / f"doc{n}.txt" for n in range(3)]
    for path in documents:
        path.write_text(REVIEW, encoding="utf-8")
    output = tmp_path / "out.jsonl"
    leader, follower = pty.openpty()
    async with serve(word_analyzers()) as srv:
        with output.open("w") as stdout:
            proc = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "textstream_client.cli", "feed", "--files"),
                *map(str, documents),
                *("--target", srv.target),
                cwd=ROOT,
                env=cli_env(TERM="xterm-256color", COLUMNS="100"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=follower,
            )
            os.close(follower)
            screen = await asyncio.to_thread(_read_all, leader)
            code = await proc.wait()
    assert code == 0, screen
    assert "3/3" in screen
    assert "0 failed" in screen
    # The results alone on stdout, no escape codes among them.
    assert set(outcomes(output.read_text())) == {"doc0.txt", "doc1.txt", "doc2.txt"}
