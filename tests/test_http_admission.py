"""One ServiceState for both transports: readiness, draining, admission, metrics and tokens."""

from __future__ import annotations

import asyncio

import grpc
from textstream_client.protos import textstream_pb2 as pb

from server.core.settings import Settings
from server.core.state import ServiceState
from tests.doubles import BlockedSummarizer, WordListSentiment, word_analyzers
from tests.http_servers import http_server, lines, read_all
from tests.streams import REVIEW, case, read_rest, rpc_error


async def _status(srv, method: str, path: str, **kwargs) -> tuple[int, dict, dict]:
    async with srv.session.request(method, f"{srv.url}{path}", **kwargs) as response:
        return response.status, dict(response.headers), await response.json()


async def test_healthz_and_readyz_follow_loading_ready_and_draining():
    state = ServiceState(Settings(host="127.0.0.1", port=0))
    async with http_server(None, state=state) as srv:
        assert (await _status(srv, "GET", "/healthz"))[0] == 200
        code, headers, body = await _status(srv, "GET", "/readyz")
        assert (code, body["status"], headers["Retry-After"]) == (503, "loading", "1")
        code, headers, body = await _status(srv, "POST", "/process-stream", json={"text": REVIEW})
        assert code == 503
        assert headers["Retry-After"] == "1"
        assert "loading" in body["detail"]

        await state.set_ready(word_analyzers())
        assert (await _status(srv, "GET", "/readyz"))[:3:2] == (200, {"status": "ready"})
        async with srv.session.post(f"{srv.url}/process-stream", json={"text": REVIEW}) as response:
            assert (await read_all(response))[-1]["status"] == "completed"

        await state.begin_drain()
        code, _, body = await _status(srv, "GET", "/readyz")
        assert (code, body["status"]) == (503, "draining")
        assert (await _status(srv, "GET", "/healthz"))[0] == 200
        code, headers, _ = await _status(srv, "POST", "/process-batch", json={"text": REVIEW})
        assert (code, headers["Retry-After"]) == (503, "1")
        assert srv.calls("http:/process-batch", "503") == 1


async def test_a_failed_model_load_is_not_ready():
    state = ServiceState(Settings(host="127.0.0.1", port=0))
    async with http_server(None, state=state) as srv:
        await state.set_failed("OSError: no such model")
        code, _, body = await _status(srv, "GET", "/readyz")
    assert (code, body["status"]) == (503, "failed")


async def test_both_transports_share_the_admission_limit():
    blocked = BlockedSummarizer()
    async with http_server(word_analyzers(summarizer=blocked), max_concurrent_streams=1) as srv:
        async with srv.session.post(f"{srv.url}/process-stream", json={"text": REVIEW}) as held:
            first = await anext(lines(held))
            assert first["status"] == "started"
            code, headers, body = await _status(
                srv, "POST", "/process-stream", json={"text": REVIEW}
            )
            assert code == 429
            assert headers["Retry-After"] == "1"
            assert "limit of 1" in body["detail"]
            refused = await rpc_error(srv.grpc.stub.Process(pb.ProcessRequest(text=REVIEW)))
            assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            blocked.release.set()
            rest = await read_all(held)
        assert rest[-1]["status"] == "completed"

        # And the other way round: a gRPC stream in flight fills the slot for HTTP.
        blocked.release.clear()
        call = srv.grpc.stub.ProcessStream(pb.ProcessRequest(text=REVIEW))
        assert case(await call.read()) == "started"
        code, headers, _ = await _status(srv, "POST", "/process-batch", json={"text": REVIEW})
        assert (code, headers["Retry-After"]) == (429, "1")
        blocked.release.set()
        assert case((await read_rest(call))[-1]) == "completed"
        assert await call.code() == grpc.StatusCode.OK
        assert srv.calls("http:/process-stream", "429") == 1
        assert srv.calls("http:/process-batch", "429") == 1
        assert srv.calls("http:/process-stream", "200") == 1


async def test_bearer_tokens_guard_the_api_but_not_the_probes_or_page():
    sentiment = WordListSentiment()
    async with http_server(word_analyzers(sentiment=sentiment), auth_tokens=["s3cret"]) as srv:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            for path in ("/process-stream", "/process-batch", "/generate-stream"):
                body = {"text": REVIEW, "prompt": "Hi"}
                code, answer, problem = await _status(srv, "POST", path, json=body, headers=headers)
                assert (code, answer["WWW-Authenticate"]) == (401, "Bearer")
                assert "s3cret" not in problem["detail"]
        assert sentiment.processed == 0
        for path in ("/healthz", "/readyz", "/openapi.json"):
            assert (await _status(srv, "GET", path))[0] == 200
        async with srv.session.get(f"{srv.url}/") as response:
            assert response.status == 200
        async with srv.session.post(
            f"{srv.url}/process-stream",
            json={"text": REVIEW},
            headers={"Authorization": "Bearer s3cret"},
        ) as response:
            assert (await read_all(response))[-1]["status"] == "completed"
        assert srv.calls("http:/process-stream", "401") == 3


async def test_calls_in_flight_are_counted_and_released():
    blocked = BlockedSummarizer()
    async with http_server(word_analyzers(summarizer=blocked)) as srv:
        responses = [
            await srv.session.post(f"{srv.url}/process-stream", json={"text": REVIEW})
            for _ in range(3)
        ]
        for response in responses:
            assert (await anext(lines(response)))["status"] == "started"
        assert srv.state.inflight == 3
        assert srv.state.metrics.registry.get_sample_value("textstream_inflight_streams") == 3
        blocked.release.set()
        finished = await asyncio.gather(*(read_all(response) for response in responses))
        for response in responses:
            response.release()
        assert all(events[-1]["status"] == "completed" for events in finished)
        assert srv.state.inflight == 0
        first_updates = srv.state.metrics.registry.get_sample_value(
            "textstream_time_to_first_update_seconds_count"
        )
        assert first_updates == 3
