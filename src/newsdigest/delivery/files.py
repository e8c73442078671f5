"""Delivery: digest files written atomically to the digest folder, and any other file the package writes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old content or the new, never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_digest_files(rendered: Mapping[str, str], out_dir: Path, digest_date: date) -> dict[str, Path]:
    """Write each rendered format as <out_dir>/<date>.<ext>; returns the paths by extension."""
    paths: dict[str, Path] = {}
    for extension, text in rendered.items():
        path = out_dir / f"{digest_date.isoformat()}.{extension}"
        write_atomic(path, text)
        paths[extension] = path
    return paths
