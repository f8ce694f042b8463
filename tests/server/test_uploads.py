"""Merchant uploads: background ingest with the CLI's row errors, and the limits that refuse abuse."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.service import Agent
from api.jobs import IngestJob
from api.uploads import safe_name
from server import create_app
from shop.db import Database
from shop.settings import Settings
from tests.conftest import MERCHANT, KeywordRetriever
from tests.server.conftest import bearer, make_agent, server_settings

BASE = f"/v1/merchants/{MERCHANT}"
CATALOG = (
    "id,title,price,stock,category\n"
    "NEW-1,Camp Chair,35.00,4,furniture\n"
    "NEW-2,Camp Table,,2,furniture\n"
    "NEW-3,Folding Stool,12.50,9,furniture\n"
)
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss><channel><item><title>&lol3;</title></item></channel></rss>
"""


@pytest.fixture
def small_settings(settings: Settings) -> Settings:
    return server_settings(settings, max_upload_bytes=64 * 1024, max_rows=50)


@pytest.fixture
def small_client(small_settings: Settings, db: Database, retriever: KeywordRetriever) -> Iterator[TestClient]:
    agent: Agent = make_agent(small_settings, db, retriever)
    with TestClient(create_app(small_settings, agent)) as client:
        yield client


def wait_for(client: TestClient, job_id: str) -> dict[str, object]:
    client.app.state.shop.jobs.wait(timeout=120)  # type: ignore[attr-defined]
    return client.get(f"{BASE}/ingest/{job_id}", headers=client.headers).json()  # type: ignore[no-any-return]


def upload(client: TestClient, key: str, *files: tuple[str, bytes]) -> object:
    return client.post(
        f"{BASE}/uploads",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        headers=bearer(key),
    )


def test_upload_runs_ingest_in_the_background_with_cli_row_errors(
    small_client: TestClient, keys: dict[str, str], small_settings: Settings, db: Database, tmp_path: Path
) -> None:
    response = upload(small_client, keys[MERCHANT], ("products.csv", CATALOG.encode()))
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    job = response.json()  # type: ignore[attr-defined]
    assert job["status"] in ("queued", "running") and job["files"] == ["products.csv"]

    small_client.headers.update(bearer(keys[MERCHANT]))
    status = wait_for(small_client, job["job_id"])
    assert status["status"] == "done" and status["exit_code"] == 3 and status["progress"] == 1
    assert len(status["errors"]) == 1 and str(status["errors"][0]).startswith("products.csv:3: ")  # type: ignore[index]

    # The CLI reports the same rows for the same file.
    from ingest.pipeline import ingest_paths

    again = tmp_path / "cli" / "products.csv"
    again.parent.mkdir()
    again.write_text(CATALOG)
    report = ingest_paths(small_settings, db, [again], MERCHANT)
    assert [str(e).replace(str(again), "products.csv") for e in report.errors] == status["errors"]

    listed = small_client.get(f"{BASE}/products", params={"q": "camp"}).json()
    assert [p["sku"] for p in listed["items"]] == ["NEW-1"]
    assert [j["job_id"] for j in small_client.get(f"{BASE}/ingest").json()] == [job["job_id"]]
    other = small_client.get(f"/v1/merchants/other/ingest/{job['job_id']}", headers=bearer(keys["other"]))
    assert other.status_code == 404


