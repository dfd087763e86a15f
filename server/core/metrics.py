"""Prometheus metrics, one registry per server, served on their own port."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_ROW_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024)
_FEED_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)


class Metrics:
    """The service's metrics; every recording goes through one of these methods."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "textstream_requests",
            "Calls by method and final status code.",
            ["method", "code"],
            registry=r,
        )
        self.request_duration = Histogram(
            "textstream_request_duration_seconds",
            "Call duration by method.",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.time_to_first_update = Histogram(
            "textstream_time_to_first_update_seconds",
            "Time from a call's arrival to its first streamed update.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.stage_duration = Histogram(
            "textstream_stage_duration_seconds",
            "Time spent in each pipeline stage.",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.inflight = Gauge("textstream_inflight_streams", "Calls being served now.", registry=r)
        self.cancelled = Counter(
            "textstream_cancelled",
            "Calls cancelled by the client or their deadline.",
            registry=r,
        )
        self.feed_documents = Histogram(
            "textstream_feed_documents",
            "Documents each feed sent, observed as the feed ends.",
            buckets=_FEED_BUCKETS,
            registry=r,
        )
        self.feed_in_flight = Gauge(
            "textstream_feed_documents_in_flight",
            "Feed documents read and not yet answered (waiting for queue room, or running).",
            registry=r,
        )
        self.feed_read = Counter(
            "textstream_feed_documents_read",
            "Documents read from feeds' request streams.",
            registry=r,
        )
        self.feed_results = Counter(
            "textstream_feed_results",
            "Feed documents answered, by outcome: ok, or the kind of the document's error.",
            ["outcome"],
            registry=r,
        )
        self.batch_size = Histogram(
            "textstream_batch_size",
            "Items per model batch.",
            ["model"],
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "textstream_queue_wait_seconds",
            "Time an item waited for its model batch.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.decode_rows_per_step = Histogram(
            "textstream_decode_rows_per_step",
            "Rows (streams) decoded together in one forward pass of a generative model.",
            ["model"],
            buckets=_ROW_BUCKETS,
            registry=r,
        )
        self.decoding_rows = Gauge(
            "textstream_decode_rows",
            "Rows a generative model is decoding now.",
            ["model"],
            registry=r,
        )
        self.generated_tokens = Counter(
            "textstream_generated_tokens",
            "Tokens generated per model; rate() of it is the model's tokens per second.",
            ["model"],
            registry=r,
        )
        self.model_load = Gauge(
            "textstream_model_load_seconds",
            "Seconds each model took to load and warm.",
            ["model"],
            registry=r,
        )
        self.intra_op_threads = Gauge(
            "textstream_intra_op_threads",
            "torch intra-op threads per model on the CPU, as the thread layout chose them.",
            registry=r,
        )
        self.gpu_memory = Gauge(
            "textstream_gpu_memory_bytes",
            "GPU memory allocated by torch, per device.",
            ["device"],
            registry=r,
        )

    def call_ended(self, method: str, code: str, seconds: float) -> None:
        self.requests.labels(method, code).inc()
        self.request_duration.labels(method).observe(seconds)
        if code in ("CANCELLED", "DEADLINE_EXCEEDED"):
            self.cancelled.inc()

    def first_update(self, seconds: float) -> None:
        self.time_to_first_update.observe(seconds)

    def feed_answered(self, outcome: str) -> None:
        self.feed_results.labels(outcome).inc()

    def feed_ended(self, documents: int) -> None:
        self.feed_documents.observe(documents)

    def stage_done(self, stage: str, seconds: float) -> None:
        self.stage_duration.labels(stage).observe(seconds)

    def batch_done(self, model: str, size: int, waits: Sequence[float]) -> None:
        self.batch_size.labels(model).observe(size)
        for wait in waits:
            self.queue_wait.labels(model).observe(wait)

    def decode_step(self, model: str, rows: int) -> None:
        self.decode_rows_per_step.labels(model).observe(rows)
        # Every row of a decoding step gets one token.
        self.generated_tokens.labels(model).inc(rows)

    def decode_joined(self, model: str, waited_seconds: float) -> None:
        # A decoding row's wait for its first forward pass is its queue wait.
        self.queue_wait.labels(model).observe(waited_seconds)

    def decode_rows(self, model: str, rows: int) -> None:
        self.decoding_rows.labels(model).set(rows)

    def models_loaded(self, load_seconds: dict[str, float]) -> None:
        for model, seconds in load_seconds.items():
            self.model_load.labels(model).set(seconds)

    def threads_laid_out(self, intra_op_threads: int) -> None:
        self.intra_op_threads.set(intra_op_threads)

    def watch_gpu_memory(self, read: Callable[[], dict[str, int]]) -> None:
        """Reads GPU memory at scrape time; read returns bytes by device name."""
        for device in read():
            self.gpu_memory.labels(device).set_function(_reader(read, device))

    def serve_http(self, host: str, port: int) -> int:
        """Serve /metrics; returns the bound port (port 0 picks a free one)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(server.server_port)


def _reader(read: Callable[[], dict[str, int]], device: str) -> Callable[[], float]:
    def value() -> float:
        return float(read().get(device, 0))

    return value
