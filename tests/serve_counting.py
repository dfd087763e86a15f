"""Like tests.serve_doubles, but the sentiment double logs each chunk it starts.

Usage: python -m tests.serve_counting SECONDS_PER_CHUNK [setting=value ...]
"""

from __future__ import annotations

import logging
import sys

from analyzers.base import Analyzers
from analyzers.config import ModelSettings
from analyzers.types import SentimentScores
from server.core.settings import Settings, load_settings
from server.main import run
from tests.doubles import WordListSentiment, word_analyzers

log = logging.getLogger("tests.serve_counting")


class CountingSentiment(WordListSentiment):
    """Logs "sentiment chunk started" on the worker thread, before the model's work."""

    def _run(self, chunk: str) -> SentimentScores:
        log.info("sentiment chunk started", extra={"chars": len(chunk)})
        return super()._run(chunk)


def main() -> None:
    delay = float(sys.argv[1])
    overrides = dict(arg.split("=", 1) for arg in sys.argv[2:])

    def loader(models: ModelSettings) -> Analyzers:
        return word_analyzers(sentiment=CountingSentiment(delay=delay))

    # Side ports (metrics, ...) on free ports too, so that servers never collide.
    side_ports = {name: 0 for name in Settings.model_fields if name.endswith("_port")}
    run(load_settings(None, **{**side_ports, "host": "127.0.0.1", "port": 0, **overrides}), loader)


if __name__ == "__main__":
    main()
