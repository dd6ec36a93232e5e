"""Schemathesis hooks for Quire's run (tests/e2e/schemathesis.test.mjs).

Idempotency keys: a client sends a new key for every distinct request; a
key reused for a different request is refused (422 idempotency_key_reused),
as the Idempotency-Key draft says. Generated values collide ("0", "a"), so
every well-formed key is made unique. Malformed ones are left as generated,
so the negative phase still checks that they are refused.
"""

import re
import uuid

import schemathesis

WELL_FORMED = re.compile(r"^[\x21-\x7e]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str):
            if WELL_FORMED.match(headers[name]):
                headers[name] = f"st-{uuid.uuid4().hex}"
