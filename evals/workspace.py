"""A throwaway home for one eval run: the suite's store ingested once, copied per dialogue.

Runs never touch the user's data (everything lives in a temporary folder, on SQLite, with
the embedded vector store) and dialogues never see each other's orders, carts or stock:
each trial gets its own copy of the freshly ingested database. The vector store is only
read during dialogues, so they share it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from evals.embedding import CachedQueryEmbedder
from evals.grounding import Catalog
from ingest.embed_cache import EmbeddingCache, merge_into
from shop.db import Database
from shop.errors import ConfigError
from shop.models import Order, Product
from shop.settings import Settings, load_settings

if TYPE_CHECKING:
    from agent.retrieval import Retriever

DB_NAME = "shopagent.db"
CACHE_NAME = "embedding-cache.sqlite"
"""Where ingest keeps its embedding cache inside a home (see ingest.pipeline)."""


class EvalSetupError(Exception):
    """The suite's store could not be prepared; the message says what went wrong."""


def default_embed_cache() -> Path:
    """A cache of embeddings shared by eval runs, keyed by text hash: it only saves work."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shopagent" / "eval-embedding-cache.sqlite"


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite file consistently (WAL included) with the backup API."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(str(source), timeout=30)) as src,
        closing(sqlite3.connect(str(target), timeout=30)) as dst,
    ):
        src.backup(dst)


@dataclass
class Workspace:
    root: Path
    settings: Settings
    merchant_id: str
    catalog: Catalog
    baseline_orders: int
    """Orders placed through checkout that the store already had (normally none)."""
    ingest_summary: str = ""
    rejected: list[str] = field(default_factory=list)
    """Rows of the store that ingest refused, as ``FILE:LINE: message``."""
    query_cache: EmbeddingCache | None = None
    shared_cache: Path | None = None
    """The cache shared between runs, which this run's new vectors are merged into on close."""

    @classmethod
    def create(
        cls,
        store: Path,
        merchant_id: str,
        embedder: str | None = None,
        embed_cache: Path | None = None,
        progress: bool = False,
    ) -> Workspace:
        """Ingest ``store`` into a new temporary home."""
        from ingest.pipeline import ingest_paths

        root = Path(tempfile.mkdtemp(prefix="shopagent-eval-"))
        try:
            settings = _settings(root / "home", root / "home" / DB_NAME, embedder)
            if embed_cache is not None and embed_cache.exists():
                _seed_cache(embed_cache, settings.home / CACHE_NAME)
            db = Database(settings.resolved_database_url)
            try:
                db.migrate()
                report = ingest_paths(settings, db, [store], merchant_id, progress=progress)
            finally:
                db.dispose()
            if report.exit_code == 1:
                problems = "; ".join(f"{e.file}:{e.line}: {e.message}" for e in report.errors[:5])
                raise EvalSetupError(
                    f"nothing could be ingested from {store}: {report.failure or problems or 'no usable files'}"
                )
            if embed_cache is not None and (settings.home / CACHE_NAME).exists():
                _save_cache(settings.home / CACHE_NAME, embed_cache)
            catalog, baseline = _read_store(settings, merchant_id)
            rejected = [f"{e.file}:{e.line}: {e.message}" for e in report.errors]
            # Query vectors go to the run's own cache and are merged into the shared one on close:
            # parallel runs then never write the shared file for long.
            cache = EmbeddingCache(settings.home / CACHE_NAME)
            return cls(
                root, settings, merchant_id, catalog, baseline, report.summary(), rejected, cache, embed_cache
            )
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise

    @property
    def snapshot(self) -> Path:
        return self.settings.home / DB_NAME

    def fork(self, name: str) -> tuple[Settings, Database]:
        """Settings and a database on a private copy of the ingested store."""
        target = self.root / "trials" / f"{name}.db"
        _sqlite_copy(self.snapshot, target)
        settings = _settings(self.settings.home, target, self.settings.embedder)
        return settings, Database(settings.resolved_database_url)

    def retriever(self, db: Database) -> Retriever:
        """The retriever ``build_retriever`` would make, with query vectors cached on disk."""
        from agent.retrieval import Retriever
        from shop.embedders import get_embedder
        from shop.vectors import open_vector_store

        embedder = get_embedder(self.settings.embedder)
        if self.query_cache is not None:
            embedder = CachedQueryEmbedder(embedder, self.query_cache)
        return Retriever(db, open_vector_store(self.settings), embedder)

    def discard(self, name: str, db: Database) -> None:
        db.dispose()
        for suffix in ("", "-wal", "-shm"):
            (self.root / "trials" / f"{name}.db{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        from shop.vectors import forget_vector_stores

        if self.query_cache is not None:
            self.query_cache.close()
            if self.shared_cache is not None:
                _save_cache(self.query_cache.path, self.shared_cache)
        forget_vector_stores()
        shutil.rmtree(self.root, ignore_errors=True)


def _seed_cache(shared: Path, private: Path) -> None:
    """Start the run's cache as a consistent copy of the shared one (empty if it cannot be read)."""
    try:
        _sqlite_copy(shared, private)
    except sqlite3.Error:
        for suffix in ("", "-wal", "-shm"):
            Path(str(private) + suffix).unlink(missing_ok=True)


def _save_cache(source: Path, target: Path) -> None:
    """Add the run's new embeddings to the shared cache (rows are merged, the file is never replaced)."""
    try:
        merge_into(source, target)
    except OSError:
        pass  # a cache that cannot be written only costs time on the next run


def _settings(home: Path, database: Path, embedder: str | None) -> Settings:
    overrides: dict[str, object] = {
        "home": home,
        "database_url": f"sqlite:///{database.resolve()}",
        "chroma_url": None,
        # Evals must never charge anyone, whatever the environment configures.
        "payment_provider": "manual",
    }
    if embedder:
        overrides["embedder"] = embedder
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise EvalSetupError(str(exc)) from None


def _read_store(settings: Settings, merchant_id: str) -> tuple[Catalog, int]:
    db = Database(settings.resolved_database_url)
    try:
        with db.session() as session:
            rows = session.execute(
                select(Product.sku, Product.title, Product.parent_sku).where(
                    Product.merchant_id == merchant_id
                )
            ).all()
            placed = session.scalar(
                select(func.count())
                .select_from(Order)
                .where(Order.merchant_id == merchant_id, Order.checkout_id.is_not(None))
            )
    finally:
        db.dispose()
    catalog = Catalog(
        titles={sku: title for sku, title, _ in rows},
        parents={sku: parent for sku, _, parent in rows if parent},
    )
    return catalog, int(placed or 0)
