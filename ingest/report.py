"""The outcome of one ingest run: counts, rejected rows, and the exit code DESIGN.md fixes.

Exit codes: 0 everything accepted; 3 some rows rejected, the rest stored; 1 nothing could
be ingested and nothing already stored was changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ingest.records import RowError

EXIT_OK = 0
EXIT_NOTHING = 1
EXIT_PARTIAL = 3


@dataclass
class FileOutcome:
    file: str
    loader: str
    accepted: int = 0
    rejected: int = 0
    error: str = ""


@dataclass
class IngestReport:
    merchant_id: str
    files: list[FileOutcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    """Files in ingested folders that are not merchant data (images, hidden files)."""
    failure: str = ""
    """Set when the run stopped before storing anything (or before finishing the vector store)."""
    duration_s: float = 0.0

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def exit_code(self) -> int:
        if self.failure or self.accepted == 0:
            return EXIT_NOTHING
        return EXIT_PARTIAL if self.errors else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {
            "merchant_id": self.merchant_id,
            "exit_code": self.exit_code,
            "accepted": self.accepted,
            "rejected": len(self.errors),
            "counts": dict(sorted(self.counts.items())),
            "files": [vars(f) for f in self.files],
            "errors": [e.to_json() for e in self.errors],
            "skipped": self.skipped,
            "failure": self.failure,
            "duration_s": round(self.duration_s, 3),
        }

    def summary(self) -> str:
        c = self.counts
        parts = [
            f"products: {c['products_added']} added, {c['products_updated']} updated, "
            f"{c['products_unchanged']} unchanged, {c['products_removed']} removed",
            f"documents: {c['documents_added'] + c['documents_updated']} stored "
            f"({c['chunks_written']} chunks), {c['documents_unchanged']} unchanged",
            f"orders: {c['orders_added']} added, {c['orders_updated']} updated",
            f"embedded {c['embedded']} texts ({c['embedding_cache_hits']} from cache)",
        ]
        if c["customers_added"] or c["customers_updated"]:
            parts.insert(3, f"customers: {c['customers_added']} added, {c['customers_updated']} updated")
        if c["promotions_added"] or c["promotions_updated"] or c["promotions_unchanged"]:
            parts.insert(
                3,
                f"promotions: {c['promotions_added']} added, {c['promotions_updated']} updated, "
                f"{c['promotions_unchanged']} unchanged",
            )
        if c["vectors_repaired"]:
            parts.append(f"repaired {c['vectors_repaired']} vector records left by an interrupted run")
        head = f"merchant {self.merchant_id}: " + "; ".join(parts)
        tail = f"{len(self.errors)} rejected" if self.errors else "nothing rejected"
        return f"{head}; {tail} ({self.duration_s:.1f} s)"
