"""Runs the real server entry point (server.main.serve) with test-double analyzers.

Usage: python -m tests.serve_doubles SECONDS_PER_CHUNK|fail [setting=value ...]
("fail": the loader raises, as a model that cannot load.)
"""

from __future__ import annotations

import sys

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from server.main import run
from server.settings import load_settings
from tests.doubles import WordListSentiment, word_analyzers


def main() -> None:
    fail = sys.argv[1] == "fail"
    delay = 0.0 if fail else float(sys.argv[1])
    overrides = dict(arg.split("=", 1) for arg in sys.argv[2:])

    def loader(models: ModelSettings) -> Analyzers:
        if fail:
            raise OSError("model folder /models/missing does not exist")
        return word_analyzers(sentiment=WordListSentiment(delay=delay))

    settings = {"host": "127.0.0.1", "port": 0, "metrics_port": 0, **overrides}
    run(load_settings(None, **settings), loader)


if __name__ == "__main__":
    main()
