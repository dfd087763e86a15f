"""The NDJSON API's published client examples (curl, aiohttp loop, browser fetch reader)
against this server."""

# Each runs as it was published, with only the address changed, and prints the events in order.

from __future__ import annotations

import asyncio
import json
import shutil
import sys

import pytest

from tests.doubles import word_analyzers
from tests.http_browser import browser_page, needs_chromium
from tests.http_servers import http_server
from tests.ndjson_examples import AIOHTTP, BROWSER, CURL, at

FIRST = ["started", "chunking", "chunked"]


async def _run(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


def _in_stage_order(names: list[str], stage: str) -> None:
    assert names.index(f"{stage}_processing") < names.index(f"{stage}_complete")


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
async def test_the_example_curl_command_streams_every_event():
    async with http_server(word_analyzers()) as srv:
        out = await _run("bash", "-c", at(CURL, srv.url))
    print(out)
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    names = [event["status"] for event in events]
    assert names[:3] == FIRST
    assert names[-1] == "completed"
    for stage in ("sentiment", "summarization", "entities"):
        _in_stage_order(names, stage)
    assert names.count("sentiment_progress") == events[2]["chunks"]


async def test_the_example_aiohttp_loop_prints_each_status(tmp_path):
    async with http_server(word_analyzers()) as srv:
        script = tmp_path / "example_client.py"
        script.write_text(at(AIOHTTP, srv.url))
        out = await _run(sys.executable, str(script))
    print(out)
    printed = out.splitlines()
    assert printed[:3] == [
        "[started] Beginning text processing...",
        "[chunking] Splitting text into chunks...",
        "[chunked] Split into 4 chunks",
    ]
    assert printed[-1] == "[completed] All processing complete!"
    # The example loop prints the result of each stage after its status line.
    overall = printed.index("[sentiment_complete] Overall sentiment: NEUTRAL")
    assert printed[overall + 1] == "Overall sentiment: NEUTRAL"
    summary = printed.index("[summarization_complete] Summary complete")
    assert printed[summary + 1].startswith("Summary: Artificial intelligence is rapidly")
    entities = next(i for i, line in enumerate(printed) if line.startswith("[entities_complete]"))
    assert printed[entities + 1] == "Found 5 entities"
    assert sum(line.startswith("[sentiment_progress]") for line in printed) == 4


@needs_chromium
async def test_the_example_browser_reader_logs_each_status():
    async with http_server(word_analyzers()) as srv, browser_page() as page:
        logged: list[str] = []
        page.on("console", lambda message: logged.append(message.text))
        # A page of this origin, so the example's relative fetch('/process-stream') reaches us.
        await page.goto(f"{srv.url}/")
        await page.add_script_tag(content=at(BROWSER, srv.url))
        await page.evaluate("streamTextProcessing()")
        status = await page.text_content("#status")
    print("\n".join(logged))
    names = [line.split("]", 1)[0].lstrip("[") for line in logged]
    assert names[:3] == FIRST
    assert names[-1] == "completed"
    assert logged[0] == "[started] Beginning text processing..."
    assert "sentiment_complete" in names
    assert "summarization_skipped" in names  # the example's 17-character text is too short
    # The example's updateProgressUI wrote the last message into #status.
    assert status == "All processing complete!"
