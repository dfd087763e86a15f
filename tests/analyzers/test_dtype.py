"""Model dtypes: "auto" follows the hardware, and bfloat16 keeps the extractive summary's choice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from analyzers.device import CPU_BFLOAT16_ENV, Placement, cpu_has_fast_bfloat16, dtype_for
from analyzers.errors import AnalyzerError
from analyzers.summary import CentralitySummarizer
from tests.analyzers.conftest import read_data

CPU = torch.device("cpu")
TEXTS = ["sympy_history.txt", "california_housing.txt", "review_positive.txt"]


def cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nvendor_id\t: Test\nflags\t\t: fpu sse2 avx2 {flags}\n\n")
    return path


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("", torch.float32),
        ("avx512f avx512_bf16", torch.bfloat16),
        ("amx_tile amx_bf16", torch.bfloat16),
    ],
)
def test_auto_on_a_cpu_is_bfloat16_only_where_it_is_native(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: str, expected: torch.dtype
) -> None:
    monkeypatch.delenv(CPU_BFLOAT16_ENV, raising=False)
    monkeypatch.setattr("analyzers.device.CPUINFO", cpuinfo(tmp_path, flags))
    assert dtype_for(CPU) == expected
    assert dtype_for(CPU, "float32") == torch.float32
    assert dtype_for(CPU, "bfloat16") == torch.bfloat16
    assert dtype_for(torch.device("cuda", 0)) == torch.float16


@pytest.mark.parametrize(
    ("flags", "forced", "expected"),
    [
        ("", "fast", torch.bfloat16),
        ("avx512f avx512_bf16", "none", torch.float32),
        ("amx_tile amx_bf16", " NONE ", torch.float32),
        ("", "detect", torch.float32),
        ("avx512_bf16", "", torch.bfloat16),
    ],
)
def test_the_environment_decides_auto_as_if_on_the_other_kind_of_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: str, forced: str, expected: torch.dtype
) -> None:
    monkeypatch.setattr("analyzers.device.CPUINFO", cpuinfo(tmp_path, flags))
    monkeypatch.setenv(CPU_BFLOAT16_ENV, forced)
    assert dtype_for(CPU) == expected
    assert cpu_has_fast_bfloat16() == (expected == torch.bfloat16)
    # An explicit dtype is the operator's choice, whatever the override says.
    assert dtype_for(CPU, "float32") == torch.float32
    assert dtype_for(CPU, "bfloat16") == torch.bfloat16


def test_a_misspelt_override_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CPU_BFLOAT16_ENV, "yes")
    with pytest.raises(AnalyzerError, match=f'{CPU_BFLOAT16_ENV}="yes" is not one of'):
        dtype_for(CPU)


@pytest.mark.parametrize(("spec", "reason"), [("float16", "needs CUDA"), ("int8", "not one of")])
def test_dtypes_a_cpu_cannot_run_are_refused(spec: str, reason: str) -> None:
    with pytest.raises(AnalyzerError, match=reason):
        dtype_for(CPU, spec)


@pytest.fixture(scope="module")
def summarizers() -> Iterator[dict[torch.dtype, CentralitySummarizer]]:
    loaded = {
        dtype: CentralitySummarizer(placement=Placement(CPU, dtype))
        for dtype in (torch.float32, torch.bfloat16)
    }
    yield loaded
    for summarizer in loaded.values():
        summarizer.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", TEXTS)
async def test_bfloat16_embeddings_and_summaries_match_float32(
    summarizers: dict[torch.dtype, CentralitySummarizer], name: str
) -> None:
    text = read_data(name)
    full, half = summarizers[torch.float32], summarizers[torch.bfloat16]
    assert full.encoder.model_dtype == torch.float32
    assert half.encoder.model_dtype == torch.bfloat16
    inputs = full.encoder.encode([sentence.text for sentence in full.sentences(text)])
    exact, reduced = await full.encoder.embed(inputs), await half.encoder.embed(inputs)
    cosines = np.sum(exact * reduced, axis=1)  # rows are L2-normalised
    assert cosines.min() >= 0.999
    summaries = [[piece async for piece in s.summarize(text)] for s in (full, half)]
    assert summaries[0] == summaries[1]
