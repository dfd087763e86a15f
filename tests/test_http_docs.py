"""/docs and /redoc work offline: every asset they load comes from this server, and loads."""

from __future__ import annotations

import re

import pytest

from tests.doubles import word_analyzers
from tests.http_servers import http_server

# URLs a page loads: src/href attributes, and the quoted URLs in Swagger UI's inline script.
_URLS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_docs_load_only_local_assets(page):
    async with http_server(word_analyzers()) as srv:
        async with srv.session.get(f"{srv.url}{page}") as response:
            assert response.status == 200
            html = await response.text()
        urls = {first or second for first, second in _URLS.findall(html)}
        assert any(url.endswith(".js") for url in urls), html
        # Nothing from a CDN (or any other host): the page must work with no network.
        assert not [url for url in urls if re.match(r"(?:[a-z]+:)?//", url)], urls
        for url in urls:
            async with srv.session.get(f"{srv.url}{url}") as asset:
                assert asset.status == 200, url
                assert await asset.read(), url
