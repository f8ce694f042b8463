"""The body of ``shopagent ingest``: run the pipeline, print rejections, write the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ingest import tau2
from ingest.pipeline import ingest_paths
from ingest.report import IngestReport
from shop.db import open_database
from shop.settings import load_settings


def run_ingest(paths: list[Path], merchant: str | None, report_path: Path | None, replace: bool) -> int:
    """Ingest and return the exit code (0 all accepted, 3 some rows rejected, 1 nothing ingested)."""
    settings = load_settings()
    db = open_database(settings)
    try:
        report = ingest_paths(
            settings,
            db,
            paths,
            merchant or tau2.default_merchant(paths) or settings.merchant,
            replace=replace,
            progress=sys.stderr.isatty(),
        )
    finally:
        db.dispose()
    print_report(report)
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(
            json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return report.exit_code


def print_report(report: IngestReport) -> None:
    for error in report.errors:
        print(str(error), file=sys.stderr)
    if report.failure:
        return  # already printed as the last error, with what to do next
    if report.exit_code == 1:
        print(
            f"nothing was ingested for merchant {report.merchant_id}; nothing stored was changed.",
            file=sys.stderr,
        )
        return
    print(report.summary())
