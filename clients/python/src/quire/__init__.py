"""Quire: documents in, text, structure and answers out.

    from quire import Client
    with Client() as q:                      # QUIRE_URL, QUIRE_API_KEY
        result = q.extract("report.pdf")
        print(result["markdown"])
"""
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
    "verify_webhook",
]
