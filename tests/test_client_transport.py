"""Client transport options: retries (unary only), gzip, TLS and mutual TLS, bearer tokens."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import grpc
import pytest
from textstream_client import ClientOptions, SyncTextStreamClient, TextStreamClient

from tests.certs import CertificateAuthority
from tests.client_servers import CountingProxy, FlakyServer
from tests.doubles import word_analyzers
from tests.streams import REVIEW, case


async def test_unary_calls_are_retried_on_unavailable():
    flaky = FlakyServer(failures=2)
    async with flaky.running() as port, TextStreamClient(f"127.0.0.1:{port}") as client:
        response = await client.process(REVIEW)
        assert await client.health() == "SERVING"
    assert response.request_id == "attempt-3"
    assert flaky.attempts["Process"] == 3
    assert flaky.attempts["Check"] == 3


async def test_sync_unary_calls_are_retried_on_unavailable():
    flaky = FlakyServer(failures=1)
    async with flaky.running() as port:

        def process() -> str:
            with SyncTextStreamClient(f"127.0.0.1:{port}") as client:
                return client.process(REVIEW).request_id

        assert await asyncio.to_thread(process) == "attempt-2"
    assert flaky.attempts["Process"] == 2


async def test_streams_are_never_retried():
    flaky = FlakyServer(failures=10)
    async with flaky.running() as port, TextStreamClient(f"127.0.0.1:{port}") as client:
        with pytest.raises(grpc.RpcError) as raised:
            [u async for u in client.process_stream(REVIEW)]
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert flaky.attempts["ProcessStream"] == 1


async def test_retries_stop_at_max_attempts():
    flaky = FlakyServer(failures=10)
    async with flaky.running() as port:
        for attempts in (1, 2):
            options = ClientOptions(target=f"127.0.0.1:{port}", max_attempts=attempts)
            flaky.attempts["Process"] = 0
            async with TextStreamClient(options) as client:
                with pytest.raises(grpc.RpcError) as raised:
                    await client.process(REVIEW)
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
            assert flaky.attempts["Process"] == attempts


async def test_real_server_unavailable_while_loading_is_retried(serve, caplog):
    caplog.set_level(logging.INFO, logger="server.grpc.servicer")
    async with serve(None) as loading, TextStreamClient(loading.target) as client:
        with pytest.raises(grpc.RpcError):
            await client.process(REVIEW)
    ended = [r for r in caplog.records if r.getMessage() == "call ended"]
    assert len(ended) == ClientOptions().max_attempts


async def test_gzip_compresses_what_the_client_sends(serve):
    text = ("All work and no play makes Jack a dull boy. " * 110)[:4900]
    sent = {}
    async with serve(word_analyzers()) as srv:
        for name, compression in (("plain", None), ("gzip", grpc.Compression.Gzip)):
            proxy = CountingProxy(srv.port)
            async with proxy.running() as port:
                options = ClientOptions(target=f"127.0.0.1:{port}", compression=compression)
                async with TextStreamClient(options) as client:
                    response = await client.process(text, include_summary=False)
            assert response.sentiment.chunks
            sent[name] = proxy.sent_bytes
    assert sent["plain"] > len(text)
    assert sent["gzip"] < sent["plain"] - len(text) // 2


async def test_mutual_tls_with_token_and_server_name_override(serve, tmp_path):
    ca = CertificateAuthority(tmp_path)
    server, client = ca.issue("server", server=True), ca.issue("client", server=False)
    tls = {
        "tls_cert_file": server.cert,
        "tls_key_file": server.key,
        "tls_client_ca_file": ca.pem.cert,
        "auth_tokens": ["s3cret"],
    }
    async with serve(word_analyzers(), **tls) as srv:
        options = ClientOptions(
            target=srv.target,
            ca_file=ca.pem.cert,
            cert_file=client.cert,
            key_file=client.key,
            server_name="localhost",
            token="s3cret",
        )
        async with TextStreamClient(options) as api:
            updates = [u async for u in api.process_stream(REVIEW)]
            assert await api.health() == "SERVING"

        def sync_process() -> str:
            with SyncTextStreamClient(options) as api:
                return api.process(REVIEW).request_id

        assert await asyncio.to_thread(sync_process)

        refusals = {}
        for name, changed in (
            ("no client certificate", {"cert_file": None, "key_file": None}),
            ("wrong server name", {"server_name": "elsewhere.example"}),
            ("wrong token", {"token": "guess"}),
        ):
            attempt = dataclasses.replace(options, max_attempts=1, timeout=5, **changed)
            async with TextStreamClient(attempt) as api:
                with pytest.raises(grpc.RpcError) as refused:
                    await api.process(REVIEW)
            refusals[name] = refused.value.code()
    assert case(updates[-1]) == "completed"
    assert refusals == {
        "no client certificate": grpc.StatusCode.UNAVAILABLE,
        "wrong server name": grpc.StatusCode.UNAVAILABLE,
        "wrong token": grpc.StatusCode.UNAUTHENTICATED,
    }


async def test_plaintext_token_travels_as_metadata(serve):
    async with serve(word_analyzers(), auth_tokens=["s3cret"]) as srv:
        async with TextStreamClient(ClientOptions(target=srv.target, token="s3cret")) as api:
            response = await api.process(REVIEW)
        async with TextStreamClient(srv.target) as api:
            with pytest.raises(grpc.RpcError) as refused:
                [u async for u in api.process_stream(REVIEW)]
    assert response.summary.text
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
