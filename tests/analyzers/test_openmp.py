"""OpenMP's wait policy: chosen for the models before torch loads, an operator's choice kept."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from analyzers.openmp import SPIN_COUNT_ENV, WAIT_POLICY_ENV
from bench.server_process import serve

# GNU OpenMP prints its settings at start-up with OMP_DISPLAY_ENV; the spin count says how
# its waiting threads wait (0: they sleep at once, the passive policy).
DISPLAY_ENV = {"OMP_DISPLAY_ENV": "VERBOSE"}
SPIN_COUNT = re.compile(r"GOMP_SPINCOUNT = '(\d+)'")

PREPARE_THEN_COMPUTE = """
import sys
from analyzers.config import ModelSettings
from analyzers.openmp import prepare_openmp
prepare_openmp(ModelSettings.model_validate_json(sys.argv[1]))
import torch
torch.ones(4096).sum()
"""


def _spin_count(output: str) -> int:
    found = SPIN_COUNT.search(output)
    if found is None:
        pytest.skip("torch's OpenMP runtime here is not GNU OpenMP (no GOMP_SPINCOUNT shown)")
    return int(found.group(1))


def _spin_count_after_prepare(settings_json: str, **env: str) -> int:
    clean = {k: v for k, v in os.environ.items() if k not in (WAIT_POLICY_ENV, SPIN_COUNT_ENV)}
    done = subprocess.run(
        [sys.executable, "-c", PREPARE_THEN_COMPUTE, settings_json],
        env={**clean, **DISPLAY_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return _spin_count(done.stderr)


def test_the_offline_models_wait_passively_so_spinning_threads_leave_spacy_its_core() -> None:
    assert _spin_count_after_prepare("{}") == 0


@pytest.mark.parametrize("settings", ['{"profile": "hub"}', '{"generator_model": "/models/gpt2"}'])
def test_a_generative_model_keeps_the_spinning_its_short_decoding_steps_need(
    settings: str,
) -> None:
    assert _spin_count_after_prepare(settings) > 0


@pytest.mark.parametrize(("name", "value"), [(WAIT_POLICY_ENV, "ACTIVE"), (SPIN_COUNT_ENV, "5000")])
def test_an_operators_openmp_setting_stays(name: str, value: str) -> None:
    assert _spin_count_after_prepare("{}", **{name: value}) > 0


def test_the_served_offline_models_wait_passively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WAIT_POLICY_ENV, raising=False)
    monkeypatch.delenv(SPIN_COUNT_ENV, raising=False)
    server, _ = serve(**DISPLAY_ENV)
    try:
        printed = "\n".join(
            str(entry.get("line", "")) for entry in server.log if entry["event"] == "unparsed"
        )
    finally:
        server.stop()
    assert _spin_count(printed) == 0
