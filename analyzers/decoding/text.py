"""Turn one row's tokens into text as they come, holding back what the next token may change."""

from __future__ import annotations

from typing import Any

import torch
from transformers import TextStreamer

# Tokens kept before trying to trim the cache.
_TRIM_AT = 16


class TextDelta(TextStreamer):
    """transformers' TextStreamer rules for when text is final, returned instead of printed.

    Special tokens are not decoded; a word is released once it cannot change any more.
    """

    def __init__(self, tokenizer: Any) -> None:
        super().__init__(tokenizer, skip_prompt=False, skip_special_tokens=True)
        self._ready: list[str] = []

    def push(self, token: int) -> str:
        """Add one generated token; returns the text that became final (often "")."""
        self.put(torch.tensor([token]))  # type: ignore[no-untyped-call]  # unannotated upstream
        if len(self.token_cache) >= _TRIM_AT:
            self._trim()
        return self._take()

    def flush(self) -> str:
        """The text still held back, at the end of the row."""
        self.end()  # type: ignore[no-untyped-call]  # unannotated upstream
        return self._take()

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self._ready.append(text)

    def _trim(self) -> None:
        """Forget tokens whose text is all released, keeping the last one as context.

        TextStreamer decodes its whole cache on every token (and trims it only at a
        newline), which makes a long row quadratic; this is its newline trim, done as soon
        as nothing is held back.
        """
        text = str(self.tokenizer.decode(self.token_cache, **self.decode_kwargs))
        if len(text) != self.print_len or text.endswith("\ufffd"):
            return
        self.token_cache = self.token_cache[-1:]
        self.print_len = len(self.tokenizer.decode(self.token_cache, **self.decode_kwargs))

    def _take(self) -> str:
        text = "".join(self._ready)
        self._ready.clear()
        return text
