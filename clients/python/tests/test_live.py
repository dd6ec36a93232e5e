"""The client against the running service (`npm test` starts it and sets
QUIRE_URL and QUIRE_API_KEY: tests/e2e/clients.test.mjs)."""
import os
import subprocess
import sys

import pytest

import quire

URL, KEY = os.environ.get("QUIRE_URL"), os.environ.get("QUIRE_API_KEY")
pytestmark = pytest.mark.skipif(not (URL and KEY), reason="needs the running service (npm test)")


@pytest.fixture
def q():
    with quire.Client(URL, KEY) as client:
        yield client


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("# Quarterly report\n\nRevenue grew in every region.\n\n| Region | Revenue |\n|---|---|\n| North | 10 |\n| South | 12 |\n")
    return str(path)


def test_extract_uploads_waits_and_returns_text_markdown_and_elements(q, report):
    seen = []
    result = q.extract(report, progress=lambda done, total: seen.append((done, total)))
    assert "Revenue grew in every region." in result["text"]
    assert result["markdown"].startswith("# Quarterly report")
    kinds = [e["type"] for e in result["elements"]]
    assert "heading" in kinds and "table" in kinds
    assert seen and seen[-1][0] == seen[-1][1]


def test_a_job_with_chunks_waits_on_its_event_stream(q, report):
    doc = q.upload(report)
    job = q.create_job(doc["id"], [{"name": "extract"}, {"name": "chunk", "options": {"max_size": 60, "overlap": 0}}])
    progress = []
    done = q.wait(job["id"], progress=lambda p, _: progress.append(p))
    assert done["status"] == "succeeded" and progress[-1] == 100
    chunks = q.result(job["id"], "chunk")["chunks"]
    table = [c["text"] for c in chunks if "North" in c["text"] or "South" in c["text"]]
    assert table and all(t.startswith("Region\tRevenue") for t in table)
    listed = q.jobs(document_id=doc["id"])
    assert [j["id"] for j in listed["data"]] == [job["id"]] and listed["next_cursor"] is None
    assert all(j["status"] == "succeeded" for j in q.jobs(status="succeeded", limit=5)["data"])
    with pytest.raises(ValueError):
        q.jobs(state="done")


def test_a_resumable_upload_sends_parts_and_reports_progress(q, tmp_path):
    path = tmp_path / "big.txt"
    line = "All work and no play makes a long text file.\n"
    path.write_text(line * (9 * 1024 * 1024 // len(line)))
    sent = []
    doc = q.upload(str(path), "text/plain", progress=lambda d, t: sent.append(d), resumable=True)
    assert doc["size_bytes"] == os.path.getsize(path)
    assert sent[-1] == os.path.getsize(path)


def test_the_client_sends_back_the_newest_bookmark(q, report):
    doc = q.upload(report)
    first = q.bookmark
    assert first and all(part and all(c in "0123456789abcdef" for c in part) for part in first.split("-"))
    q.delete_document(doc["id"])
    assert q.bookmark >= first


def test_refusals_raise_typed_errors_with_the_problem(q):
    with pytest.raises(quire.NotFound) as missing:
        q.job("job_does_not_exist")
    assert missing.value.problem["status"] == 404 and missing.value.request_id
    with pytest.raises(quire.InvalidRequest) as bad:
        q.create_job("doc_x", [{"name": "teleport"}])
    assert bad.value.status == 422


def test_keys_are_created_with_scope_lists_listed_and_revoked(q):
    made = q.create_key("python client test", "member", ["documents:read", "jobs:read"])
    assert made["secret"] and made["scopes"]
    assert any(k["id"] == made["id"] for k in q.keys())
    with quire.Client(URL, made["secret"]) as limited:
        with pytest.raises(quire.PermissionDenied):
            limited.create_key("not allowed")
    q.revoke_key(made["id"])
    with quire.Client(URL, made["secret"], retries=0) as revoked:
        with pytest.raises(quire.AuthenticationError):
            revoked.keys()


def test_usage_reports_the_month(q):
    usage = q.usage()
    assert "period" in usage and "usage" in usage


async def test_the_async_client_extracts_too(report):
    async with quire.AsyncClient(URL, KEY) as q:
        result = await q.extract(report)
    assert "Quarterly report" in result["text"]


def test_the_cli_prints_markdown_and_fails_typed(report):
    env = {**os.environ, "QUIRE_URL": URL, "QUIRE_API_KEY": KEY}
    out = subprocess.run([sys.executable, "-m", "quire.cli", "extract", report, "--format", "markdown"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# Quarterly report")
    bad = subprocess.run([sys.executable, "-m", "quire.cli", "jobs", "get", "job_nope"], capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and "not_found" in bad.stderr
    listed = subprocess.run([sys.executable, "-m", "quire.cli", "jobs", "list", "--status", "succeeded"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    assert '"data"' in listed.stdout


def test_the_langchain_loader_gives_documents_per_chunk(report):
    pytest.importorskip("langchain_core")
    from quire.langchain import QuireLoader

    with quire.Client(URL, KEY) as q:
        docs = QuireLoader(report, mode="chunks", client=q).load()
    assert docs and docs[0].metadata["source"] == report
    assert "Revenue" in " ".join(d.page_content for d in docs)
