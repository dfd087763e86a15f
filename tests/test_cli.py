"""The `textstream` command through a real server: outputs, exit statuses, errors."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import socket
import sys

from google.protobuf import json_format
from textstream_client.protos import textstream_pb2 as pb

from tests.certs import CertificateAuthority
from tests.cli_runner import ROOT, cli_env, textstream
from tests.doubles import BlockedSummarizer, EchoGenerator, word_analyzers
from tests.streams import REVIEW, case


def kind(update: dict) -> str:
    return next(k for k in update if k not in ("sequence", "elapsed_seconds"))


async def test_jsonl_prints_one_parseable_update_per_line(serve):
    async with serve(word_analyzers()) as srv:
        result = await textstream(
            "process",
            REVIEW,
            "--entities",
            "--chunk-size",
            "80",
            "-o",
            "jsonl",
            "--target",
            srv.target,
        )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    updates = [json.loads(line) for line in lines]
    assert [int(u.get("sequence", 0)) for u in updates] == list(range(len(updates)))
    assert kind(updates[0]) == "started"
    assert kind(updates[-1]) == "completed"
    kinds = [kind(u) for u in updates]
    assert kinds.count("sentiment_progress") == updates[2]["chunked"]["chunk_count"]
    assert {"summary_delta", "summary", "entities"} <= set(kinds)
    # Each is a StageUpdate as protobuf JSON, with the .proto's field names.
    for line in lines:
        json_format.Parse(line, pb.StageUpdate())


async def test_json_prints_the_process_response(serve):
    async with serve(word_analyzers()) as srv:
        result = await textstream("process", REVIEW, "-o", "json", "--target", srv.target)
    assert result.code == 0, result.err
    response = json_format.Parse(result.out, pb.ProcessResponse())
    assert response.request_id
    assert response.sentiment.chunks
    assert response.summary.text
    assert not response.HasField("entities")


async def test_text_from_stdin_and_from_a_file(serve, tmp_path):
    path = tmp_path / "review.txt"
    path.write_text(REVIEW, encoding="utf-8")
    async with serve(word_analyzers()) as srv:
        piped = await textstream("process", "-", "-o", "json", "-t", srv.target, stdin=REVIEW)
        filed = await textstream("process", "--file", str(path), "-o", "json", "-t", srv.target)
    for result in (piped, filed):
        assert result.code == 0, result.err
        assert json.loads(result.out)["sentiment"]["chunks"]


async def test_invalid_request_exits_3_naming_the_field(serve):
    async with serve(word_analyzers()) as srv:
        short = await textstream("process", "too short", "--target", srv.target)
        chunk = await textstream(
            "process", REVIEW, "--chunk-size", "10", "-o", "jsonl", "--target", srv.target
        )
    assert short.code == 3
    assert "INVALID_ARGUMENT" in short.err
    assert "  text: must be at least 10 characters" in short.err
    assert chunk.code == 3
    assert "  chunk_size: must be between 50 and 500" in chunk.err
    assert chunk.out == ""


async def test_usage_errors_exit_2():
    missing = await textstream("process")
    both = await textstream("process", "some text here", "--file", __file__)
    assert missing.code == 2
    assert "TEXT" in missing.err
    assert both.code == 2


async def test_health_exits_0_only_when_serving(serve):
    async with serve(word_analyzers()) as srv:
        serving = await textstream("health", "--target", srv.target)
    async with serve(None) as loading:
        not_serving = await textstream("health", "--target", loading.target)
    assert serving.code == 0
    assert serving.out.strip() == "SERVING"
    assert not_serving.code == 8
    assert not_serving.out.strip() == "NOT_SERVING"


async def test_unreachable_server_exits_4():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    result = await textstream("health", "--target", f"127.0.0.1:{port}")
    assert result.code == 4
    assert "UNAVAILABLE" in result.err


async def test_deadline_exits_5(serve):
    blocked = BlockedSummarizer()
    try:
        async with serve(word_analyzers(summarizer=blocked)) as srv:
            result = await textstream("process", REVIEW, "--timeout", "0.5", "--target", srv.target)
    finally:
        blocked.release.set()
    assert result.code == 5
    assert "DEADLINE_EXCEEDED" in result.err


async def test_overload_exits_6_with_the_retry_hint(serve):
    blocked = BlockedSummarizer()
    try:
        async with serve(word_analyzers(summarizer=blocked), max_concurrent_streams=1) as srv:
            call = srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW))
            assert case(await call.read()) == "started"
            result = await textstream("process", REVIEW, "-o", "json", "--target", srv.target)
            call.cancel()
    finally:
        blocked.release.set()
    assert result.code == 6
    assert "RESOURCE_EXHAUSTED" in result.err
    assert "retry after 1s" in result.err


async def test_token_is_sent_and_missing_token_exits_7(serve):
    async with serve(word_analyzers(), auth_tokens=["s3cret"]) as srv:
        refused = await textstream("process", REVIEW, "-o", "jsonl", "--target", srv.target)
        allowed = await textstream(
            "process", REVIEW, "-o", "json", "--target", srv.target, "--token", "s3cret"
        )
    assert refused.code == 7
    assert "UNAUTHENTICATED" in refused.err
    assert allowed.code == 0, allowed.err


async def test_mutual_tls_options(serve, tmp_path):
    ca = CertificateAuthority(tmp_path)
    server, client = ca.issue("server", server=True), ca.issue("client", server=False)
    tls = {"tls_cert_file": server.cert, "tls_key_file": server.key}
    async with serve(word_analyzers(), tls_client_ca_file=ca.pem.cert, **tls) as srv:
        secure = ["--target", f"localhost:{srv.port}", "--ca-file", str(ca.pem.cert)]
        mutual = [*secure, "--cert-file", str(client.cert), "--key-file", str(client.key)]
        health = await textstream("health", *mutual)
        processed = await textstream("process", REVIEW, "-o", "json", "--gzip", *mutual)
        no_client_cert = await textstream("health", *secure)
        half = await textstream("health", *secure, "--cert-file", str(client.cert))
    assert health.code == 0, health.err
    assert processed.code == 0, processed.err
    assert json.loads(processed.out)["sentiment"]["chunks"]
    assert no_client_cert.code == 4
    assert half.code == 2
    assert "key_file" in half.err


async def test_pretty_without_a_terminal_prints_plain_lines(serve):
    async with serve(word_analyzers()) as srv:
        result = await textstream(
            "process", REVIEW, "--entities", "--chunk-size", "100", "--target", srv.target
        )
    assert result.code == 0, result.err
    assert "\x1b" not in result.out
    lines = result.out.splitlines()
    assert lines[0].startswith("started ")
    assert any(line.startswith("sentiment  1/") for line in lines)
    assert any(line.startswith("summary +  ") for line in lines)
    assert any(line.startswith("entities   ") and "Acme (ORG)" in line for line in lines)
    assert lines[-1].startswith("completed ")
    assert "sentiment" in lines[-1]


async def test_pretty_on_a_terminal_draws_the_live_view(serve):
    leader, follower = pty.openpty()
    async with serve(word_analyzers()) as srv:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "textstream_client.cli",
            "process",
            REVIEW,
            "--entities",
            "--target",
            srv.target,
            cwd=ROOT,
            env=cli_env(TERM="xterm-256color", COLUMNS="100"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        screen = await asyncio.to_thread(_read_all, leader)
        code = await proc.wait()
    assert code == 0, screen
    assert "\x1b[" in screen
    for shown in ("sentiment", "summary", "entities (", "Acme", "completed in"):
        assert shown in screen


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's last writer has gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


async def test_generate_streams_text(serve):
    async with serve(word_analyzers(generator=EchoGenerator())) as srv:
        result = await textstream(
            "generate",
            "the quick brown fox jumps",
            "--max-new-tokens",
            "4",
            "--target",
            srv.target,
        )
        stopped = await textstream(
            "generate",
            "the quick brown fox jumps",
            "--stop",
            "fox",
            "--stop",
            "zzz",
            "-o",
            "jsonl",
            "--target",
            srv.target,
        )
    assert result.code == 0, result.err
    assert result.out == "the quick brown fox\n"
    assert "length, 4 tokens" in result.err
    assert stopped.code == 0, stopped.err
    updates = [json.loads(line) for line in stopped.out.splitlines()]
    assert updates[-1]["completed"]["finish_reason"] == "FINISH_REASON_STOP"


async def test_generate_without_a_generator_exits_1(serve):
    async with serve(word_analyzers()) as srv:
        result = await textstream("generate", "hello", "--target", srv.target)
    assert result.code == 1
    assert "FAILED_PRECONDITION" in result.err


async def test_help_lists_the_commands():
    result = await textstream("--help")
    assert result.code == 0
    for command in ("process", "generate", "health", "feed", "serve"):
        assert command in result.out
    process_help = await textstream("process", "--help")
    assert "Exit status" in process_help.out
