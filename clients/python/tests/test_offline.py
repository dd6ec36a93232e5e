"""The client's own behaviour, against a scripted transport: retries with
one Idempotency-Key, typed errors, Server-Sent Events, webhook signatures."""
import httpx
import pytest

import quire
from quire._core import SseParser


def scripted(*answers):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1]

    return httpx.MockTransport(handler), seen


def test_a_retried_post_sends_the_same_idempotency_key_and_a_new_call_a_new_one():
    busy = httpx.Response(503, headers={"retry-after": "0"}, json={"code": "service_saturated"})
    made = httpx.Response(202, json={"id": "job_1", "status": "queued"})
    transport, seen = scripted(busy, made, made)
    with quire.Client("http://quire.test", "qk_test", transport=transport) as q:
        assert q.create_job("doc_1", [{"name": "extract"}])["id"] == "job_1"
        q.create_job("doc_1", [{"name": "extract"}])
    keys = [r.headers["idempotency-key"] for r in seen]
    assert len(keys) == 3 and keys[0] == keys[1] and keys[2] != keys[0]
    assert seen[0].headers["authorization"] == "Bearer qk_test"


def test_refusals_are_typed_and_carry_the_problem_document():
    problem = {"type": "urn:quire:problem:not_found", "status": 404, "code": "not_found", "detail": "document doc_x", "request_id": "req_1"}
    transport, _ = scripted(httpx.Response(404, json=problem))
    with quire.Client("http://quire.test", "qk_test", transport=transport) as q:
        with pytest.raises(quire.NotFound) as raised:
            q.document("doc_x")
    assert raised.value.code == "not_found" and raised.value.problem == problem
    assert raised.value.request_id == "req_1"
    limited = httpx.Response(429, headers={"retry-after": "1"}, json={"code": "rate_limited"})
    transport, seen = scripted(limited)
    with quire.Client("http://quire.test", "qk_test", transport=transport, retries=1) as q:
        with pytest.raises(quire.RateLimited) as raised:
            q.usage()
    assert raised.value.retry_after == 1.0 and len(seen) == 2


async def test_the_async_client_retries_the_same_way():
    transport, seen = scripted(httpx.Response(502), httpx.Response(201, json={"id": "doc_1"}))
    async with quire.AsyncClient("http://quire.test", "qk_test", transport=transport) as q:
        doc = await q.upload_bytes(b"hello", "a.txt")
    assert doc["id"] == "doc_1"
    assert seen[0].headers["idempotency-key"] == seen[1].headers["idempotency-key"]
    assert seen[1].headers["content-type"] == "text/plain" and seen[1].headers["x-filename"] == "a.txt"


def test_server_sent_events_parse_with_json_data_and_keep_alives():
    parser = SseParser()
    lines = [": keep-alive", "event: progress", 'data: {"progress": 40}', "", "event: done", 'data: {"status": "succeeded"}', ""]
    events = [e for e in map(parser.feed, lines) if e]
    assert events == [{"event": "progress", "data": {"progress": 40}}, {"event": "done", "data": {"status": "succeeded"}}]


def test_webhook_signatures_verify_by_the_standard_webhooks_vector():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    body = '{"test": 2432232314}'
    assert quire.verify_webhook(secret, headers, body, now=1614265330) == {"test": 2432232314}
    with pytest.raises(quire.WebhookVerificationError):
        quire.verify_webhook(secret, headers, body.replace("2432", "9432"), now=1614265330)
    with pytest.raises(quire.WebhookVerificationError):
        quire.verify_webhook(secret, headers, body, now=1614265330 + 3600)


def test_every_route_the_client_calls_is_in_the_openapi_document():
    import json
    import pathlib
    import re

    from quire._core import ROUTES

    spec = json.loads((pathlib.Path(__file__).parents[3] / "docs" / "openapi.json").read_text())
    shape = lambda p: re.sub(r"\{[^}]+\}", "{}", p)
    documented = {(m.upper(), shape(p)) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    missing = [r for r in ROUTES if (r[0], shape(r[1])) not in documented]
    assert not missing, missing


def test_the_schema_types_carry_what_the_openapi_document_requires():
    import json
    import pathlib

    spec = json.loads((pathlib.Path(__file__).parents[3] / "docs" / "openapi.json").read_text())
    for name, schema in spec["components"]["schemas"].items():
        typed = getattr(quire.schema, name)
        assert typed.__required_keys__ == frozenset(schema.get("required", [])) or not schema.get("properties"), name
        assert set(schema.get("properties", {})) == typed.__required_keys__ | typed.__optional_keys__, name
    assert {"id", "status", "progress"} <= quire.schema.Job.__required_keys__


def test_the_bookmark_kept_is_the_newest_in_every_database_place():
    from quire.client import newest_bookmark

    old, new = "0000000a-00000001", "0000000b-00000001"
    # One database: the newer wins, whichever arrives last.
    assert newest_bookmark(None, old) == old
    assert newest_bookmark(new, old) == new
    # Two: replies to concurrent calls may each be newer in another place.
    assert newest_bookmark(f"{new},{old}", f"{old},{new}") == f"{new},{new}"
    # An untouched place (empty) never erases a known one.
    assert newest_bookmark(f"{old},{new}", f"{new}") == f"{new},{new}"
    assert newest_bookmark(None, f",{new}") == f",{new}"

    seen = iter([f"{old},{new}", f"{new}"])
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"quire-bookmark": next(seen)}, json={"data": []})
    )
    with quire.Client("http://quire.test", "qk_test", transport=transport) as q:
        q.jobs()
        q.jobs()
        assert q.bookmark == f"{new},{new}"
