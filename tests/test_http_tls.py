"""The HTTP API takes the gRPC server's TLS settings: one certificate for both transports."""

from __future__ import annotations

import ssl

import aiohttp
import pytest

from tests.certs import CertificateAuthority
from tests.doubles import word_analyzers
from tests.http_servers import http_server, read_all
from tests.streams import REVIEW


def _context(ca: CertificateAuthority, client=None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.pem.cert))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    return context


async def _stream_completes(srv, context: ssl.SSLContext) -> bool:
    url = f"https://localhost:{srv.port}/process-stream"
    async with srv.session.post(url, json={"text": REVIEW}, ssl=context) as response:
        return (await read_all(response))[-1]["status"] == "completed"


async def test_tls_serves_https_and_refuses_plaintext(tmp_path):
    ca = CertificateAuthority(tmp_path)
    server = ca.issue("server", server=True)
    async with http_server(
        word_analyzers(), tls_cert_file=server.cert, tls_key_file=server.key
    ) as srv:
        assert await _stream_completes(srv, _context(ca))
        with pytest.raises(aiohttp.ClientError):
            async with srv.session.get(f"{srv.url}/healthz") as response:
                await response.read()


async def test_mutual_tls_needs_a_client_certificate_from_the_ca(tmp_path):
    ca = CertificateAuthority(tmp_path)
    stranger = CertificateAuthority(tmp_path, "unrelated CA").issue("stranger", server=False)
    server = ca.issue("server", server=True)
    settings = {
        "tls_cert_file": server.cert,
        "tls_key_file": server.key,
        "tls_client_ca_file": ca.pem.cert,
    }
    async with http_server(word_analyzers(), **settings) as srv:
        for client in (None, stranger):
            with pytest.raises(aiohttp.ClientError):
                await _stream_completes(srv, _context(ca, client))
        assert await _stream_completes(srv, _context(ca, ca.issue("client", server=False)))
