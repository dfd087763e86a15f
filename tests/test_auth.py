"""Bearer-token authentication: UNAUTHENTICATED without it, health and reflection exempt."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from textstream_client.protos import textstream_pb2 as pb

from tests.doubles import WordListSentiment, word_analyzers
from tests.streams import REVIEW, case, rpc_error, stream

TOKEN = "s3cret-token"


async def test_calls_need_a_valid_token(serve):
    sentiment = WordListSentiment()
    async with serve(word_analyzers(sentiment=sentiment), auth_tokens=[TOKEN, "other"]) as srv:
        for metadata in (None, (("authorization", "Bearer wrong"),), (("authorization", TOKEN),)):
            for call in (
                srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW), metadata=metadata),
                srv.stub.Process(pb.ProcessRequest(text=REVIEW), metadata=metadata),
                srv.stub.GenerateStream(pb.GenerateRequest(prompt="Hi"), metadata=metadata),
            ):
                error = await rpc_error(call)
                assert error.code() == grpc.StatusCode.UNAUTHENTICATED
                assert TOKEN not in error.details()
        assert sentiment.processed == 0

        good = (("authorization", f"Bearer {TOKEN}"),)
        updates = await stream(srv.stub, metadata=good, text=REVIEW)
        assert case(updates[-1]) == "completed"
        other = await srv.stub.Process(
            pb.ProcessRequest(text=REVIEW), metadata=(("authorization", "Bearer other"),)
        )
        assert other.sentiment.chunks


async def test_health_is_exempt_by_default_and_can_be_protected(serve):
    async with serve(word_analyzers(), auth_tokens=[TOKEN]) as srv:
        health = health_pb2_grpc.HealthStub(srv.channel)
        response = await health.Check(health_pb2.HealthCheckRequest())
        assert response.status == health_pb2.HealthCheckResponse.SERVING

    async with serve(word_analyzers(), auth_tokens=[TOKEN], auth_exempt_services=[]) as srv:
        health = health_pb2_grpc.HealthStub(srv.channel)
        error = await rpc_error(health.Check(health_pb2.HealthCheckRequest()))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        response = await health.Check(
            health_pb2.HealthCheckRequest(), metadata=(("authorization", f"Bearer {TOKEN}"),)
        )
        assert response.status == health_pb2.HealthCheckResponse.SERVING
