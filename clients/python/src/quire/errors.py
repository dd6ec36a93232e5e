"""Errors carry the server's problem document (RFC 9457)."""
from __future__ import annotations

from typing import Any, Dict, Optional


class QuireError(Exception):
    """A request Quire refused or could not serve.

    ``problem`` is the problem+json document as sent (``type``, ``title``,
    ``status``, ``detail``, ``code``, ``request_id`` …); ``code`` is its
    machine-readable code, ``retry_after`` the server's hint in seconds.
    """

    def __init__(self, status: int, problem: Dict[str, Any], retry_after: Optional[float] = None):
        self.status = status
        self.problem = problem
        self.code: str = str(problem.get("code") or "http_%d" % status)
        self.detail: str = str(problem.get("detail") or problem.get("title") or "")
        self.request_id: Optional[str] = problem.get("request_id")
        self.retry_after = retry_after
        super().__init__("%d %s: %s" % (status, self.code, self.detail))


class AuthenticationError(QuireError):
    """401: no credential, or one that is not (or no longer) good."""


class PermissionDenied(QuireError):
    """403: the credential lacks the scope or access."""


class NotFound(QuireError):
    """404."""


class Conflict(QuireError):
    """409: e.g. a job's result before it has one."""


class InvalidRequest(QuireError):
    """400, 413, 415 and 422: the request itself is wrong."""


class RateLimited(QuireError):
    """429: over a rate limit or budget; ``retry_after`` says when to retry."""


class ServiceUnavailable(QuireError):
    """5xx after the client's retries."""


class JobFailed(QuireError):
    """A job ended ``failed`` (its typed error) or ``cancelled``."""

    def __init__(self, job: Dict[str, Any]):
        error = job.get("error") or {}
        problem = {"code": error.get("code") or job.get("status"), "detail": error.get("message", ""), "job": job}
        super().__init__(0, problem)
        self.job = job


def error_for(status: int, problem: Dict[str, Any], retry_after: Optional[float]) -> QuireError:
    kind = {401: AuthenticationError, 403: PermissionDenied, 404: NotFound, 409: Conflict, 429: RateLimited}.get(status)
    if kind is None:
        kind = ServiceUnavailable if status >= 500 else InvalidRequest
    return kind(status, problem, retry_after)
