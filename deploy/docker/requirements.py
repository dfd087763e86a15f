"""Image build step: the third-party requirements of pyproject.toml files, one per line.

The `deps` stage installs these alone, so the large layer (torch and its CUDA wheels) is rebuilt
only when a dependency changes, not when the source does. The client distribution
(textstream-client, client/ in this repository) is left out: no index has it, and the `app`
stage installs it from the source.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

LOCAL = {"textstream-client"}


def requirements(pyproject: Path) -> list[str]:
    listed: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    names = (re.split(r"[\s\[<>=!~;@]", item, maxsplit=1)[0].lower() for item in listed)
    return [item for item, name in zip(listed, names, strict=True) if name not in LOCAL]


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print("\n".join(requirements(Path(path))))
