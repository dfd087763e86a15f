"""Request messages from keyword arguments: None stays unset so the server's defaults apply."""

from __future__ import annotations

from collections.abc import Iterable

from textstream_client.protos import textstream_pb2 as pb


def process_request(
    text: str,
    *,
    include_sentiment: bool | None = None,
    include_summary: bool | None = None,
    include_entities: bool | None = None,
    chunk_size: int | None = None,
) -> pb.ProcessRequest:
    request = pb.ProcessRequest(text=text)
    # proto3 `optional`: assigning sets presence, so only the arguments given are assigned.
    if include_sentiment is not None:
        request.include_sentiment = include_sentiment
    if include_summary is not None:
        request.include_summary = include_summary
    if include_entities is not None:
        request.include_entities = include_entities
    if chunk_size is not None:
        request.chunk_size = chunk_size
    return request


def generate_request(
    prompt: str,
    *,
    max_new_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    stop: Iterable[str] = (),
) -> pb.GenerateRequest:
    request = pb.GenerateRequest(prompt=prompt, stop=list(stop))
    if max_new_tokens is not None:
        request.max_new_tokens = max_new_tokens
    if temperature is not None:
        request.temperature = temperature
    if top_p is not None:
        request.top_p = top_p
    if seed is not None:
        request.seed = seed
    return request
