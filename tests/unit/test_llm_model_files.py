"""Assembling a chunked model file: order, sha256 check, nothing left behind on a mismatch."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from infra.llm.model_files import MODELS, ModelFilesError, assemble, model_path


def _chunks(tmp_path: Path) -> tuple[list[Path], bytes]:
    parts = []
    for index, data in enumerate((b"GGUF-first-", b"second-", b"third")):
        part = tmp_path / f"part{index + 1:02d}.bin"
        part.write_bytes(data)
        parts.append(part)
    return parts, b"GGUF-first-second-third"


def test_chunks_are_concatenated_in_order_and_verified(tmp_path: Path) -> None:
    parts, whole = _chunks(tmp_path)
    dest = tmp_path / "cache" / "model.gguf"

    path = assemble(parts, dest, size=len(whole), sha256=hashlib.sha256(whole).hexdigest())

    assert path == dest
    assert dest.read_bytes() == whole
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.gguf"]


def test_sha256_mismatch_leaves_nothing_behind(tmp_path: Path) -> None:
    parts, whole = _chunks(tmp_path)
    dest = tmp_path / "cache" / "model.gguf"
    wrong = hashlib.sha256(whole[::-1]).hexdigest()

    with pytest.raises(ModelFilesError, match="sha256"):
        assemble(parts, dest, size=len(whole), sha256=wrong)

    assert list(dest.parent.iterdir()) == []  # neither the model nor a temporary file


def test_chunks_in_the_wrong_order_do_not_verify(tmp_path: Path) -> None:
    parts, whole = _chunks(tmp_path)
    dest = tmp_path / "model.gguf"

    with pytest.raises(ModelFilesError):
        assemble(parts[::-1], dest, size=len(whole), sha256=hashlib.sha256(whole).hexdigest())
    assert not dest.exists()


def test_missing_chunk_is_an_error(tmp_path: Path) -> None:
    parts, whole = _chunks(tmp_path)
    parts[1].unlink()

    with pytest.raises(OSError):
        assemble(parts, tmp_path / "m.gguf", size=len(whole), sha256="0" * 64)
    assert not (tmp_path / "m.gguf").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_unknown_model_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesError, match=r"qwen2\.5-coder-1\.5b"):
        model_path("gpt-9", cache=tmp_path)


def test_cached_file_of_the_right_size_is_reused(tmp_path: Path) -> None:
    model = MODELS["qwen2.5-0.5b"]
    cached = tmp_path / "llm" / model.filename
    cached.parent.mkdir(parents=True)
    with cached.open("wb") as sparse:  # a sparse file: the size is what the cache checks
        sparse.truncate(model.size)

    assert model_path(model.key, cache=tmp_path) == cached
