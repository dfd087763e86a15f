"""How the CPU's cores are laid out between torch's threads and the work running beside them."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
# An operator's thread count for torch (and every OpenMP library), honoured over any layout.
OMP_ENV = "OMP_NUM_THREADS"
# Hugging Face tokenizers run a Rust thread pool as wide as the machine on every batch call.
TOKENIZERS_ENV = "TOKENIZERS_PARALLELISM"


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota.

    os.cpu_count() reports the host's CPUs; in a container that oversubscribes the few
    CPUs actually granted, and torch's default follows it.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


@dataclass(frozen=True, slots=True)
class RequestCost:
    """CPU seconds one request costs, measured at load: in torch's forward passes, and beside.

    "Beside" is the work that runs next to the torch models on other threads: spaCy's NER,
    sentence splitting, the tokenizers and VADER, which the GIL keeps to about one core.
    """

    torch_seconds: float
    beside_seconds: float

    def sets_aside_a_core(self, cores: int) -> bool:
        """Whether the work beside torch should have a core of its own on `cores` cores.

        With one torch model of t CPU seconds a request and b seconds beside it: given every
        core, torch's OpenMP team waits at each step for its thread that shares a core with
        the beside work, so it serves at most 1 / (t / C + b) requests/s; given C - 1 cores
        it serves min((C - 1) / t, 1 / b). The second is larger exactly when
        b * C * (C - 1) > t. Measured on 2 cores: bfloat16 (t 77, b 59 ms) serves 19 to 27%
        more with one thread; float32 (t 217 ms) more with two.
        """
        return cores > 1 and self.beside_seconds * cores * (cores - 1) > self.torch_seconds


@dataclass(frozen=True, slots=True)
class ThreadLayout:
    """Threads for each kind of work, so that what runs at once never asks for more cores.

    Every torch model runs its forward passes on its own thread, each with an OpenMP team of
    `intra_op_threads`. With C cores and T torch models each model gets max(1, (C - s) // T)
    threads, where s is the one core set aside for the work beside torch when the request's
    measured cost says it pays (RequestCost.sets_aside_a_core), else none.
    """

    cores: int
    torch_models: int
    intra_op_threads: int
    # What chose intra_op_threads: MEASURING (before the cost is known), "layout",
    # "setting" (models.intra_op_threads) or OMP_ENV.
    chosen_by: str
    # The cost the layout was planned on; None when it was not measured.
    cost: RequestCost | None = None
    # Cores kept for the work beside torch.
    set_aside: int = 0

    def describe(self) -> str:
        text = (
            f"{self.cores} core(s), {self.torch_models} torch model(s): "
            f"{self.intra_op_threads} intra-op thread(s) each (by {self.chosen_by})"
        )
        if self.chosen_by == LAYOUT:
            text += f", {self.set_aside} core(s) set aside for the work beside torch"
        if self.cost is not None:
            text += (
                f"; measured CPU per request: torch {self.cost.torch_seconds * 1000:.1f} ms, "
                f"beside {self.cost.beside_seconds * 1000:.1f} ms"
            )
        return text

    @property
    def needs_cost(self) -> bool:
        """The rule decides, and the request's cost has still to be measured."""
        return self.chosen_by == MEASURING


# chosen_by values of the rule: before the cost is measured, and after.
MEASURING = "layout, before measuring"
LAYOUT = "layout"


def plan_threads(
    *,
    torch_models: int,
    cores: int = 0,
    setting: int = 0,
    cost: RequestCost | None = None,
    measured: bool = True,
) -> ThreadLayout:
    """The layout for this process: OMP_NUM_THREADS wins, then the setting, then the rule.

    `cores` is what the process plans for (0: the CPUs available to it); `setting` is
    models.intra_op_threads (0: none). Without a cost and with `measured` (the default) the
    layout is the one to measure the cost with: one thread per model, which gives each
    model's CPU time without OpenMP's waiting in it. `measured=False` says the cost will not
    be measured (a generative model decodes, whose seconds per request dwarf everything
    beside it): torch then gets every core.
    """
    cores = cores or available_cpus()
    omp = os.environ.get(OMP_ENV, "").strip()
    if omp.isdigit() and int(omp) > 0:
        return ThreadLayout(cores, torch_models, int(omp), OMP_ENV)
    if setting > 0:
        return ThreadLayout(cores, torch_models, setting, "setting")
    if cost is None and measured and torch_models > 0 and cores > 1:
        return ThreadLayout(cores, torch_models, 1, MEASURING)
    set_aside = 1 if cost is not None and cost.sets_aside_a_core(cores) else 0
    threads = max(1, (cores - set_aside) // max(1, torch_models))
    return ThreadLayout(cores, torch_models, threads, LAYOUT, cost, set_aside)


def apply_layout(layout: ThreadLayout) -> None:
    """Set torch's intra-op threads and keep the tokenizers' pool from competing with them.

    Called before any model thread runs a torch op: torch gives each thread its OpenMP team
    size when that thread first computes.
    """
    # Always set: the number torch.get_num_threads() reads is this thread's, while a model
    # thread that has not computed yet takes the process-wide one set here.
    torch.set_num_threads(layout.intra_op_threads)
    # Tokenizing runs on request threads while the models compute: a pool as wide as the
    # machine per call would take the cores the layout gave the models. An operator's own
    # choice stays.
    os.environ.setdefault(TOKENIZERS_ENV, "false")
    # numpy's BLAS (OpenBLAS) starts a pool as wide as the machine. Its only work here is
    # small per-request products on the event loop (the summary's centrality, 25 x 384): alone
    # they take 40 us, but under load the loop waited on a pool thread with no core free, and
    # each took 2 ms of the loop's time. One thread runs them inline. An operator's
    # OMP_NUM_THREADS also sizes that pool, so it stays theirs.
    if layout.chosen_by != OMP_ENV:
        threadpool_limits(limits=1, user_api="blas")
    log.info("thread layout: %s", layout.describe())


def configure_torch_threads(torch_models: int = 1, cores: int = 0, setting: int = 0) -> int:
    """Plan and apply a layout without measuring a cost (torch on every core, less what an
    operator chose); returns torch's intra-op thread count."""
    layout = plan_threads(torch_models=torch_models, cores=cores, setting=setting, measured=False)
    apply_layout(layout)
    return layout.intra_op_threads
