"""Named entities with spaCy, batched across requests through nlp.pipe."""

from __future__ import annotations

import functools
import logging
from typing import Any

import spacy
from spacy import glossary

from analyzers.batcher import BatchLimits, MicroBatcher
from analyzers.errors import AnalyzerError, InputRejectedError
from analyzers.failures import model_failures
from analyzers.process_worker import ProcessWorker
from analyzers.sources import OFFLINE_ENTITIES
from analyzers.types import EntityMention

OFFLINE_MODEL = OFFLINE_ENTITIES
WARM_UP_TEXT = "Ada Lovelace worked with Charles Babbage in London for the Analytical Society."

log = logging.getLogger(__name__)


class SpacyEntities:
    """spaCy's named entities, the pipeline running in a process of its own (EntityPipeline)."""

    def __init__(self, model: str = OFFLINE_MODEL, *, limits: BatchLimits | None = None) -> None:
        limits = limits or BatchLimits()
        self.name = model
        # spaCy keeps the GIL for most of a text: in this process it would hold up the event
        # loop (see analyzers/process_worker.py).
        self._pipeline = ProcessWorker(f"entities {model}", f"{__name__}:EntityPipeline", model)
        info: dict[str, Any] = self._pipeline.info
        self.max_length: int = info["max_length"]
        self.active_components: list[str] = info["components"]
        self._batcher: MicroBatcher[str, list[EntityMention]] = MicroBatcher.with_limits(
            "entities", self._extract_batch, limits
        )

    @property
    def queue(self) -> MicroBatcher[str, list[EntityMention]]:
        return self._batcher

    @property
    def process_id(self) -> int | None:
        """The pipeline's process (None while it restarts)."""
        return self._pipeline.pid

    async def extract(self, text: str) -> list[EntityMention]:
        # Checked here: inside nlp.pipe one over-long text would fail its whole batch.
        if len(text) > self.max_length:
            raise InputRejectedError(
                f"{self.name}: text of {len(text)} characters is over the "
                f"{self.max_length} the entity model accepts"
            )
        with model_failures(self.name):
            return await self._batcher.submit(text)

    def warm(self) -> None:
        self._batcher.run_now([WARM_UP_TEXT])

    def run_sample(self, text: str) -> None:
        self._batcher.run_now([text])

    def close(self) -> None:
        self._batcher.close()
        self._pipeline.close()

    def _extract_batch(self, texts: list[str]) -> list[list[EntityMention]]:
        mentions: list[list[EntityMention]] = self._pipeline.call("extract", texts)
        return mentions


class EntityPipeline:
    """In the entity model's process: the spaCy pipeline cut down to what sets doc.ents."""

    def __init__(self, model: str) -> None:
        self._nlp = spacy.load(model)
        self._components = keep_entity_components(self._nlp, model)

    def describe(self) -> dict[str, Any]:
        return {"max_length": self._nlp.max_length, "components": self._components}

    def extract(self, texts: list[str]) -> list[list[EntityMention]]:
        return [
            [_mention(entity) for entity in doc.ents]
            for doc in self._nlp.pipe(texts, batch_size=len(texts))
        ]


def _mention(entity: Any) -> EntityMention:
    return EntityMention(
        text=entity.text,
        label=entity.label_,
        description=describe(entity.label_),
        # spaCy's character offsets index the Python str: code points.
        start=entity.start_char,
        end=entity.end_char,
    )


@functools.cache
def describe(label: str) -> str:
    """spacy.explain(label), or "" for a label the glossary does not know."""
    explanation = glossary.explain(label)  # type: ignore[no-untyped-call]  # unannotated upstream
    return str(explanation) if explanation else ""


def keep_entity_components(nlp: Any, model: str) -> list[str]:
    """Disable every component that neither sets entities nor feeds one that does.

    In en_core_web_sm the NER has its own embedding layer, so tok2vec, tagger, parser,
    attribute_ruler and lemmatizer all go and a text costs about a third of the full pipeline.
    A pipeline whose NER listens to a shared tok2vec or transformer keeps that component.
    """
    needed = {
        name
        for name in nlp.pipe_names
        if any(
            attr.startswith(("doc.ents", "token.ent")) for attr in nlp.get_pipe_meta(name).assigns
        )
    }
    if not needed:
        raise AnalyzerError(f"spaCy pipeline {model} has no named-entity component")
    for name, component in nlp.pipeline:
        listeners = getattr(component, "listening_components", None) or []
        if needed.intersection(listeners):
            needed.add(name)
    for name in list(nlp.pipe_names):
        if name not in needed:
            nlp.disable_pipe(name)
    log.info("%s: running %s", model, ", ".join(nlp.pipe_names))
    return list(nlp.pipe_names)
