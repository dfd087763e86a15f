"""The documents of `textstream feed`: JSON Lines (id, text, request options) or files."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from textstream_client.protos import textstream_pb2 as pb
from textstream_client.requests import process_request

# A JSON Lines document's request options: ProcessRequest's fields, as in the .proto.
OPTIONS = ("include_sentiment", "include_summary", "include_entities", "chunk_size")


class BadInput(ValueError):
    """A line or file that holds no document; the message says where."""


def jsonl_documents(lines: Iterable[str], defaults: dict[str, Any]) -> Iterator[pb.FeedRequest]:
    """One FeedRequest per non-blank line: {"id": ..., "text": ..., options}; a line without
    an id gets its position ("0", "1", ...), as plain texts do. defaults fill unset options."""
    position = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
        except json.JSONDecodeError as error:
            raise BadInput(f"line {number}: not JSON ({error.msg})") from None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise BadInput(f'line {number}: not a JSON object with a "text" string')
        doc_id = body.get("id", str(position))
        if not isinstance(doc_id, str):
            raise BadInput(f'line {number}: "id" must be a string')
        options = {**defaults, **{k: body[k] for k in OPTIONS if body.get(k) is not None}}
        try:
            request = process_request(body["text"], **options)
        except (TypeError, ValueError) as error:
            raise BadInput(f"line {number}: {error}") from None
        position += 1
        yield pb.FeedRequest(id=doc_id, request=request)


def file_documents(paths: Iterable[Path], defaults: dict[str, Any]) -> Iterator[pb.FeedRequest]:
    """One FeedRequest per file, read as it is sent; its id is the file's name."""
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise BadInput(f"cannot read {path}: {error}") from None
        yield pb.FeedRequest(id=path.name, request=process_request(text, **defaults))
