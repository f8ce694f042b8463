"""Ingest as a background job: uploads are queued, run one at a time, and polled for status.

One worker thread runs every job in order, so two uploads of one merchant never race on
the same rows. A job's status is kept in memory (the last few hundred jobs) and its final
report is the one the CLI prints: the same ``FILE:LINE: message`` row errors and exit code.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from api.uploads import discard
from shop.db import Database
from shop.settings import Settings

log = logging.getLogger("shopagent.jobs")

JobStatus = Literal["queued", "running", "done", "failed"]
KEEP_JOBS = 500


@dataclass(frozen=True)
class IngestOutcome:
    exit_code: int
    errors: list[str]
    report: dict[str, Any]


IngestFunction = Callable[[str, list[Path], bool, Callable[[float, str], None]], IngestOutcome]
"""(merchant_id, paths, replace, progress(fraction, stage)) -> outcome."""


@dataclass
class IngestJob:
    job_id: str
    merchant_id: str
    files: list[str]
    folder: Path
    replace: bool
    status: JobStatus = "queued"
    progress: float = 0.0
    stage: str = "queued"
    exit_code: int | None = None
    errors: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "merchant_id": self.merchant_id,
            "status": self.status,
            "files": list(self.files),
            "progress": round(self.progress, 3),
            "stage": self.stage,
            "exit_code": self.exit_code,
            "errors": list(self.errors),
            "report": self.report,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
        }


class IngestJobs:
    def __init__(self, run: IngestFunction, uploads_root: Path) -> None:
        self._run = run
        self.uploads_root = uploads_root
        self._jobs: OrderedDict[str, IngestJob] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")

    def new_folder(self, merchant_id: str) -> tuple[str, Path]:
        job_id = uuid.uuid4().hex
        return job_id, self.uploads_root / merchant_id / job_id

    def submit(
        self, job_id: str, merchant_id: str, folder: Path, paths: list[Path], replace: bool
    ) -> IngestJob:
        job = IngestJob(job_id, merchant_id, [p.name for p in paths], folder, replace)
        with self._lock:
            self._jobs[job_id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)
        self._pool.submit(self._execute, job, paths)
        return job

    def get(self, merchant_id: str, job_id: str) -> IngestJob | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.merchant_id == merchant_id else None

    def recent(self, merchant_id: str) -> list[IngestJob]:
        with self._lock:
            return [job for job in reversed(self._jobs.values()) if job.merchant_id == merchant_id]

    def wait(self, timeout: float | None = None) -> None:
        """Block until every job queued so far has finished (tests and shutdown)."""
        marker: Future[None] = self._pool.submit(lambda: None)
        marker.result(timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _execute(self, job: IngestJob, paths: list[Path]) -> None:
        def progress(fraction: float, stage: str) -> None:
            job.progress = min(1.0, max(job.progress, fraction))
            job.stage = stage

        job.status, job.stage = "running", "reading files"
        try:
            outcome = self._run(job.merchant_id, paths, job.replace, progress)
        except Exception as exc:
            log.exception("ingest job %s failed", job.job_id)
            job.status, job.stage, job.exit_code = "failed", "failed", 1
            job.errors = [
                f"ingest failed because of a problem on the server ({type(exc).__name__}); nothing was changed"
            ]
        else:
            job.exit_code, job.errors, job.report = outcome.exit_code, outcome.errors, outcome.report
            job.status = "done" if outcome.exit_code in (0, 3) else "failed"
            job.progress, job.stage = 1.0, "finished"
        finally:
            job.finished_at = datetime.now(UTC)
            discard(job.folder)


def pipeline_runner(settings: Settings, db: Database) -> IngestFunction:
    """The real ingest (:func:`ingest.pipeline.ingest_paths`) as a job function."""

    def run(
        merchant_id: str, paths: list[Path], replace: bool, progress: Callable[[float, str], None]
    ) -> IngestOutcome:
        from ingest.pipeline import ingest_paths

        folders = sorted({str(p.parent) for p in paths})
        progress(0.1, "ingesting")
        report = ingest_paths(settings, db, [Path(f) for f in folders], merchant_id, replace)
        return IngestOutcome(
            exit_code=report.exit_code,
            errors=[_relative(str(error), folders) for error in report.errors],
            report=_relative_report(report.to_json(), folders),
        )

    return run


def _relative(text: str, folders: list[str]) -> str:
    """Name files as the merchant uploaded them, not by the server's temporary folder."""
    for folder in folders:
        text = text.replace(folder.rstrip("/") + "/", "")
    return text


def _relative_report(report: dict[str, Any], folders: list[str]) -> dict[str, Any]:
    for entry in [*report.get("errors", []), *report.get("files", [])]:
        for key in ("file", "message", "error"):
            if isinstance(entry.get(key), str):
                entry[key] = _relative(entry[key], folders)
    report["skipped"] = [_relative(str(s), folders) for s in report.get("skipped", [])]
    return report