def test_zip_archives_are_expanded(small_client: TestClient, keys: dict[str, str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "shop/../../products.csv", CATALOG.replace("NEW-2,Camp Table,,2", "NEW-2,Camp Table,20.00,2")
        )
        archive.writestr("__MACOSX/._products.csv", "junk")
    response = upload(small_client, keys[MERCHANT], ("store.zip", buffer.getvalue()))
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    assert response.json()["files"] == ["products.csv"]  # type: ignore[attr-defined]
    small_client.headers.update(bearer(keys[MERCHANT]))
    assert wait_for(small_client, response.json()["job_id"])["exit_code"] == 0  # type: ignore[attr-defined]


def test_oversized_uploads_are_refused(small_client: TestClient, keys: dict[str, str]) -> None:
    big = upload(small_client, keys[MERCHANT], ("products.csv", b"x" * (200 * 1024)))
    assert big.status_code == 413  # type: ignore[attr-defined]


def test_zip_bombs_are_refused(small_client: TestClient, keys: dict[str, str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("products.csv", b"0" * (20 * 1024 * 1024))  # ~20 KB compressed, 1000x
    assert len(buffer.getvalue()) < 64 * 1024
    response = upload(small_client, keys[MERCHANT], ("bomb.zip", buffer.getvalue()))
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert "expands too much" in response.json()["detail"]  # type: ignore[attr-defined]


def test_nested_archives_and_unknown_types_are_refused(
    small_client: TestClient, keys: dict[str, str]
) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("a.csv", "id,title,price\n")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("inner.zip", inner.getvalue())
    nested = upload(small_client, keys[MERCHANT], ("outer.zip", outer.getvalue()))
    assert nested.status_code == 422 and "inside archives" in nested.json()["detail"]  # type: ignore[attr-defined]
    exe = upload(small_client, keys[MERCHANT], ("setup.exe", b"MZ"))
    assert exe.status_code == 422 and "unsupported file type" in exe.json()["detail"]  # type: ignore[attr-defined]
    assert upload(small_client, keys[MERCHANT], ("broken.zip", b"PK not really")).status_code == 422  # type: ignore[attr-defined]


def test_billion_laughs_xml_is_refused(small_client: TestClient, keys: dict[str, str]) -> None:
    response = upload(small_client, keys[MERCHANT], ("feed.xml", BILLION_LAUGHS.encode()))
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "DTD" in response.json()["detail"]  # type: ignore[attr-defined]


def test_tables_over_the_row_limit_are_refused(small_client: TestClient, keys: dict[str, str]) -> None:
    rows = "id,title,price\n" + "".join(f"S-{i},Item {i},1.00\n" for i in range(60))
    response = upload(small_client, keys[MERCHANT], ("products.csv", rows.encode()))
    assert response.status_code == 413 and "more than 50 rows" in response.json()["detail"]  # type: ignore[attr-defined]


def test_uploads_need_the_merchants_key(small_client: TestClient, keys: dict[str, str]) -> None:
    assert upload(small_client, keys["other"], ("products.csv", CATALOG.encode())).status_code == 403  # type: ignore[attr-defined]
    anonymous = small_client.post(f"{BASE}/uploads", files=[("files", ("products.csv", CATALOG.encode()))])
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\shop\\Prekės.CSV", "Prek_s.csv"),
        (".hidden", "file.hidden"),
        ("", "file"),
    ],
)
def test_safe_names(given: str, expected: str) -> None:
    assert safe_name(given) == expected


def test_a_failing_ingest_marks_the_job_failed(tmp_path: Path) -> None:
    from api.jobs import IngestJobs

    def broken(*_args: object) -> object:
        raise RuntimeError("disk full")

    jobs = IngestJobs(broken, tmp_path)  # type: ignore[arg-type]
    job_id, folder = jobs.new_folder(MERCHANT)
    folder.mkdir(parents=True)
    job: IngestJob = jobs.submit(job_id, MERCHANT, folder, [], True)
    jobs.wait(timeout=10)
    assert (job.status, job.exit_code) == ("failed", 1) and "RuntimeError" in job.errors[0]
    assert not folder.exists()
    jobs.shutdown()


def test_job_reports_never_show_the_servers_folders(
    small_client: TestClient, keys: dict[str, str], small_settings: Settings
) -> None:
    job = upload(small_client, keys[MERCHANT], ("broken.json", b'{"products": [1, 2'))
    small_client.headers.update(bearer(keys[MERCHANT]))
    status = wait_for(small_client, job.json()["job_id"])  # type: ignore[attr-defined]
    assert status["exit_code"] == 1
    shown = str(status)
    assert "broken.json" in shown
    assert str(small_settings.home) not in shown and "/tmp" not in shown
