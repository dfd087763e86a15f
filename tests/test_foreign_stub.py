"""A client generated from protos/textstream.proto (and the googleapis file it imports) alone,
outside this repository, talks to the server: the path other services take (grpc_tools.protoc
into an empty folder)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from tests.cli_runner import ROOT
from tests.doubles import word_analyzers
from tests.streams import REVIEW

FOREIGN_CLIENT = textwrap.dedent(
    """
    import os
    import sys

    stubs, site_packages, target, text = sys.argv[1:5]
    # The standard library, the generated modules and site-packages without its .pth files
    # (an editable install of this repository is one): nothing from the repository.
    sys.path[:] = [stubs, *sys.path, *site_packages.split(os.pathsep)]
    import grpc
    import textstream_pb2 as pb
    import textstream_pb2_grpc as pb_grpc

    assert pb.__file__.startswith(stubs), pb.__file__
    try:
        import textstream_client  # noqa: F401
    except ImportError:
        pass
    else:
        raise AssertionError("the repository is importable")

    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.TextProcessorStub(channel)
        updates = list(stub.ProcessStream(pb.ProcessRequest(text=text, include_entities=True)))
        kinds = [u.WhichOneof("update") for u in updates]
        assert kinds[0] == "started" and kinds[-1] == "completed", kinds
        assert list(updates[0].started.stages) == [
            pb.STAGE_CHUNKING, pb.STAGE_SENTIMENT, pb.STAGE_SUMMARY, pb.STAGE_ENTITIES
        ]
        response = stub.Process(pb.ProcessRequest(text=text, chunk_size=60))
        assert response.sentiment.chunks and response.summary.text, response
        try:
            stub.Process(pb.ProcessRequest(text="short"))
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        else:
            raise AssertionError("short text accepted")
    print("ok", len(updates))
    """
)


@pytest.fixture(scope="module")
def foreign_stubs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("foreign")
    shutil.copy(ROOT / "protos" / "textstream.proto", folder / "textstream.proto")
    # The googleapis file it imports (google/rpc/status.proto), as other languages vendor it;
    # the generated code imports google.rpc.status_pb2 from googleapis-common-protos.
    vendored = ROOT / "protos" / "third_party"
    subprocess.run(
        [
            *(sys.executable, "-m", "grpc_tools.protoc", "-I", str(folder), "-I", str(vendored)),
            *(f"--python_out={folder}", f"--grpc_python_out={folder}", "textstream.proto"),
        ],
        cwd=folder,
        check=True,
    )
    assert {p.name for p in folder.iterdir()} >= {"textstream_pb2.py", "textstream_pb2_grpc.py"}
    return folder


async def test_stub_generated_from_the_proto_alone_talks_to_the_server(serve, foreign_stubs):
    async with serve(word_analyzers()) as srv:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",  # isolated: no PYTHONPATH, no current folder, no user site
            "-S",  # no site: sys.path is the standard library until the script extends it
            "-c",
            FOREIGN_CLIENT,
            str(foreign_stubs),
            os.pathsep.join({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}),
            srv.target,
            REVIEW,
            cwd=foreign_stubs,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().startswith("ok ")
