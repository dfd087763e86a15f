"""The OpenAPI document: the configured bounds, and a bounded schemathesis run with no 5xx."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.doubles import EchoGenerator, word_analyzers
from tests.http_servers import http_server

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def test_openapi_documents_the_configured_bounds():
    settings = {"max_text_chars": 300, "max_chunk_size": 120, "default_chunk_size": 80}
    async with (
        http_server(word_analyzers(), **settings) as srv,
        srv.session.get(f"{srv.url}/openapi.json") as response,
    ):
        schema = await response.json()
    process = schema["components"]["schemas"]["ProcessRequest"]["properties"]
    assert (process["text"]["minLength"], process["text"]["maxLength"]) == (10, 300)
    chunk = process["chunk_size"]
    assert (chunk["minimum"], chunk["maximum"], chunk["default"]) == (50, 120, 80)
    assert process["include_entities"]["default"] is False
    paths = schema["paths"]
    assert set(paths) == {
        "/process-stream",
        "/process-batch",
        "/process-feed",
        "/generate-stream",
        "/healthz",
        "/readyz",
    }
    stream = paths["/process-stream"]["post"]["responses"]
    assert "application/x-ndjson" in stream["200"]["content"]
    assert {"422", "429", "503"} <= set(stream)


async def test_docs_page_is_served():
    async with (
        http_server(word_analyzers()) as srv,
        srv.session.get(f"{srv.url}/docs") as response,
    ):
        assert response.status == 200
        assert "swagger" in (await response.text()).lower()


@pytest.mark.slow
async def test_schemathesis_finds_no_server_errors(tmp_path):
    analyzers = word_analyzers(generator=EchoGenerator())
    async with http_server(analyzers) as srv:
        process = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            "run",
            f"{srv.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "25",
            "--workers",
            "1",
            "--request-timeout",
            "10",
            # Its body is NDJSON, which schemathesis cannot write, and a bad line is answered
            # on its own line of a 200 by design; its lines are validated by the code that
            # validates /process-batch's bodies, fuzzed here (tests/test_http_feed.py: lines).
            "--exclude-path",
            "/process-feed",
            "--no-color",
            cwd=tmp_path,  # its cassettes and caches stay out of the repository
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 240)
        report = out.decode()
        print(report)
        assert process.returncode == 0, report
        assert srv.state.inflight == 0
