"""Expand the paths given to ``shopagent ingest`` into files, enforcing the upload size limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.detect import INGESTIBLE_SUFFIXES, is_store_config
from ingest.loaders.promotions import is_promotions_name
from ingest.records import RowError, SourceFile


@dataclass
class Collected:
    sources: list[SourceFile] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def collect_sources(paths: list[Path], max_bytes: int) -> Collected:
    """Files to read, in a stable order; folders are walked (hidden files, READMEs and non-data files skipped)."""
    out = Collected()
    seen: set[Path] = set()
    for given in paths:
        if given.is_dir():
            for path in sorted(given.rglob("*")):
                rel = path.relative_to(given)
                if not path.is_file() or any(part.startswith(".") for part in rel.parts):
                    continue
                # A README describes the folder for people; it is not shop content.
                is_readme = path.stem.lower() == "readme"
                if not is_readme and (
                    path.suffix.lower() in INGESTIBLE_SUFFIXES
                    or is_store_config(path.name)
                    or is_promotions_name(path.name)
                ):
                    _add(out, seen, path, str(path), rel.as_posix(), max_bytes)
                else:
                    out.skipped.append(str(path))
        elif given.is_file():
            _add(out, seen, given, str(given), given.name, max_bytes)
        else:
            out.errors.append(RowError(str(given), 0, "no such file or folder"))
    return out


def _add(out: Collected, seen: set[Path], path: Path, name: str, key: str, max_bytes: int) -> None:
    resolved = path.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    size = path.stat().st_size
    if size > max_bytes:
        out.errors.append(
            RowError(
                name,
                0,
                f"the file is {_mb(size)}; the limit is {_mb(max_bytes)} (split it or raise SHOPAGENT_MAX_UPLOAD_BYTES)",
            )
        )
        return
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        out.errors.append(RowError(name, 0, f"cannot read the file: {exc.strerror or exc}"))
        return
    if len(data) > max_bytes:  # grew while we looked
        out.errors.append(RowError(name, 0, f"the file is larger than {_mb(max_bytes)}"))
        return
    out.sources.append(SourceFile(path=path, name=name, data=data, key=key))
