"""Runs the real server entry point (server.main / server.workers) with test-double analyzers.

Usage: python -m tests.serve_doubles SECONDS_PER_CHUNK|fail [workers=N] [load_seconds=S]
[setting=value ...] ("fail": the loader raises, as a model that cannot load; load_seconds: the
loader takes that long, as a large model does, without giving way to anything.)
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from server.core.settings import load_settings
from server.workers import run_workers
from tests.doubles import WordListSentiment, word_analyzers


@dataclass(frozen=True)
class DoublesLoader:
    """Picklable, so spawned worker processes can load the doubles too."""

    delay: float
    fail: bool
    load_seconds: float = 0.0

    def __call__(self, models: ModelSettings) -> Analyzers:
        # Blocks its thread the way from_pretrained does: it cannot be interrupted.
        time.sleep(self.load_seconds)
        if self.fail:
            raise OSError("model folder /models/missing does not exist")
        return word_analyzers(sentiment=WordListSentiment(delay=self.delay))


def main() -> None:
    fail = sys.argv[1] == "fail"
    overrides = dict(arg.split("=", 1) for arg in sys.argv[2:])
    workers = int(overrides.pop("workers", "1"))
    load_seconds = float(overrides.pop("load_seconds", "0"))
    loader = DoublesLoader(0.0 if fail else float(sys.argv[1]), fail, load_seconds)
    settings = {"host": "127.0.0.1", "port": 0, "metrics_port": 0, "http_port": 0, **overrides}
    sys.exit(run_workers(load_settings(None, **settings), workers, loader))


if __name__ == "__main__":
    main()
