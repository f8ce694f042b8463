"""One imported τ² store per run, copied fresh for every trial and every reference replay.

Importing takes about a second; copying the SQLite file takes milliseconds, so each task
starts from exactly the same database without re-importing. The copies are made under one
path served by one engine, so SQLAlchemy's statement cache (kept per engine) survives from
copy to copy; a store therefore hands out one copy at a time.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from ingest.tau2 import DEFAULT_MERCHANT, ImportSummary, import_database
from shop.db import Database


def _scratch_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # A scratch copy needs no durability: skipping fsync makes each trial several times faster.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    cur.close()


class TemplateStore:
    def __init__(self, workdir: Path, db_json: Path, merchant_id: str = DEFAULT_MERCHANT) -> None:
        self.workdir = Path(workdir)
        self.db_json = Path(db_json)
        self.merchant_id = merchant_id
        self.template = self.workdir / "template.db"
        self.working = self.workdir / "working.db"
        self._db: Database | None = None
        self._in_use = False
        self.summary: ImportSummary | None = None

    def build(self) -> ImportSummary:
        """Migrate and import into the template file once."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        db = Database(f"sqlite:///{self.template}")
        try:
            db.migrate()
            self.summary = import_database(db, self.db_json, self.merchant_id)
        finally:
            db.dispose()
        # Fold the write-ahead log into the main file so a plain file copy is complete.
        conn = sqlite3.connect(self.template)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        return self.summary

    @contextmanager
    def fresh(self) -> Iterator[Database]:
        """A private copy of the imported store, valid until the block ends."""
        if self._in_use:
            raise RuntimeError("a TemplateStore hands out one copy at a time")
        if self.summary is None:
            self.build()
        if self._db is None:
            self._db = Database(f"sqlite:///{self.working}")
            event.listen(self._db.engine, "connect", _scratch_pragmas)
        self._in_use = True
        try:
            self._db.dispose()
            self._remove_working()
            shutil.copyfile(self.template, self.working)
            yield self._db
        finally:
            self._db.dispose()
            self._in_use = False

    def _remove_working(self) -> None:
        for path in (
            self.working,
            self.working.with_name(self.working.name + "-wal"),
            self.working.with_name(self.working.name + "-shm"),
        ):
            path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None
        self._remove_working()
