"""When to reload the support lines: a fingerprint of the line files (pure)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def fingerprint(*folders: Path) -> str:
    """A digest of the names, sizes and modification times of every YAML file in ``folders``.

    Cheap enough to take every couple of seconds; a change means the files must be loaded
    (and validated) again. Contents are hashed by the loader itself (``config_hash``).
    """
    digest = hashlib.sha256()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.y*ml")):
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()
