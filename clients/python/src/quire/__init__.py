"""Quire: documents in, text, structure and answers out.

    from quire import Client
    with Client() as q:                      # QUIRE_URL, QUIRE_API_KEY
        result = q.extract("report.pdf")
        print(result["markdown"])

The shapes of what the API answers are TypedDicts in `quire.schema`,
generated from the OpenAPI document (`Job`, `Document`, `ExtractResult`, …).
"""
from . import schema
from .client import AsyncClient, Client
from .errors import (
    AuthenticationError,
    Conflict,
    InvalidRequest,
    JobFailed,
    NotFound,
    PermissionDenied,
    QuireError,
    RateLimited,
    ServiceUnavailable,
)
from .webhooks import WebhookVerificationError, verify as verify_webhook

__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "Conflict",
    "InvalidRequest",
    "JobFailed",
    "NotFound",
    "PermissionDenied",
    "QuireError",
    "RateLimited",
    "ServiceUnavailable",
    "WebhookVerificationError",
    "schema",
    "verify_webhook",
]
