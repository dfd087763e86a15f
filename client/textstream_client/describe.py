"""Plain-text names and one-line descriptions of updates, for people and non-terminals."""

from __future__ import annotations

from textstream_client.protos import textstream_pb2 as pb


def stage_name(stage: int) -> str:
    """pb.STAGE_SUMMARY -> "summary"."""
    return pb.Stage.Name(stage).removeprefix("STAGE_").lower()


def label_name(label: int) -> str:
    """pb.SENTIMENT_LABEL_POSITIVE -> "positive"."""
    return pb.SentimentLabel.Name(label).removeprefix("SENTIMENT_LABEL_").lower()


def finish_name(reason: int) -> str:
    return pb.FinishReason.Name(reason).removeprefix("FINISH_REASON_").lower()


def timings(completed: pb.Completed) -> str:
    parts = [f"{stage_name(t.stage)} {t.seconds:.2f}s" for t in completed.stage_seconds]
    return ", ".join(parts)


def _entities(result: pb.EntitiesResult) -> str:
    found = ", ".join(f"{e.text} ({e.label})" for e in result.entities)
    return f"{result.total} found" + (f": {found}" if found else "")


def describe(update: pb.StageUpdate) -> str:
    """One readable line, e.g. "sentiment  2/5  positive 0.71"."""
    kind = update.WhichOneof("update")
    if kind == "started":
        stages = ", ".join(stage_name(s) for s in update.started.stages)
        started = update.started
        return f"started    request {started.request_id}, {started.text_length} chars: {stages}"
    if kind == "stage_started":
        return f"stage      {stage_name(update.stage_started.stage)}"
    if kind == "chunked":
        return f"chunked    {update.chunked.chunk_count} chunks"
    if kind == "sentiment_progress":
        p = update.sentiment_progress
        return (
            f"sentiment  {p.chunk_index + 1}/{p.chunk_count}  "
            f"{label_name(p.chunk.label)} {p.chunk.confidence:.2f}"
        )
    if kind == "sentiment":
        s = update.sentiment
        return (
            f"sentiment  {label_name(s.label)} {s.confidence:.2f} "
            f"({s.positive_chunks} positive, {s.neutral_chunks} neutral, "
            f"{s.negative_chunks} negative chunks)"
        )
    if kind == "summary_delta":
        return f"summary +  {update.summary_delta.text.strip()}"
    if kind == "summary":
        summary = update.summary
        return f"summary    {summary.text} (compression {summary.compression_ratio:.2f})"
    if kind == "entities":
        return f"entities   {_entities(update.entities)}"
    if kind == "stage_skipped":
        return f"skipped    {stage_name(update.stage_skipped.stage)}: {update.stage_skipped.reason}"
    if kind == "stage_error":
        e = update.stage_error
        return f"error      {stage_name(e.stage)}: {e.code_name} {e.message}"
    if kind == "completed":
        c = update.completed
        return f"completed  {c.total_seconds:.2f}s ({timings(c)})"
    return f"update     {kind or 'unknown'}"


def describe_generation_end(completed: pb.GenerateCompleted) -> str:
    return (
        f"[{finish_name(completed.finish_reason)}, {completed.tokens} tokens, "
        f"{completed.tokens_per_second:.1f} tokens/s]"
    )
