"""Which torch device and dtype the transformer models run on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from analyzers.errors import AnalyzerError


@dataclass(frozen=True, slots=True)
class Placement:
    """A resolved device and the dtype weights are loaded in there."""

    device: torch.device
    dtype: torch.dtype

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"


def resolve_device(spec: str) -> torch.device:
    """Turn "auto", "cpu", "cuda" or "cuda:N" into a torch.device, or explain why not."""
    spec = spec.strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise AnalyzerError(
                f'device "{spec}" was asked for but CUDA is not available here '
                '(use "cpu" or "auto")'
            )
        if spec == "cuda":
            return torch.device("cuda", torch.cuda.current_device())
        index_text = spec.removeprefix("cuda:")
        if not index_text.isdigit():
            raise AnalyzerError(f'device "{spec}" is not of the form "cuda:N"')
        index = int(index_text)
        count = torch.cuda.device_count()
        if index >= count:
            raise AnalyzerError(
                f'device "{spec}" does not exist: {count} CUDA device(s), numbered 0 to {count - 1}'
            )
        return torch.device("cuda", index)
    raise AnalyzerError(f'device "{spec}" is not one of "auto", "cpu", "cuda", "cuda:N"')


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# CPU features with native bfloat16 matrix instructions (Linux /proc/cpuinfo flag names).
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
CPUINFO = Path("/proc/cpuinfo")


# Overrides what the CPU's flags say, so that either kind of CPU can be tested on any
# machine: "fast" decides `dtype = "auto"` as if the CPU had native bfloat16, "none" as if it
# had not, "detect" (or unset) reads /proc/cpuinfo.
CPU_BFLOAT16_ENV = "TEXTSTREAM_CPU_BFLOAT16"
CPU_BFLOAT16_CHOICES = ("detect", "fast", "none")


def cpu_bfloat16_override() -> bool | None:
    """What TEXTSTREAM_CPU_BFLOAT16 forces (True, False), or None to read the CPU's flags."""
    choice = os.environ.get(CPU_BFLOAT16_ENV, "").strip().lower() or "detect"
    if choice not in CPU_BFLOAT16_CHOICES:
        raise AnalyzerError(
            f'{CPU_BFLOAT16_ENV}="{choice}" is not one of '
            f"{', '.join(map(repr, CPU_BFLOAT16_CHOICES))}"
        )
    return None if choice == "detect" else choice == "fast"


def cpu_flags_have_fast_bfloat16() -> bool:
    """Whether /proc/cpuinfo lists native bfloat16 matrix instructions (AVX512-BF16, AMX)."""
    try:
        cpuinfo = CPUINFO.read_text()
    except OSError:  # not Linux: assume the safe answer
        return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return bool(_BF16_FLAGS & set(line.split(":", 1)[-1].split()))
    return False


def cpu_has_fast_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively, unless TEXTSTREAM_CPU_BFLOAT16 says.

    Without native instructions torch emulates bfloat16, many times slower than float32
    (measured: 1.3 against 24 GFLOPS on an AVX2-only EPYC), so the answer decides
    `dtype = "auto"` on CPUs.
    """
    forced = cpu_bfloat16_override()
    return cpu_flags_have_fast_bfloat16() if forced is None else forced


def dtype_for(device: torch.device, spec: str = "auto") -> torch.dtype:
    """The dtype weights load in: `spec` ("auto", "float32", "bfloat16", "float16") on device.

    "auto" is float16 on CUDA (half the memory, tensor cores), bfloat16 on a CPU that
    computes it natively, float32 on any other CPU.
    """
    spec = spec.strip().lower()
    if spec == "auto":
        if device.type == "cuda":
            return torch.float16
        return torch.bfloat16 if cpu_has_fast_bfloat16() else torch.float32
    if spec not in DTYPES:
        raise AnalyzerError(f'dtype "{spec}" is not one of "auto", {", ".join(map(repr, DTYPES))}')
    if spec == "float16" and device.type != "cuda":
        raise AnalyzerError(
            'dtype "float16" needs CUDA: CPUs lack fast float16 kernels (use "bfloat16" on a '
            'CPU with AVX512-BF16 or AMX, else "float32")'
        )
    return DTYPES[spec]


def placement(spec: str, dtype: str = "auto") -> Placement:
    device = resolve_device(spec)
    return Placement(device=device, dtype=dtype_for(device, dtype))


def cuda_device_count() -> int:
    """GPUs torch can use here (0 without CUDA); `serve --workers` puts one worker on each."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def gpu_memory_in_use() -> dict[str, int]:
    """Bytes torch has allocated on each CUDA device, by device name ("cuda:0", ...)."""
    return {
        f"cuda:{index}": torch.cuda.memory_allocated(index) for index in range(cuda_device_count())
    }
