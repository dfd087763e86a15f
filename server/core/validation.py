"""Request validation at the edge: every bad field named, before any model runs."""

from __future__ import annotations

import math

from analyzers.types import GenerationParams
from server.core.errors import FieldViolation, InvalidRequest
from server.core.events import AnalysisRequest
from server.core.offsets import OffsetUnit
from server.core.settings import Settings

MAX_STOP_STRINGS = 8
MAX_STOP_CHARS = 64
# Sampling temperature: unset or 0 is greedy decoding; any other value must lie in
# [MIN_TEMPERATURE, MAX_TEMPERATURE]. Far below the minimum, logits / temperature overflow and
# sampling turns to NaN; far above the maximum, the next token is close to uniform noise.
MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 5.0
# Nucleus sampling mass: in (0, MAX_TOP_P]; unset is 1, the whole distribution.
MAX_TOP_P = 1.0
# A feed document's id, in code points: echoed on its update and remembered (as a digest) to
# refuse duplicates, so it is kept short.
MAX_FEED_ID_CHARS = 256


def validate_analysis(
    settings: Settings,
    text: str,
    include_sentiment: bool | None = None,
    include_summary: bool | None = None,
    include_entities: bool | None = None,
    chunk_size: int | None = None,
) -> AnalysisRequest:
    """An AnalysisRequest with the contract's defaults, or InvalidRequest naming every bad field."""
    violations = _text_violations("text", text, settings.min_text_chars, settings.max_text_chars)
    size = settings.default_chunk_size if chunk_size is None else chunk_size
    if not settings.min_chunk_size <= size <= settings.max_chunk_size:
        violations.append(
            FieldViolation(
                "chunk_size",
                f"must be between {settings.min_chunk_size} and {settings.max_chunk_size} "
                f"characters (got {size})",
            )
        )
    if violations:
        raise InvalidRequest(violations)
    return AnalysisRequest(
        text=text,
        include_sentiment=True if include_sentiment is None else include_sentiment,
        include_summary=True if include_summary is None else include_summary,
        include_entities=False if include_entities is None else include_entities,
        chunk_size=size,
    )


def validate_process(
    settings: Settings,
    text: str,
    include_sentiment: bool | None = None,
    include_summary: bool | None = None,
    include_entities: bool | None = None,
    chunk_size: int | None = None,
    offset_unit: OffsetUnit | int | None = None,
) -> tuple[AnalysisRequest, OffsetUnit]:
    """validate_analysis, and the unit of the response's offsets (None: code points).

    An int offset_unit is a wire value that names no unit (an enum number from a newer or
    garbled client): a violation beside any other field's, so the client learns every one.
    """
    violations = []
    if isinstance(offset_unit, OffsetUnit):
        unit = offset_unit
    else:
        unit = OffsetUnit.CODE_POINT
        if offset_unit is not None:
            violations.append(
                FieldViolation(
                    "offset_unit",
                    f"unknown offset unit {offset_unit}: must be code points, UTF-16 or UTF-8",
                )
            )
    try:
        analysis = validate_analysis(
            settings, text, include_sentiment, include_summary, include_entities, chunk_size
        )
    except InvalidRequest as invalid:
        raise InvalidRequest(invalid.violations + violations) from None
    if violations:
        raise InvalidRequest(violations)
    return analysis, unit


def validate_generation(
    settings: Settings,
    prompt: str,
    max_new_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    stop: tuple[str, ...] = (),
) -> tuple[str, GenerationParams]:
    """The prompt and GenerationParams, or InvalidRequest naming every bad field."""
    violations = _text_violations("prompt", prompt, 1, settings.max_prompt_chars)
    cap = settings.models.max_new_tokens_cap
    tokens = settings.models.default_max_new_tokens if max_new_tokens is None else max_new_tokens
    if not 1 <= tokens <= cap:
        violations.append(
            FieldViolation("max_new_tokens", f"must be between 1 and {cap} (got {tokens})")
        )
    if temperature is not None and not valid_temperature(temperature):
        violations.append(
            FieldViolation(
                "temperature",
                f"must be 0 (greedy) or between {MIN_TEMPERATURE:g} and {MAX_TEMPERATURE:g} "
                f"(got {temperature:g})",
            )
        )
    if top_p is not None and not (math.isfinite(top_p) and 0 < top_p <= MAX_TOP_P):
        violations.append(FieldViolation("top_p", f"must be in (0, {MAX_TOP_P:g}] (got {top_p:g})"))
    if len(stop) > MAX_STOP_STRINGS:
        violations.append(
            FieldViolation("stop", f"at most {MAX_STOP_STRINGS} strings (got {len(stop)})")
        )
    for index, item in enumerate(stop):
        if not 1 <= len(item) <= MAX_STOP_CHARS:
            violations.append(
                FieldViolation(
                    f"stop[{index}]", f"must be 1 to {MAX_STOP_CHARS} characters (got {len(item)})"
                )
            )
    if violations:
        raise InvalidRequest(violations)
    params = GenerationParams(
        max_new_tokens=tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        stop=tuple(stop),
    )
    return prompt, params


def feed_id_violations(document_id: str) -> list[FieldViolation]:
    """What is wrong with a feed document's id on its own (duplicates are the feed's to find)."""
    if not document_id:
        return [FieldViolation("id", "must not be empty: each document of a feed needs an id")]
    if len(document_id) > MAX_FEED_ID_CHARS:
        return [
            FieldViolation(
                "id", f"must be at most {MAX_FEED_ID_CHARS} characters (got {len(document_id)})"
            )
        ]
    return []


def valid_temperature(temperature: float) -> bool:
    """0 (greedy decoding), or a finite sampling temperature within the documented bounds."""
    return temperature == 0 or MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE


def _text_violations(name: str, text: str, minimum: int, maximum: int) -> list[FieldViolation]:
    # len() counts code points, as the contract does.
    length = len(text)
    if length < minimum:
        return [FieldViolation(name, f"must be at least {minimum} characters (got {length})")]
    if length > maximum:
        return [FieldViolation(name, f"must be at most {maximum} characters (got {length})")]
    if not text.strip():
        return [FieldViolation(name, "must contain something other than whitespace")]
    return []
