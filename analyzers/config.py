"""Typed settings for the analyzers: profile, model ids or folders, device and batching."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Profile = Literal["offline", "hub"]


class ModelSettings(BaseModel):
    """Which models run where; passed down from the server's settings."""

    # A misspelt key in the TOML [models] table is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")

    profile: Profile = "offline"
    # "auto" picks CUDA when present, else CPU; or "cpu", "cuda", "cuda:N".
    device: str = "auto"
    # Weights and activations of every torch model: "auto" is float16 on CUDA, bfloat16 on
    # a CPU with AVX512-BF16 or AMX, float32 elsewhere.
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    # torch intra-op threads per model on a CPU; 0: the thread layout's rule (analyzers/cpu.py:
    # the torch models share the cores, less one for spaCy and the rest when the request's
    # CPU time, measured at load, says that pays). OMP_NUM_THREADS wins over both.
    intra_op_threads: int = Field(0, ge=0, le=1024)
    # Cores the thread layout plans for; 0: those available to the process (affinity and
    # cgroup quota). `serve --workers N` gives each worker its share.
    cpu_cores: int = Field(0, ge=0, le=4096)
    # How much higher the nice value of model work (its threads and processes) is than the
    # event loop's, so that the loop gets a core at once for every call (analyzers/priority.py);
    # 0 runs everything at one priority.
    work_niceness: int = Field(10, ge=0, le=19)
    # The extractive summary's sentence encoder as one frozen TorchScript graph, which runs
    # without taking the GIL per op (analyzers/traced.py); false keeps the eager model.
    trace_encoder: bool = True
    # Empty means the profile's default model; any Hugging Face id or local folder replaces it.
    sentiment_model: str = ""
    summary_model: str = ""
    entities_model: str = ""
    # Unset in the offline profile: GenerateStream answers FAILED_PRECONDITION.
    generator_model: str = ""

    # Micro-batching across streams.
    max_batch_size: int = Field(64, ge=1, le=1024)
    max_batch_wait_ms: float = Field(2.0, ge=0, le=1000)
    # Tokens per transformer batch (sum of padded lengths); bounds memory on long chunks.
    max_batch_tokens: int = Field(16384, ge=64)
    max_queued_items: int = Field(4096, ge=1)
    # Sentences per batch of the extractive summary's encoder, which sorts each batch by
    # length: sentences of all lengths from many texts need a larger batch than chunks of
    # one size to find neighbours of equal length and not pay for padding (1,024 against 512:
    # ~10% less encoder time per text on the corpus).
    max_batch_sentences: int = Field(1024, ge=1, le=4096)

    # Summary length bounds, in tokens, as the seed's max_length / min_length.
    summary_max_tokens: int = Field(130, ge=8)
    summary_min_tokens: int = Field(30, ge=1)

    # Continuous batching of the generative models (hub summary, generator), per model.
    # Rows decoded together in one forward pass per step.
    decode_max_rows: int = Field(32, ge=1, le=1024)
    # Cache positions all decoding rows may hold together (each row: its input plus the
    # tokens it may generate); bounds key/value cache memory.
    decode_max_cache_tokens: int = Field(65536, ge=64)
    # Requests waiting for a free row; past this, calls are refused with RESOURCE_EXHAUSTED.
    decode_max_queued: int = Field(256, ge=1)

    # Generation.
    max_new_tokens_cap: int = Field(512, ge=1)
    default_max_new_tokens: int = Field(64, ge=1)
    # A decoding request that gets no token for this long is stopped and fails as stalled.
    generation_token_timeout_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _bounds_agree(self) -> ModelSettings:
        """Bounds that are each valid alone must also agree with each other."""
        problems = []
        if self.default_max_new_tokens > self.max_new_tokens_cap:
            problems.append(
                f"default_max_new_tokens ({self.default_max_new_tokens}) must be at most "
                f"max_new_tokens_cap ({self.max_new_tokens_cap})"
            )
        if self.summary_min_tokens >= self.summary_max_tokens:
            problems.append(
                f"summary_min_tokens ({self.summary_min_tokens}) must be less than "
                f"summary_max_tokens ({self.summary_max_tokens})"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self
