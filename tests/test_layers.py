"""The import contracts (.importlinter) hold here, and a deliberate crossing breaks its contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"
# Where each root package of the contracts lives in this repository.
PACKAGES = {
    "analyzers": ROOT / "analyzers",
    "server": ROOT / "server",
    "textstream_client": ROOT / "client" / "textstream_client",
}


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first, so the packages under root are analysed, not the installed ones.
    return subprocess.run(
        [str(LINT), "--config", str(root / ".importlinter"), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy(tmp_path: Path) -> Path:
    for name, source in PACKAGES.items():
        shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_real_layers_keep_every_contract(tmp_path):
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "crossing", "contract"),
    [
        # The crossing of old: the core's state owned gRPC's health servicer.
        ("server/core/state.py", "from grpc_health.v1 import health", "the core knows no"),
        ("server/core/events.py", "import fastapi", "the core knows no"),
        ("server/rest/calls.py", "from server.grpc import interceptors", "the gRPC and HTTP"),
        ("analyzers/base.py", "import server.core.errors", "analyzers import nothing"),
        ("textstream_client/options.py", "import server.core.settings", "the client library"),
    ],
)
def test_a_crossing_breaks_its_contract(tmp_path, module, crossing, contract):
    root = _copy(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{crossing}  # noqa\n")
    result = _lint(root)
    assert result.returncode != 0, result.stdout
    # The summary line of each contract ends KEPT or BROKEN.
    lines = result.stdout.splitlines()
    verdicts = [line.split()[-1] for line in lines if line.startswith(contract)]
    assert verdicts[0] == "BROKEN", result.stdout
    assert "1 broken" in result.stdout
