"""Ingest and search against a real Chroma server (``chroma run`` on loopback)."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agent.retrieval import ProductFilters, build_retriever
from ingest.pipeline import ingest_paths
from shop.db import open_database
from shop.settings import Settings
from shop.vectors import forget_vector_stores, open_vector_store
from tests.ingest.support import FIXTURES


def _chroma_cli() -> str | None:
    beside_python = Path(sys.executable).parent / "chroma"
    return str(beside_python) if beside_python.exists() else shutil.which("chroma")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    cli = _chroma_cli()
    if cli is None:
        pytest.skip("the `chroma` command is not installed (pip install chromadb provides it)")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    process = subprocess.Popen(
        [cli, "run", "--path", str(data), "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma run did not come up on {url}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_ingest_and_search_through_a_chroma_server(chroma_url, tmp_path):
    settings = Settings(_env_file=None, home=tmp_path, embedder="hash", chroma_url=chroma_url)  # type: ignore[call-arg]
    db = open_database(settings)
    try:
        first = ingest_paths(settings, db, [FIXTURES / "catalog.csv", FIXTURES / "docs"], "srv")
        assert first.exit_code == 0 and first.counts["embedded"] > 0
        store = open_vector_store(settings)
        assert store.where == chroma_url
        assert set(store.stamps("srv", "products", "hash")) == {"TENT-2", "BAG-W", "JKT-S", "JKT-M", "MUG"}
        second = ingest_paths(settings, db, [FIXTURES / "catalog.csv", FIXTURES / "docs"], "srv")
        assert second.counts["embedded"] == 0
        retriever = build_retriever(settings, db)
        hits = retriever.search_products("srv", "shell jacket", ProductFilters(in_stock=True), limit=3)
        assert hits[0].parent_sku == "JKT" and all(h.in_stock for h in hits)
        assert retriever.search_policies("srv", "return window days", limit=1)[0].doc_id.startswith(
            "doc:returns"
        )
        assert retriever.search_products("someone-else", "shell jacket") == []
    finally:
        db.dispose()
        forget_vector_stores()


def test_unreachable_server_is_a_config_error(tmp_path):
    from shop.errors import ConfigError

    settings = Settings(_env_file=None, home=tmp_path, chroma_url=f"http://127.0.0.1:{_free_port()}")  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="cannot reach the Chroma server"):
        open_vector_store(settings)
