"""TLS and mutual TLS from settings, with certificates the tests make themselves."""

from __future__ import annotations

import grpc
import pytest
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc

from tests.certs import CertificateAuthority
from tests.doubles import word_analyzers
from tests.streams import REVIEW, case, rpc_error


@pytest.fixture
def pki(tmp_path):
    ca = CertificateAuthority(tmp_path)
    other_ca = CertificateAuthority(tmp_path, "unrelated CA")
    return {
        "ca": ca,
        "server": ca.issue("server", server=True),
        "client": ca.issue("client", server=False),
        "stranger": other_ca.issue("stranger", server=False),
    }


def _channel(port, ca, client=None):
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca.pem.cert.read_bytes(),
        private_key=client.key.read_bytes() if client else None,
        certificate_chain=client.cert.read_bytes() if client else None,
    )
    return grpc.aio.secure_channel(f"localhost:{port}", credentials)


async def _completes(channel) -> bool:
    stub = pb_grpc.TextProcessorStub(channel)
    updates = [u async for u in stub.ProcessStream(pb.ProcessRequest(text=REVIEW))]
    return case(updates[-1]) == "completed"


async def test_tls_serves_trusting_clients_and_refuses_plaintext(serve, pki):
    server = pki["server"]
    async with serve(word_analyzers(), tls_cert_file=server.cert, tls_key_file=server.key) as srv:
        async with _channel(srv.port, pki["ca"]) as channel:
            assert await _completes(channel)
        # The fixture's own channel is plaintext: it cannot talk to a TLS port.
        error = await rpc_error(srv.stub.Process(pb.ProcessRequest(text=REVIEW), timeout=5))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        async with _channel(srv.port, pki["ca"]) as channel:
            assert await _completes(channel)


async def test_mutual_tls_requires_a_client_certificate_from_the_ca(serve, pki):
    server = pki["server"]
    async with serve(
        word_analyzers(),
        tls_cert_file=server.cert,
        tls_key_file=server.key,
        tls_client_ca_file=pki["ca"].pem.cert,
    ) as srv:
        for client in (None, pki["stranger"]):
            async with _channel(srv.port, pki["ca"], client) as channel:
                stub = pb_grpc.TextProcessorStub(channel)
                error = await rpc_error(stub.Process(pb.ProcessRequest(text=REVIEW), timeout=5))
                assert error.code() == grpc.StatusCode.UNAVAILABLE
        async with _channel(srv.port, pki["ca"], pki["client"]) as channel:
            assert await _completes(channel)


def test_tls_settings_come_in_pairs(tmp_path):
    from pydantic import ValidationError

    from server.core.settings import Settings

    with pytest.raises(ValidationError, match="set together"):
        Settings(tls_cert_file=tmp_path / "a.crt")
    with pytest.raises(ValidationError, match="mutual TLS"):
        Settings(tls_client_ca_file=tmp_path / "ca.crt")
