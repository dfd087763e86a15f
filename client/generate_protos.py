"""Generates textstream_client/protos from protos/textstream.proto, importable inside the package.

Usage (from the repository root): python client/generate_protos.py OUT_DIR
protoc runs with `-I .` so the descriptor keeps the file name `protos/textstream.proto` (buf
and reflection rely on it); that makes the generated modules `protos.textstream_pb2*`. grpc's
Python plugin has no option for a package prefix, so the absolute import and the module name
are rewritten to `textstream_client.protos` here. protos/third_party holds the googleapis
files the contract imports (google/rpc/status.proto); only textstream.proto is generated, and
its `from google.rpc import status_pb2` is googleapis-common-protos' module.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

from grpc_tools import protoc

PROTO = "protos/textstream.proto"
# Where `import "google/rpc/status.proto"` is found.
VENDORED = "protos/third_party"
PACKAGE = "textstream_client.protos"
REWRITES = (
    ("from protos import textstream_pb2", f"from {PACKAGE} import textstream_pb2"),
    # The module name message classes report (pickle finds them by it).
    ("'protos.textstream_pb2'", f"'{PACKAGE}.textstream_pb2'"),
)


def generate(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # As `python -m grpc_tools.protoc` does: the well-known types' folder last on the path.
    well_known = f"-I{files('grpc_tools') / '_proto'}"
    outputs = [f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}"]
    if protoc.main(["protoc", "-I", ".", "-I", VENDORED, *outputs, PROTO, well_known]) != 0:
        raise SystemExit(f"protoc failed on {PROTO}")
    for name in ("textstream_pb2.py", "textstream_pb2_grpc.py"):
        path = out / "protos" / name
        text = path.read_text(encoding="utf-8")
        for old, new in REWRITES:
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    generate(Path(sys.argv[1]))
