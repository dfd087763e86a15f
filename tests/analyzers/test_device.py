"""Device resolution, dtypes and CPU thread counts."""

from __future__ import annotations

import pytest
import torch

from analyzers.cpu import available_cpus, configure_torch_threads
from analyzers.device import cpu_has_fast_bfloat16, dtype_for, placement, resolve_device
from analyzers.errors import AnalyzerError

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")


def test_auto_follows_cuda_availability() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


def test_cpu_runs_in_float32_unless_it_computes_bfloat16_natively() -> None:
    where = placement(" CPU ")
    assert where.device == torch.device("cpu")
    assert where.dtype == (torch.bfloat16 if cpu_has_fast_bfloat16() else torch.float32)
    assert placement("cpu", "float32").dtype == torch.float32
    assert not where.is_cuda


def test_cuda_runs_in_float16() -> None:
    assert dtype_for(torch.device("cuda", 0)) == torch.float16


@no_cuda
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_cuda_says_so(spec: str) -> None:
    with pytest.raises(AnalyzerError, match="CUDA is not available"):
        resolve_device(spec)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_index_out_of_range_says_how_many() -> None:
    with pytest.raises(AnalyzerError, match="does not exist"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


@pytest.mark.parametrize("spec", ["tpu", "cuda:x", "gpu0", ""])
def test_unknown_devices_are_refused(spec: str) -> None:
    with pytest.raises(AnalyzerError):
        resolve_device(spec)


def test_torch_threads_never_exceed_the_cpus_granted() -> None:
    threads = configure_torch_threads()
    assert 1 <= threads <= available_cpus()
    assert torch.get_num_threads() == threads


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_models_on_cuda_report_their_memory() -> None:
    from analyzers.config import ModelSettings
    from analyzers.loader import load_analyzers

    analyzers = load_analyzers(ModelSettings(device="cuda:0"))
    try:
        assert analyzers.gpu_memory is not None
        assert analyzers.gpu_memory()["cuda:0"] > 0
    finally:
        analyzers.close()
