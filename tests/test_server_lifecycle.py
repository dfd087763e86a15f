"""Health transitions, reflection, readiness and admission through a real server."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from textstream_client.protos import textstream_pb2 as pb

from server.core.settings import Settings
from server.core.state import ServiceState
from tests.doubles import BlockedSummarizer, word_analyzers
from tests.streams import REVIEW, case, read_rest, rpc_error, stream

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _health(channel, service=""):
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service))
    return response.status


async def test_health_follows_loading_serving_and_draining(serve):
    state = ServiceState(Settings(host="127.0.0.1", port=0))
    async with serve(None, state=state) as srv:
        for service in ("", "textstream.v1.TextProcessor"):
            assert await _health(srv.channel, service) == NOT_SERVING
        # Liveness does not follow the models: the process is alive while they load.
        assert await _health(srv.channel, "liveness") == SERVING
        loading = await rpc_error(srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW)))
        assert loading.code() == grpc.StatusCode.UNAVAILABLE
        assert "loading" in loading.details()

        await state.set_ready(word_analyzers())
        for service in ("", "textstream.v1.TextProcessor"):
            assert await _health(srv.channel, service) == SERVING
        assert case((await stream(srv.stub, text=REVIEW))[-1]) == "completed"

        liveness = health_pb2_grpc.HealthStub(srv.channel).Watch(
            health_pb2.HealthCheckRequest(service="liveness")
        )
        assert (await liveness.read()).status == SERVING
        await state.begin_drain()
        for service in ("", "textstream.v1.TextProcessor"):
            assert await _health(srv.channel, service) == NOT_SERVING
        # Liveness stays SERVING while the process drains: a probe must not kill it.
        assert await _health(srv.channel, "liveness") == SERVING
        draining = await rpc_error(srv.stub.Process(pb.ProcessRequest(text=REVIEW)))
        assert draining.code() == grpc.StatusCode.UNAVAILABLE
        # Draining is final: readiness cannot flip it back, nor loading flip liveness.
        await state.set_ready(word_analyzers())
        await state.set_loading()
        for service in ("", "textstream.v1.TextProcessor"):
            assert await _health(srv.channel, service) == NOT_SERVING
        assert await _health(srv.channel, "liveness") == SERVING
        # A liveness watcher was told nothing new: it never saw NOT_SERVING.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(liveness.read(), 0.3)
        liveness.cancel()


async def test_failed_model_load_stays_not_serving(serve):
    state = ServiceState(Settings(host="127.0.0.1", port=0))
    async with serve(None, state=state) as srv:
        await state.set_failed("OSError: no such model")
        assert await _health(srv.channel) == NOT_SERVING
        assert await _health(srv.channel, "liveness") == SERVING
        error = await rpc_error(srv.stub.Process(pb.ProcessRequest(text=REVIEW)))
    assert error.code() == grpc.StatusCode.UNAVAILABLE


async def _reflection_services(channel, method):
    call = channel.stream_stream(
        method,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    response = await call.read()
    call.cancel()
    return {service.name for service in response.list_services_response.service}


async def test_reflection_lists_the_service_on_v1alpha_and_v1(serve):
    async with serve(word_analyzers()) as srv:
        v1alpha = await _reflection_services(
            srv.channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        )
        v1 = await _reflection_services(
            srv.channel, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        )
        stub = reflection_pb2_grpc.ServerReflectionStub(srv.channel)
        call = stub.ServerReflectionInfo(
            iter(
                [
                    reflection_pb2.ServerReflectionRequest(
                        file_containing_symbol="textstream.v1.StageUpdate"
                    )
                ]
            )
        )
        described = await call.read()
        call.cancel()
    assert {"textstream.v1.TextProcessor", "grpc.health.v1.Health"} <= v1alpha
    assert v1 == v1alpha
    assert described.file_descriptor_response.file_descriptor_proto


async def test_streams_past_the_limit_get_resource_exhausted(serve):
    blocked = BlockedSummarizer()
    async with serve(word_analyzers(summarizer=blocked), max_concurrent_streams=2) as srv:
        held = [srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW)) for _ in range(2)]
        for call in held:
            await call.read()
        await asyncio.to_thread(blocked.started.wait, 10)
        error = await rpc_error(srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW)))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "2 concurrent" in error.details()
        blocked.release.set()
        for call in held:
            rest = await read_rest(call)
            assert case(rest[-1]) == "completed"
        assert srv.state.inflight == 0
        assert case((await stream(srv.stub, text=REVIEW))[-1]) == "completed"


async def test_cancelled_stream_releases_its_slot_and_its_work(serve):
    blocked = BlockedSummarizer()
    async with serve(word_analyzers(summarizer=blocked)) as srv:
        call = srv.stub.ProcessStream(pb.ProcessRequest(text=REVIEW))
        await call.read()
        await asyncio.to_thread(blocked.started.wait, 10)
        assert srv.state.inflight == 1
        call.cancel()
        for _ in range(100):
            if srv.state.inflight == 0 and blocked.cancelled.is_set():
                break
            await asyncio.sleep(0.02)
        assert srv.state.inflight == 0
        assert blocked.cancelled.is_set()
        blocked.release.set()
