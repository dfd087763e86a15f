"""The cut-down entity pipeline finds exactly what spaCy's full pipeline finds, on the corpus."""

from __future__ import annotations

import asyncio
from pathlib import Path

import spacy

from analyzers.base import Analyzers
from analyzers.entities import OFFLINE_MODEL

CORPUS = Path(__file__).parents[2] / "bench" / "corpus"


async def test_entity_offsets_and_labels_match_the_full_pipeline_on_the_corpus(
    offline: Analyzers,
) -> None:
    texts = [path.read_text(encoding="utf-8").strip() for path in sorted(CORPUS.glob("*.txt"))]
    assert len(texts) >= 50
    # Every component enabled: tok2vec, tagger, parser, attribute_ruler, lemmatizer, ner.
    full = spacy.load(OFFLINE_MODEL)
    assert "parser" in full.pipe_names
    expected = [
        [(entity.start_char, entity.end_char, entity.label_) for entity in doc.ents]
        for doc in full.pipe(texts)
    ]
    # Through the batcher, concurrently, as requests reach it: batches of mixed texts.
    served = await asyncio.gather(*(offline.entities.extract(text) for text in texts))
    found = [[(mention.start, mention.end, mention.label) for mention in doc] for doc in served]
    assert sum(map(len, expected)) > 300
    assert found == expected
