"""Image build step: download the hub profile's models into local folders and check they load.

Run by the Dockerfile's `models` stage only (needs the network); the server then reads the
folders with HF_HUB_OFFLINE=1. One folder per role, so the image's environment stays the same
whichever model id was baked in; /models/manifest.json records what each folder holds.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, snapshot_download

# Files the server needs besides the weights; everything else (TF, Flax, ONNX, Rust weights,
# duplicate .bin when .safetensors exist) is left on the hub.
_SUPPORT_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "*.model",
    "README.md",
    "LICENSE*",
)


def _pick_files(files: list[str]) -> list[str]:
    top = [name for name in files if "/" not in name]
    weights = [name for name in top if name.endswith(".safetensors")]
    if not weights:
        weights = [name for name in top if fnmatch(name, "pytorch_model*.bin")]
    if not weights:
        raise SystemExit(f"no PyTorch weights (safetensors or .bin) among {top}")
    index = [name for name in top if name.endswith(".index.json")]
    support = [name for name in top if any(fnmatch(name, p) for p in _SUPPORT_FILES)]
    return sorted({*weights, *index, *support})


def _fetch(api: HfApi, spec: str, dest: Path) -> dict[str, Any]:
    repo_id, _, revision = spec.partition("@")
    info = api.model_info(repo_id, revision=revision or None)
    files = _pick_files([sibling.rfilename for sibling in info.siblings or []])
    snapshot_download(repo_id, revision=info.sha, local_dir=dest, allow_patterns=files)
    # local_dir keeps download metadata in .cache/; the image does not need it.
    shutil.rmtree(dest / ".cache", ignore_errors=True)
    return {"repo_id": repo_id, "revision": info.sha, "files": files}


def _check_loads(folder: Path, model_class: Callable[..., Any]) -> None:
    # Fails the build, not the pod, when the installed transformers cannot read the folder.
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model_class(folder, local_files_only=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dest", type=Path, required=True)
    parser.add_argument("--sentiment", required=True, help="hub id[@revision]")
    parser.add_argument("--summary", required=True, help="hub id[@revision]")
    args = parser.parse_args()

    from transformers import AutoModelForSeq2SeqLM, AutoModelForSequenceClassification

    api = HfApi()
    roles = {
        "sentiment": (args.sentiment, AutoModelForSequenceClassification.from_pretrained),
        "summary": (args.summary, AutoModelForSeq2SeqLM.from_pretrained),
    }
    manifest = {}
    for role, (spec, _model_class) in roles.items():
        folder = args.dest / role
        manifest[role] = _fetch(api, spec, folder)
        print(f"{role}: {manifest[role]['repo_id']}@{manifest[role]['revision']} -> {folder}")
    for role, (_spec, model_class) in roles.items():
        _check_loads(args.dest / role, model_class)
    (args.dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
