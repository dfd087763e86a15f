"""Each worker's settings: the shared port, its metrics port, its GPU or its share of the CPU."""

from __future__ import annotations

from server.core.settings import Settings
from server.workers import worker_settings


def test_workers_on_a_cpu_each_plan_threads_for_their_share_of_the_cores() -> None:
    settings = Settings(metrics_port=9464)
    shares = [
        worker_settings(settings, index, 50051, 0, workers=2, cpu_count=8) for index in range(2)
    ]
    assert [worker.models.cpu_cores for worker in shares] == [4, 4]
    assert [worker.metrics_port for worker in shares] == [9464, 9465]
    # More workers than cores: each still plans for one.
    crowded = worker_settings(settings, 0, 50051, 0, workers=4, cpu_count=2)
    assert crowded.models.cpu_cores == 1


def test_an_operators_core_count_and_gpus_are_left_alone() -> None:
    chosen = Settings.model_validate({"models": {"cpu_cores": 3}})
    assert worker_settings(chosen, 0, 50051, 0, workers=2, cpu_count=8).models.cpu_cores == 3
    on_gpus = worker_settings(Settings(), 1, 50051, 2, workers=2, cpu_count=8)
    assert on_gpus.models.device == "cuda:1"
    assert on_gpus.models.cpu_cores == 0
