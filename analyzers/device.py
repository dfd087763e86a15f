"""Which torch device and dtype the transformer models run on."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from analyzers.base import AnalyzerError


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


def dtype_for(device: torch.device) -> torch.dtype:
    # Half precision halves memory and uses tensor cores on GPUs; CPUs lack fast fp16 kernels.
    return torch.float16 if device.type == "cuda" else torch.float32


def placement(spec: str) -> Placement:
    device = resolve_device(spec)
    return Placement(device=device, dtype=dtype_for(device))


def cuda_device_count() -> int:
    """GPUs torch can use here (0 without CUDA); `serve --workers` puts one worker on each."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def gpu_memory_in_use() -> dict[str, int]:
    """Bytes torch has allocated on each CUDA device, by device name ("cuda:0", ...)."""
    return {
        f"cuda:{index}": torch.cuda.memory_allocated(index) for index in range(cuda_device_count())
    }
