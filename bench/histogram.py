"""The server's own first-update histogram, read from /metrics before and after a level."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

FIRST_UPDATE = "textstream_time_to_first_update_seconds"


def read_buckets(metrics_port: int, name: str = FIRST_UPDATE) -> dict[float, float]:
    """Cumulative counts by upper bound (seconds; +Inf as float('inf'))."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                buckets[float(sample.labels["le"])] = sample.value
    return buckets


def difference(after: dict[float, float], before: dict[float, float]) -> dict[float, float]:
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()}


def share_within(buckets: dict[float, float], seconds: float) -> float:
    """Share of the calls whose first update came within `seconds` (a bucket bound)."""
    total = buckets.get(float("inf"), 0.0)
    return buckets.get(seconds, 0.0) / total if total else 0.0


def quantile_bound(buckets: dict[float, float], q: float) -> float:
    """The smallest bucket bound that holds at least a share q of the calls (seconds)."""
    total = buckets.get(float("inf"), 0.0)
    for bound in sorted(buckets):
        if total and buckets[bound] >= q * total:
            return bound
    return float("inf")
