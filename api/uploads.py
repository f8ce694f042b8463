"""Merchant uploads: saved under the home folder after checks that need no parsing.

What is refused here, before any ingest work is queued: files of a type ingest does not
read, bodies over the size cap (see :class:`api.limits.BodyLimitMiddleware`), archives
that expand too far or too fast (zip bombs), nested archives, XML with DTDs or entities
(billion laughs), and tables with more lines than the row limit. Ingest checks rows,
cells and encodings again in detail; these checks only stop the abusive cases early.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException
from fastapi import UploadFile

DOCUMENTS = frozenset({".md", ".txt", ".html", ".htm", ".pdf"})
CATALOGS = frozenset({".csv", ".tsv", ".json", ".jsonl", ".xml"})
STORE_FILES = frozenset({".yaml", ".yml"})
ACCEPTED = DOCUMENTS | CATALOGS | STORE_FILES
LINE_COUNTED = frozenset({".csv", ".tsv", ".jsonl"})
MAX_FILES = 500
MAX_RATIO = 200
"""Uncompressed/compressed ratio above which an archive member is treated as a bomb."""
EXPANSION = 5
"""An archive may expand to at most this many times the upload size limit in total."""
CHUNK = 1 << 16
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UploadRefused(Exception):
    """The upload breaks a limit or rule; ``status`` is 413 for sizes, 422 otherwise."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_rows: int


def safe_name(filename: str) -> str:
    """The file's base name reduced to safe characters (no paths, no leading dots)."""
    base = PurePosixPath(filename.replace("\\", "/")).name
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._") or "file"
    ext = _UNSAFE.sub("", ext).lower()
    return f"{stem[:100]}.{ext}" if ext else stem[:100]


def _unique(dest: Path, name: str) -> Path:
    path = dest / name
    stem, suffix, n = path.stem, path.suffix, 1
    while path.exists():
        n += 1
        path = dest / f"{stem}-{n}{suffix}"
    return path


def _check_type(name: str, allow_zip: bool) -> str:
    suffix = Path(name).suffix.lower()
    if suffix == ".zip" and allow_zip:
        return suffix
    if suffix == ".zip":
        raise UploadRefused(f"{name}: archives inside archives are not accepted")
    if suffix not in ACCEPTED:
        kinds = ", ".join(sorted(ACCEPTED | {".zip"}))
        raise UploadRefused(f"{name}: unsupported file type {suffix or '(none)'}: upload one of {kinds}")
    return suffix


def save_uploads(files: list[UploadFile], dest: Path, limits: UploadLimits) -> list[Path]:
    """Check and store the uploaded files (archives expanded) in ``dest``; returns the paths."""
    if not files:
        raise UploadRefused("no files: send one or more files in the multipart field 'files'")
    if len(files) > MAX_FILES:
        raise UploadRefused(f"too many files: at most {MAX_FILES} per upload", 413)
    dest.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    for upload in files:
        name = safe_name(upload.filename or "upload")
        suffix = _check_type(name, allow_zip=True)
        path = _unique(dest, name)
        size = 0
        with path.open("wb") as out:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > limits.max_bytes:
                    raise UploadRefused(f"{name} is larger than {limits.max_bytes} bytes", 413)
                out.write(chunk)
        if suffix == ".zip":
            saved.extend(expand_zip(path, dest, limits))
            path.unlink()
        else:
            saved.append(path)
    if len(saved) > MAX_FILES:
        raise UploadRefused(f"too many files: at most {MAX_FILES} per upload", 413)
    for path in saved:
        check_file(path, limits)
    return saved


def expand_zip(archive: Path, dest: Path, limits: UploadLimits) -> list[Path]:
    """Extract the accepted files of a zip, flattening folders; bombs are refused.

    Sizes in the archive's directory can lie, so bytes are counted while extracting.
    """
    budget = limits.max_bytes * EXPANSION
    out_paths: list[Path] = []
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [i for i in zf.infolist() if not i.is_dir() and not _ignored(i.filename)]
            if len(members) > MAX_FILES:
                raise UploadRefused(f"{archive.name} holds more than {MAX_FILES} files", 413)
            for info in members:
                name = safe_name(info.filename)
                _check_type(name, allow_zip=False)
                if info.file_size > limits.max_bytes or info.file_size > MAX_RATIO * max(
                    info.compress_size, 1
                ):
                    raise _bomb(archive.name, limits)
                path = _unique(dest, name)
                written = 0
                with zf.open(info) as src, path.open("wb") as out:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        budget -= len(chunk)
                        if (
                            written > limits.max_bytes
                            or budget < 0
                            or written > MAX_RATIO * max(info.compress_size, 1)
                        ):
                            raise _bomb(archive.name, limits)
                        out.write(chunk)
                out_paths.append(path)
    except zipfile.BadZipFile:
        raise UploadRefused(f"{archive.name} is not a readable zip archive") from None
    except (NotImplementedError, RuntimeError) as exc:  # encrypted or unsupported compression
        raise UploadRefused(f"{archive.name}: cannot extract ({exc}): use a plain, unencrypted zip") from None
    return out_paths


def _ignored(member: str) -> bool:
    # Hidden files and macOS resource forks; ".." is harmless here because names are flattened.
    parts = PurePosixPath(member.replace("\\", "/")).parts
    return any((p.startswith(".") and p not in (".", "..")) or p == "__MACOSX" for p in parts)


def _bomb(name: str, limits: UploadLimits) -> UploadRefused:
    return UploadRefused(
        f"{name} expands too much (a file over {limits.max_bytes} bytes, more than {MAX_RATIO}x compression, "
        f"or over {limits.max_bytes * EXPANSION} bytes in total): upload the files uncompressed or in parts",
        413,
    )


def check_file(path: Path, limits: UploadLimits) -> None:
    suffix = path.suffix.lower()
    if suffix == ".xml":
        check_xml(path)
    elif suffix in LINE_COUNTED:
        lines = 0
        with path.open("rb") as src:
            while chunk := src.read(CHUNK):
                lines += chunk.count(b"\n")
        # A header line plus max_rows rows, and a little slack for a trailing newline.
        if lines > limits.max_rows + 2:
            raise UploadRefused(
                f"{path.name} has more than {limits.max_rows} rows: split it into smaller files "
                "(or raise SHOPAGENT_MAX_ROWS)",
                413,
            )


def check_xml(path: Path) -> None:
    """Refuse XML that declares a DTD or entities, the carrier of billion-laughs bombs."""
    try:
        DET.parse(str(path), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise UploadRefused(
            f"{path.name}: XML with a DTD or entity declarations is refused (it can expand without limit); "
            "remove the <!DOCTYPE ...> block"
        ) from None
    except ParseError:
        return  # ingest reports malformed XML with its line number


def discard(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
