"""The shapes of encoder forward passes: their cost model and the sizes they round up to."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from analyzers.device import Placement


@dataclass(frozen=True, slots=True)
class ForwardShapes:
    """How batches of token lists become forward passes on one placement.

    A pass costs about `overhead_tokens` padded positions (streaming the weights once) plus
    one per padded position, and holds at most `max_tokens` of them. Rows and widths round up
    to their multiples: oneDNN compiles kernels for each new input shape it sees (about 14 ms
    a shape for MiniLM in bfloat16 on a 2-core CPU, a quarter of a typical pass), and shapes
    that vary freely never stop being new, while rounded ones are a few hundred it keeps.
    """

    overhead_tokens: int = 48
    max_tokens: int = 4096
    row_multiple: int = 1
    width_multiple: int = 1

    def rows(self, count: int) -> int:
        """Rows a pass of `count` sequences pads to (a handful of rows stays exact)."""
        if count <= self.row_multiple:
            return count
        return -(-count // self.row_multiple) * self.row_multiple

    def width(self, longest: int) -> int:
        return -(-max(1, longest) // self.width_multiple) * self.width_multiple


# float32 on a CPU: one pass costs ~9 ms against 0.18 ms a position (2 cores), and a new
# shape costs ~2 ms, less than rounding would pad.
FLOAT32_CPU = ForwardShapes(overhead_tokens=48, max_tokens=4096)
# bfloat16 on a CPU (AMX / AVX512-BF16): ~6 ms against 0.05 ms a position, passes past 2,048
# positions run slower per position, and every new shape costs a kernel compilation.
REDUCED_PRECISION_CPU = ForwardShapes(
    overhead_tokens=120, max_tokens=2048, row_multiple=8, width_multiple=8
)


def forward_shapes(placement: Placement) -> ForwardShapes:
    """The cost model and rounding measured for this kind of placement."""
    if placement.device.type == "cpu" and placement.dtype != torch.float32:
        return REDUCED_PRECISION_CPU
    return FLOAT32_CPU
