"""How OpenMP's idle threads wait, chosen for the models before torch loads its OpenMP runtime."""

from __future__ import annotations

import logging
import os
import sys

from analyzers.config import ModelSettings
from analyzers.sources import decodes, model_sources

log = logging.getLogger(__name__)

WAIT_POLICY_ENV = "OMP_WAIT_POLICY"
# GNU OpenMP's own knob for the same thing (spins before a waiting thread sleeps).
SPIN_COUNT_ENV = "GOMP_SPINCOUNT"
PASSIVE = "PASSIVE"


def wait_policy_env(settings: ModelSettings) -> dict[str, str]:
    """The OpenMP environment these models are served with: what to add to os.environ.

    By default GNU OpenMP (torch's, on Linux) keeps a thread that waits at the end of a
    parallel region spinning for 300,000 rounds before it sleeps. When the encoder's threads
    share the cores with spaCy and the tokenizers, that spinning can take the core the work
    beside them needs (interleaved runs at concurrency 32 on a 2-core Xeon: float32 cost 186
    to 222 against 230 to 297 ms of CPU a request in one evening's first runs, the same in
    later ones; README, Thread layout). A generative model
    decodes in short steps of many small parallel regions, where waking a sleeping team per
    region doubled a step (a 4-layer GPT-2, 64 tokens: 0.22 s spinning, 0.47 s passive), so
    it keeps the spinning. An operator's OMP_WAIT_POLICY or GOMP_SPINCOUNT stays.
    """
    if WAIT_POLICY_ENV in os.environ or SPIN_COUNT_ENV in os.environ:
        return {}
    if decodes(model_sources(settings)):
        return {}
    return {WAIT_POLICY_ENV: PASSIVE}


def prepare_openmp(settings: ModelSettings) -> None:
    """Set the wait policy for these models; before torch is imported, or it is too late.

    The OpenMP runtime reads its environment once, when torch loads it.
    """
    env = wait_policy_env(settings)
    if not env:
        return
    if "torch" in sys.modules:
        log.warning(
            "torch was imported before the models' OpenMP wait policy was set; "
            "its threads keep spinning while they wait (set %s=%s to change that)",
            WAIT_POLICY_ENV,
            PASSIVE,
        )
        return
    os.environ.update(env)
