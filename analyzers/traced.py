"""An encoder's forward pass as one frozen TorchScript graph, run without taking the GIL per op.

In eager mode every one of a transformer's few hundred ops goes back to Python, and so waits
for the GIL. Beside a thread that holds it (spaCy's NER, the event loop, sentence splitting),
each wait lasts up to the interpreter's switch interval: measured on 2 cores, MiniLM over the
benchmark corpus took 2.1 s alone and 26.7 s beside one Python-busy thread. A traced graph runs
as one C++ call that releases the GIL: 2.1 s alone, 2.8 s beside the same thread.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

import torch

log = logging.getLogger(__name__)

# Hidden states of a batch: (input_ids, attention_mask) -> last_hidden_state.
Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def eager_forward(model: Any) -> Forward:
    """The model called as it is, one Python dispatch per op."""

    def forward(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden: torch.Tensor = model(
            input_ids=input_ids, attention_mask=attention_mask
        ).last_hidden_state
        return hidden

    return forward


def traced_forward(
    model: Any,
    example: tuple[torch.Tensor, torch.Tensor],
    check: tuple[torch.Tensor, torch.Tensor],
) -> Forward | None:
    """The model traced on `example` and frozen, or None where that fails or disagrees.

    `example` must pad at least one row (a mask with zeros), so that the attention mask's
    path is what the trace records; `check`, of another shape, is run both ways and must
    agree, or the eager model stays. Either failure is logged, never raised: the eager model
    gives the same results, only slower.
    """
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            # torch.jit is deprecated for torch.compile and torch.export, which would need a
            # compiler at run time and shape guards per batch shape; in the pinned torch it
            # works, and the check below catches a trace that does not generalise. The
            # tracer's warnings are about Python values it records as constants: the
            # check is what decides.
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(  # type: ignore[no-untyped-call]  # unannotated upstream
                model, example, strict=False, check_trace=False
            )
            graph = torch.jit.freeze(traced.eval())

            def forward(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
                output = graph(input_ids, attention_mask)
                # A ModelOutput traces to a dict; a model returning tuples gives a tuple.
                hidden: torch.Tensor = (
                    output["last_hidden_state"] if isinstance(output, dict) else output[0]
                )
                return hidden

            agrees = _agrees(eager_forward(model)(*check), forward(*check))
    except Exception as exc:  # tracing is an optimisation: any failure keeps eager mode
        log.warning("encoder kept in eager mode: tracing failed (%s: %s)", type(exc).__name__, exc)
        return None
    if not agrees:
        log.warning("encoder kept in eager mode: the traced graph disagrees with the model")
        return None
    return forward


def _agrees(eager: torch.Tensor, traced: torch.Tensor) -> bool:
    # The same kernels run in both: anything past rounding noise means a wrong trace.
    tolerance = 1e-4 if eager.dtype == torch.float32 else 1e-2
    return eager.shape == traced.shape and bool(
        torch.allclose(eager.float(), traced.float(), atol=tolerance, rtol=tolerance)
    )
