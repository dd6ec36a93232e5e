"""Verifying Quire's webhooks (Standard Webhooks: ``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">`` under the tenant's ``whsec_…`` secret)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Mapping, Optional, Union


class WebhookVerificationError(Exception):
    pass


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: Union[bytes, str],
    tolerance: int = 300,
    now: Optional[float] = None,
) -> Any:
    """The event, parsed, when the signature is good and the timestamp
    within ``tolerance`` seconds; else :class:`WebhookVerificationError`."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, stamp, signatures = h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]
    except KeyError as missing:
        raise WebhookVerificationError("missing header %s" % missing) from None
    try:
        sent = int(stamp)
    except ValueError:
        raise WebhookVerificationError("bad webhook-timestamp") from None
    if abs((now if now is not None else time.time()) - sent) > tolerance:
        raise WebhookVerificationError("timestamp outside the tolerance")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    mac = hmac.new(key, ("%s.%s.%s" % (msg_id, stamp, text)).encode("utf-8"), hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode("ascii")
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return json.loads(text)
    raise WebhookVerificationError("no matching signature")
