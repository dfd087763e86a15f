"""Transport-neutral generation: the generator's event stream for a validated prompt."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from analyzers.base import TextGenerator
from analyzers.types import GenerationEvent, GenerationParams
from server.core.errors import GeneratorMissing

NO_GENERATOR = (
    "no generator model is configured: set models.generator_model in the settings file or "
    "TEXTSTREAM_MODELS__GENERATOR_MODEL to a causal language model id or folder"
)


class Generation:
    """What Pipeline is to analysis: both transports run generation calls through it."""

    def __init__(self, generator: TextGenerator | None) -> None:
        self._generator = generator

    def run(self, prompt: str, params: GenerationParams) -> AsyncGenerator[GenerationEvent, None]:
        """GenerationStarted, GeneratedText pieces, then GenerationFinished.

        Raises GeneratorMissing, saying how to configure one, when there is no generator.
        Closing the stream stops generation at the next token.
        """
        if self._generator is None:
            raise GeneratorMissing(NO_GENERATOR)
        return self._generator.generate(prompt, params)
