"""Runs the real server entry point (server.main / server.workers) with test-double analyzers.

Usage: python -m tests.serve_doubles SECONDS_PER_CHUNK|fail [workers=N] [setting=value ...]
("fail": the loader raises, as a model that cannot load.)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from server.settings import load_settings
from server.workers import run_workers
from tests.doubles import WordListSentiment, word_analyzers


@dataclass(frozen=True)
class DoublesLoader:
    """Picklable, so spawned worker processes can load the doubles too."""

    delay: float
    fail: bool

    def __call__(self, models: ModelSettings) -> Analyzers:
        if self.fail:
            raise OSError("model folder /models/missing does not exist")
        return word_analyzers(sentiment=WordListSentiment(delay=self.delay))


def main() -> None:
    fail = sys.argv[1] == "fail"
    loader = DoublesLoader(0.0 if fail else float(sys.argv[1]), fail)
    overrides = dict(arg.split("=", 1) for arg in sys.argv[2:])
    workers = int(overrides.pop("workers", "1"))
    settings = {"host": "127.0.0.1", "port": 0, "metrics_port": 0, "http_port": 0, **overrides}
    sys.exit(run_workers(load_settings(None, **settings), workers, loader))


if __name__ == "__main__":
    main()
