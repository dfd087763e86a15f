"""The live page at / in headless Chromium: it streams, colours, highlights, and stays safe."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncGenerator

from tests.doubles import (
    FailingSentiment,
    LeadSentencesSummarizer,
    WordListSentiment,
    word_analyzers,
)
from tests.http_browser import OUTPUT, browser_page, needs_chromium
from tests.http_servers import http_server
from tests.streams import REVIEW, steady, until

pytestmark = needs_chromium


class GatedSummarizer(LeadSentencesSummarizer):
    """The lead-sentences summary, held back until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()

    async def summarize(self, text: str) -> AsyncGenerator[str, None]:
        await self.gate.wait()
        async for piece in super().summarize(text):
            yield piece


def _console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def _screenshot(page, tmp_path, name: str) -> None:
    path = tmp_path / name
    await page.screenshot(path=str(path), full_page=True)
    OUTPUT.mkdir(exist_ok=True)
    shutil.copy(path, OUTPUT / name)  # for a human to look at


async def test_the_page_streams_an_analysis_into_view(tmp_path):
    gated = GatedSummarizer()
    async with http_server(word_analyzers(summarizer=gated)) as srv, browser_page() as page:
        errors = _console_errors(page)
        await page.goto(f"{srv.url}/")
        await page.fill("#text", REVIEW)
        await page.fill("#chunk_size", "50")
        # Keyboard only: focus the button and press Enter.
        await page.focus("#analyze")
        await page.keyboard.press("Enter")

        # The sentiment chunks fill the bar while the summary model is still held.
        bar = page.locator("#progress")
        await page.wait_for_function(
            "() => { const bar = document.getElementById('progress');"
            " return bar.children.length > 0 &&"
            " bar.getAttribute('aria-valuenow') === bar.getAttribute('aria-valuemax'); }"
        )
        assert await page.text_content("#summary") == ""
        assert await page.get_attribute("#status", "data-state") == "running"
        gated.gate.set()
        await page.wait_for_selector('#status[data-state="done"]')

        chunks = int(await bar.get_attribute("aria-valuemax"))
        assert chunks > 3
        assert await bar.get_attribute("aria-valuenow") == str(chunks)
        assert await page.locator(".segment[data-sentiment]").count() == chunks
        coloured = await page.locator("#document .chunk[data-sentiment]").count()
        assert coloured >= chunks
        assert await page.text_content("#summary") == (
            "I love this phone. The screen is excellent and the battery is great."
        )
        assert (await page.text_content("#overall")).startswith("Overall:")
        marks = await page.locator("#document mark.entity").all_text_contents()
        assert {"Acme", "Berlin"} <= set(marks)
        assert "ORG" in await page.text_content("#legend")
        # The analysed text is shown whole, in order, around the highlights.
        assert await page.text_content("#document") == REVIEW
        timings = await page.locator("#timings tr").all_inner_texts()
        assert len(timings) == 5  # chunking, sentiment, summary, entities, total
        assert all("done" in row for row in timings)
        assert (await page.text_content("#status")).startswith("Done in")
        await _screenshot(page, tmp_path, "live-page.png")
        assert errors == []


async def test_the_page_fits_a_phone(tmp_path):
    async with (
        http_server(word_analyzers()) as srv,
        browser_page(width=390, height=844) as page,
    ):
        await page.goto(f"{srv.url}/")
        await page.fill("#text", REVIEW)
        await page.uncheck("#include_sentiment")
        await page.focus("#text")
        await page.keyboard.press("Control+Enter")
        await page.wait_for_selector('#status[data-state="done"]')
        assert await page.text_content("#progress-text") == "Sentiment was not requested."
        await page.check("#include_sentiment")
        await page.click("#analyze")
        await page.wait_for_selector('.segment[data-sentiment="NEGATIVE"]')
        await page.wait_for_selector('#status[data-state="done"]')
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        await _screenshot(page, tmp_path, "live-page-phone.png")


async def test_text_from_the_user_is_never_markup():
    hostile = (
        'Dear <img src=x onerror="window.pwned=1"> team, <b>Acme</b> was '
        "<script>window.pwned=2</script> great & <i>fine</i>."
    )
    async with http_server(word_analyzers()) as srv, browser_page() as page:
        await page.goto(f"{srv.url}/")
        await page.fill("#text", hostile)
        await page.click("#analyze")
        await page.wait_for_selector('#status[data-state="done"]')
        assert await page.evaluate("window.pwned") is None
        assert await page.locator("#document img, #document b, #document script").count() == 0
        assert await page.text_content("#document") == hostile
        assert (await page.text_content("#summary")).startswith('Dear <img src=x onerror="')


async def test_errors_are_shown_where_they_belong():
    async with (
        http_server(word_analyzers(sentiment=FailingSentiment())) as srv,
        browser_page() as page,
    ):
        await page.goto(f"{srv.url}/")
        await page.fill("#text", "too short")
        await page.fill("#chunk_size", "10")
        await page.click("#analyze")
        await page.wait_for_selector('#status[data-state="error"]')
        assert "at least 10" in await page.text_content("#text-error")
        assert await page.get_attribute("#text", "aria-invalid") == "true"
        assert "between 50 and 500" in await page.text_content("#chunk_size-error")
        assert "Please fix" in await page.text_content("#request-error")

        await page.fill("#text", REVIEW)
        await page.fill("#chunk_size", "100")
        await page.click("#analyze")
        await page.wait_for_selector('#status[data-state="done"]')
        assert await page.is_hidden("#text-error")
        assert await page.get_attribute("#text", "aria-invalid") is None
        assert "sentiment model failed" in await page.text_content("#sentiment-error")
        sentiment_row = await page.locator('#timings tr[data-stage="sentiment"]').inner_text()
        assert "failed" in sentiment_row
        assert (await page.text_content("#summary")).startswith("I love this phone.")


async def test_stop_cancels_the_work_on_the_server():
    sentiment = WordListSentiment(delay=0.05)
    long_text = "good words here and there. " * 150
    async with (
        http_server(word_analyzers(sentiment=sentiment)) as srv,
        browser_page() as page,
    ):
        await page.goto(f"{srv.url}/")
        await page.fill("#text", long_text)
        await page.fill("#chunk_size", "50")
        await page.click("#analyze")
        await page.wait_for_selector(".segment[data-sentiment]")
        await page.click("#stop")
        await page.wait_for_selector('#status[data-state="stopped"]')
        await until(lambda: srv.state.inflight == 0)
        stopped_at = await steady(lambda: sentiment.processed, quiet=0.5)  # 10 chunks' time
        assert 0 < stopped_at < 150
        assert await page.is_enabled("#analyze")
