"""The HTTP API's request bodies and documented response shapes (the NDJSON API's JSON schema)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from server.core.settings import Settings
from server.core.validation import (
    MAX_STOP_CHARS,
    MAX_STOP_STRINGS,
    MAX_TEMPERATURE,
    MAX_TOP_P,
    MIN_TEMPERATURE,
    validate_analysis,
)

# Bounds are checked by server/core/validation.py, the same code the gRPC servicer runs, so the
# two transports cannot disagree; the models below only type the JSON. document_bounds()
# writes the configured bounds into the OpenAPI document so clients can see them.


def _whole(value: object) -> object:
    # JSON Schema counts 200.0 as an integer; strict validation would not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_whole)]


class ProcessRequest(BaseModel):
    """An analysis request: unknown keys are ignored, null means the default."""

    # Strict: JSON types as documented ("true" or 0 is not a boolean), as gRPC's are typed.
    model_config = ConfigDict(extra="ignore", strict=True)

    text: str = Field(description="The text to analyse, counted in Unicode code points.")
    include_sentiment: bool | None = Field(None, description="Sentiment per chunk and overall.")
    include_summary: bool | None = Field(
        None, description="A summary; only texts longer than the configured minimum get one."
    )
    include_entities: bool | None = Field(None, description="Named entities with offsets.")
    chunk_size: JsonInt | None = Field(None, description="Characters per sentiment chunk.")
    offset_unit: Literal["code_point", "utf16", "utf8"] | None = Field(
        None,
        description=(
            "What every offset in the response (chunk spans, entity start and end) counts: "
            "code points (the default), UTF-16 code units (JavaScript string indices) or "
            "UTF-8 bytes."
        ),
    )


class FeedDocument(ProcessRequest):
    """One line of a /process-feed body: the document's id and a /process-stream request."""

    id: str = Field(
        "", description="Chosen by the caller, 1 to 256 characters, unique within the feed."
    )


class GenerateRequest(BaseModel):
    """A generation request: the prompt and optional sampling settings."""

    model_config = ConfigDict(extra="ignore", strict=True)

    prompt: str = Field(description="The prompt, counted in Unicode code points.")
    max_new_tokens: JsonInt | None = Field(None, description="Tokens to generate at most.")
    temperature: float | None = Field(
        None,
        description=(
            "Unset or 0: greedy decoding. Otherwise sampling at this temperature, "
            f"{MIN_TEMPERATURE:g} to {MAX_TEMPERATURE:g}."
        ),
    )
    top_p: float | None = Field(
        None, description=f"Nucleus sampling mass, in (0, {MAX_TOP_P:g}]. Unset: 1."
    )
    # gRPC takes a uint64; JSON numbers are exact only up to 2**53 - 1 (JavaScript's limit).
    seed: Annotated[int, Field(ge=0, le=2**53 - 1), BeforeValidator(_whole)] | None = Field(
        None, description="Makes sampling repeatable."
    )
    stop: list[str] = Field(
        default_factory=list, description="Generation ends before the first of these strings."
    )


class Problem(BaseModel):
    """The body of every error but 422: what went wrong, safe to show, and the request id."""

    detail: str
    request_id: str


class BatchSentiment(BaseModel):
    label: str = Field(description="NEGATIVE, NEUTRAL or POSITIVE.")
    confidence: float
    scores: dict[str, float]
    positive_chunks: int
    neutral_chunks: int
    negative_chunks: int


class BatchEntity(BaseModel):
    text: str
    label: str
    description: str
    start: int
    end: int


class StageProblem(BaseModel):
    stage: str
    error: str
    kind: str


class StageSkip(BaseModel):
    stage: str
    reason: str


class BatchResponse(BaseModel):
    """The /process-batch result; a key is absent when its stage did not run."""

    request_id: str
    sentiment: BatchSentiment | None = None
    summary: str | None = None
    compression_ratio: float | None = None
    entities: list[BatchEntity] | None = None
    errors: list[StageProblem]
    skipped: list[StageSkip]
    processing_time: float
    stage_times: dict[str, float]


STREAM_STATUSES = (
    "started",
    "chunking",
    "chunked",
    "sentiment_processing",
    "sentiment_progress",
    "sentiment_complete",
    "summarization_processing",
    "summarization_progress",
    "summarization_complete",
    "summarization_skipped",
    "entities_processing",
    "entities_complete",
    "sentiment_error",
    "summarization_error",
    "entities_error",
    "error",
    "completed",
)

STREAM_LINE_SCHEMA: dict[str, Any] = {
    "title": "StreamEvent",
    "description": "One line of the NDJSON stream; the other fields depend on status.",
    "type": "object",
    "required": ["status", "sequence", "elapsed_seconds"],
    "properties": {
        "status": {"type": "string", "enum": list(STREAM_STATUSES)},
        "message": {"type": "string"},
        "sequence": {"type": "integer", "minimum": 0},
        "elapsed_seconds": {"type": "number", "minimum": 0},
    },
}


def document_bounds(openapi: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Writes the configured bounds and defaults into the request schemas of openapi."""
    schemas = openapi["components"]["schemas"]
    # The defaults are whatever validation fills in, so the document cannot drift from them.
    defaults = validate_analysis(settings, "x" * settings.min_text_chars)
    process = schemas["ProcessRequest"]["properties"]
    process["text"].update(
        minLength=settings.min_text_chars, maxLength=settings.max_text_chars, pattern=r"\S"
    )
    process["include_sentiment"]["default"] = defaults.include_sentiment
    process["include_summary"]["default"] = defaults.include_summary
    process["include_entities"]["default"] = defaults.include_entities
    process["chunk_size"].update(
        minimum=settings.min_chunk_size,
        maximum=settings.max_chunk_size,
        default=defaults.chunk_size,
    )
    process["offset_unit"]["default"] = "code_point"
    generate = schemas["GenerateRequest"]["properties"]
    generate["prompt"].update(minLength=1, maxLength=settings.max_prompt_chars, pattern=r"\S")
    generate["max_new_tokens"].update(
        minimum=1,
        maximum=settings.models.max_new_tokens_cap,
        default=settings.models.default_max_new_tokens,
    )
    # 0 (greedy), or a sampling temperature within the bounds.
    generate["temperature"]["anyOf"] = [
        {"type": "number", "const": 0},
        {"type": "number", "minimum": MIN_TEMPERATURE, "maximum": MAX_TEMPERATURE},
        {"type": "null"},
    ]
    generate["top_p"].update(exclusiveMinimum=0, maximum=MAX_TOP_P)
    generate["stop"].update(maxItems=MAX_STOP_STRINGS)
    generate["stop"]["items"].update(minLength=1, maxLength=MAX_STOP_CHARS)
    return openapi
