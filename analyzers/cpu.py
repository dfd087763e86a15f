"""How many CPU threads torch should use in this process."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import torch

log = logging.getLogger(__name__)

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


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


def configure_torch_threads() -> int:
    """Cap torch's intra-op threads at the CPUs available; returns the count in use.

    Only ever lowers the count: torch already honours OMP_NUM_THREADS, an operator's choice.
    """
    threads = min(torch.get_num_threads(), available_cpus())
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
        log.info("torch intra-op threads set to %d", threads)
    return threads
