"""Fixtures for the τ²-bench retail tests: the domain folder, one imported store per session
(copied fresh for each test that writes), and the tasks by id.

The data lives outside the repository (``../shared/tau2-retail`` beside it, MIT); point
``SHOPAGENT_TAU2_DIR`` at another copy if needed. Without it these tests are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.tau2.store import TemplateStore
from evals.tau2.tasks import Task, load_tasks
from shop.db import Database

CANDIDATES = (
    Path(__file__).resolve().parents[3] / "shared" / "tau2-retail",  # beside the repository
    Path("/work/shared/tau2-retail"),  # the workplace's shared folder, for clones made elsewhere
)


@pytest.fixture(scope="session")
def tau2_dir() -> Path:
    given = os.environ.get("SHOPAGENT_TAU2_DIR")
    folders = [Path(given)] if given else list(CANDIDATES)
    for folder in folders:
        if (folder / "db.json").is_file():
            return folder
    pytest.skip(f"τ² retail data not found at {', '.join(map(str, folders))} (set SHOPAGENT_TAU2_DIR)")


@pytest.fixture(scope="session")
def tau2_store(tau2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateStore]:
    store = TemplateStore(tmp_path_factory.mktemp("tau2"), tau2_dir / "db.json")
    store.build()
    yield store
    store.close()


@pytest.fixture(scope="session")
def tasks(tau2_dir: Path) -> dict[str, Task]:
    return {t.id: t for t in load_tasks(tau2_dir)}


@pytest.fixture
def fresh(tau2_store: TemplateStore) -> Iterator[Database]:
    with tau2_store.fresh() as db:
        yield db
