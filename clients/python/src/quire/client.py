"""Quire's clients: :class:`Client` (blocking) and :class:`AsyncClient`
(``async``/``await``), with the same methods, on httpx.

Every POST carries an ``Idempotency-Key``, generated once per call and sent
again on each retry, so a retried upload or job is created once. Requests
are retried on connection errors, 429, 502, 503 and 504, honouring
``Retry-After``. A refusal raises a :class:`quire.QuireError` subclass
carrying the server's problem document.
"""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional

import httpx

from . import _core
from ._core import Call, Op, Progress, Reply, Sleep
from .errors import error_for
from .schema import ApiKey, ApiKeyWithSecret, Document, ExtractResult, Job, JobPage

RETRY_STATUSES = (429, 502, 503, 504)
DEFAULT_URL = "http://127.0.0.1:8787"


def settings(base_url: Optional[str], api_key: Optional[str]) -> "tuple[str, str]":
    """The base URL and key: arguments, else QUIRE_URL / QUIRE_API_KEY,
    else ``~/.config/quire/config.toml`` (``url = …``, ``api_key = …``)."""
    file: Dict[str, Any] = {}
    path = Path(os.environ.get("QUIRE_CONFIG", Path.home() / ".config" / "quire" / "config.toml"))
    if path.exists():
        try:
            import tomllib  # Python 3.11+
        except ImportError:  # pragma: no cover
            tomllib = None
        if tomllib:
            file = tomllib.loads(path.read_text())
    url = base_url or os.environ.get("QUIRE_URL") or file.get("url") or DEFAULT_URL
    key = api_key or os.environ.get("QUIRE_API_KEY") or file.get("api_key")
    if not key:
        raise ValueError("no API key: pass api_key, set QUIRE_API_KEY or api_key in %s" % path)
    return url.rstrip("/"), key


def newest_bookmark(kept: Optional[str], seen: str) -> str:
    """The fresher of two ``Quire-Bookmark`` values, place by place: the
    header holds one D1 bookmark per database (comma-separated), and
    responses to concurrent calls may each be newer in a different place."""
    a, b = (kept or "").split(","), seen.split(",")
    n = max(len(a), len(b))
    places = [max(a[i] if i < len(a) else "", b[i] if i < len(b) else "") for i in range(n)]
    return ",".join(places).rstrip(",")


def _headers(call: Call, key: str, idempotency_key: Optional[str]) -> Dict[str, str]:
    headers = {"authorization": "Bearer %s" % key, "user-agent": "quire-python/0.1", **call.headers}
    if idempotency_key:
        headers["idempotency-key"] = idempotency_key
    return headers


def _retry_delay(attempt: int, status: Optional[int], headers: Dict[str, str], retries: int) -> Optional[float]:
    """How long to wait before the next try, or None to stop."""
    if attempt >= retries or (status is not None and status not in RETRY_STATUSES):
        return None
    hinted = headers.get("retry-after")
    try:
        return min(float(hinted), 60.0) if hinted else min(0.5 * 2**attempt, 8.0)
    except ValueError:
        return 1.0


def _followed(event: Dict[str, Any], progress: Optional[Progress]) -> bool:
    """Reports an event's progress; whether it is the last (``done``)."""
    data = event["data"]
    if progress and isinstance(data, dict) and "progress" in data:
        progress(int(data["progress"]), 100)
    return event["event"] == "done"


def _reply(r: httpx.Response) -> Reply:
    return Reply(r.status_code, dict(r.headers), r.content)


def _checked(call: Call, reply: Reply) -> Reply:
    if reply.status < 400 or reply.status in call.allow:
        return reply
    try:
        problem = reply.json() or {}
    except ValueError:
        problem = {"detail": reply.content[:200].decode("utf-8", "replace")}
    hint = reply.headers.get("retry-after")
    raise error_for(reply.status, problem if isinstance(problem, dict) else {}, float(hint) if hint else None)


class _Base:
    def __init__(
        self,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        retries: int = 4,
        timeout: float = 60.0,
        transport: Any = None,
    ):
        """``transport``: an httpx transport (tests, proxies)."""
        self.base_url, self.api_key = settings(base_url, api_key)
        self.transport = transport
        self.retries = retries
        self.timeout = timeout
        # The newest D1 bookmark seen, sent back so reads see this client's
        # writes even when a read replica serves them.
        self.bookmark: Optional[str] = None

    @staticmethod
    def _idempotency(call: Call) -> Optional[str]:
        return call.headers.get("idempotency-key") or (str(uuid.uuid4()) if call.method == "POST" else None)

    def _request(self, call: Call, key: Optional[str]) -> Dict[str, Any]:
        headers = _headers(call, self.api_key, key)
        if self.bookmark:
            headers["quire-bookmark"] = self.bookmark
        return dict(
            method=call.method, url=call.path, params=call.params, json=call.json, content=call.content,
            headers=headers,
        )

    def _delay(self, attempt: int, reply: Optional[Reply]) -> Optional[float]:
        """Seconds before trying again, or None: a connection error (no
        reply) or a retryable status, within the retries."""
        if reply is None:
            return _retry_delay(attempt, None, {}, self.retries)
        seen = reply.headers.get("quire-bookmark")
        if seen:
            self.bookmark = newest_bookmark(self.bookmark, seen)
        return _retry_delay(attempt, reply.status, reply.headers, self.retries)

    @staticmethod
    def _settle(call: Call, reply: Optional[Reply], failure: Optional[Exception]) -> Reply:
        if reply is None:
            raise failure  # type: ignore[misc]
        return _checked(call, reply)


class Client(_Base):
    """Blocking client. ``with Client() as q: q.extract("report.pdf")``."""

    def __init__(self, base_url: Optional[str] = None, api_key: Optional[str] = None, **kw: Any):
        super().__init__(base_url, api_key, **kw)
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout, transport=self.transport)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call) -> Reply:
        key, attempt = self._idempotency(call), 0
        while True:
            failure: Optional[Exception] = None
            try:
                reply: Optional[Reply] = _reply(self._http.request(**self._request(call, key)))
            except httpx.TransportError as e:
                reply, failure = None, e
            delay = self._delay(attempt, reply)
            if delay is None:
                return self._settle(call, reply, failure)
            time.sleep(delay)
            attempt += 1

    def _run(self, op: Op) -> Any:
        try:
            step = next(op)
            while True:
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    step = op.send(None)
                else:
                    step = op.send(self._send(step))
        except StopIteration as done:
            return done.value

    # Documents
    def upload(
        self, path: str, media_type: Optional[str] = None, progress: Optional[Progress] = None, resumable: Optional[bool] = None
    ) -> Document:
        """Uploads a file (in resumable parts when large); its metadata."""
        return self._run(_core.upload_file(path, media_type, progress, resumable))

    def upload_bytes(self, data: bytes, filename: str, media_type: Optional[str] = None) -> Document:
        return self._run(_core.upload_bytes(data, filename, media_type))

    def document(self, document_id: str) -> Document:
        return self._run(_core.get("/v1/documents/%s" % document_id))

    def delete_document(self, document_id: str) -> None:
        self._run(_core.delete("/v1/documents/%s" % document_id))

    # Jobs
    def create_job(self, document_id: str, commands: List[Dict[str, Any]], webhook_url: Optional[str] = None) -> Job:
        return self._run(_core.create_job(document_id, commands, webhook_url))

    def job(self, job_id: str) -> Job:
        return self._run(_core.get("/v1/jobs/%s" % job_id))

    def jobs(self, **filters: Any) -> JobPage:
        """A page of jobs, newest first: ``status``, ``document_id``,
        ``limit``, ``cursor`` (``next_cursor`` of the previous page)."""
        return self._run(_core.get("/v1/jobs", _core.page_params(filters)))

    def events(self, job_id: str) -> Iterator[Dict[str, Any]]:
        """The job's Server-Sent Events (``progress`` …, then ``done``)."""
        headers = {"authorization": "Bearer %s" % self.api_key, "accept": "text/event-stream"}
        with self._http.stream("GET", "/v1/jobs/%s/events" % job_id, headers=headers, timeout=None) as r:
            _checked(Call("GET", ""), Reply(r.status_code, dict(r.headers), b"" if r.status_code < 400 else r.read()))
            parser = _core.SseParser()
            for line in r.iter_lines():
                event = parser.feed(line)
                if event:
                    yield event

    def wait(self, job_id: str, progress: Optional[Progress] = None, timeout: float = 600.0) -> Job:
        """Waits for the job to end: its events stream, else polling."""
        try:
            for event in self.events(job_id):
                if _followed(event, progress):
                    break
        except (httpx.HTTPError, ValueError):
            pass  # no stream (a proxy, a limit): polling below says the same
        return self._run(_core.wait(job_id, progress, timeout))

    def result(self, job_id: str, command: Optional[str] = None) -> Dict[str, Any]:
        return self._run(_core.result(job_id, command))

    def cancel(self, job_id: str) -> Job:
        return self._run(_core.get_post("/v1/jobs/%s/cancel" % job_id))

    def extract(self, path: str, media_type: Optional[str] = None, progress: Optional[Progress] = None, **options: Any) -> ExtractResult:
        """Uploads a file, extracts it and returns ``text``, ``markdown``,
        ``elements``, ``pages`` and ``warnings``."""
        return self._run(_core.extract(path, media_type, options or None, progress))

    # Keys and usage
    def create_key(self, name: str, role: Optional[str] = None, scopes: Optional[List[str]] = None, **more: Any) -> ApiKeyWithSecret:
        return self._run(_core.create_key(name, role, scopes, **more))

    def keys(self) -> List[ApiKey]:
        return self._run(_core.get("/v1/keys"))["data"]

    def revoke_key(self, key_id: str) -> None:
        self._run(_core.delete("/v1/keys/%s" % key_id))

    def usage(self, period: Optional[str] = None) -> Dict[str, Any]:
        return self._run(_core.get("/v1/usage", {"period": period} if period else None))


class AsyncClient(_Base):
    """``async`` client with the same methods as :class:`Client`."""

    def __init__(self, base_url: Optional[str] = None, api_key: Optional[str] = None, **kw: Any):
        super().__init__(base_url, api_key, **kw)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, transport=self.transport)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call) -> Reply:
        key, attempt = self._idempotency(call), 0
        while True:
            failure: Optional[Exception] = None
            try:
                reply: Optional[Reply] = _reply(await self._http.request(**self._request(call, key)))
            except httpx.TransportError as e:
                reply, failure = None, e
            delay = self._delay(attempt, reply)
            if delay is None:
                return self._settle(call, reply, failure)
            await asyncio.sleep(delay)
            attempt += 1

    async def _run(self, op: Op) -> Any:
        try:
            step = next(op)
            while True:
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    step = op.send(None)
                else:
                    step = op.send(await self._send(step))
        except StopIteration as done:
            return done.value

    async def upload(
        self, path: str, media_type: Optional[str] = None, progress: Optional[Progress] = None, resumable: Optional[bool] = None
    ) -> Document:
        return await self._run(_core.upload_file(path, media_type, progress, resumable))

    async def upload_bytes(self, data: bytes, filename: str, media_type: Optional[str] = None) -> Document:
        return await self._run(_core.upload_bytes(data, filename, media_type))

    async def create_job(self, document_id: str, commands: List[Dict[str, Any]], webhook_url: Optional[str] = None) -> Job:
        return await self._run(_core.create_job(document_id, commands, webhook_url))

    async def job(self, job_id: str) -> Job:
        return await self._run(_core.get("/v1/jobs/%s" % job_id))

    async def jobs(self, **filters: Any) -> JobPage:
        return await self._run(_core.get("/v1/jobs", _core.page_params(filters)))

    async def events(self, job_id: str) -> AsyncIterator[Dict[str, Any]]:
        headers = {"authorization": "Bearer %s" % self.api_key, "accept": "text/event-stream"}
        async with self._http.stream("GET", "/v1/jobs/%s/events" % job_id, headers=headers, timeout=None) as r:
            body = b"" if r.status_code < 400 else await r.aread()
            _checked(Call("GET", ""), Reply(r.status_code, dict(r.headers), body))
            parser = _core.SseParser()
            async for line in r.aiter_lines():
                event = parser.feed(line)
                if event:
                    yield event

    async def wait(self, job_id: str, progress: Optional[Progress] = None, timeout: float = 600.0) -> Job:
        """Waits for the job to end: its events stream, else polling."""
        try:
            async for event in self.events(job_id):
                if _followed(event, progress):
                    break
        except (httpx.HTTPError, ValueError):
            pass  # no stream (a proxy, a limit): polling below says the same
        return await self._run(_core.wait(job_id, progress, timeout))

    async def result(self, job_id: str, command: Optional[str] = None) -> Dict[str, Any]:
        return await self._run(_core.result(job_id, command))

    async def extract(self, path: str, media_type: Optional[str] = None, progress: Optional[Progress] = None, **options: Any) -> ExtractResult:
        return await self._run(_core.extract(path, media_type, options or None, progress))

    async def create_key(self, name: str, role: Optional[str] = None, scopes: Optional[List[str]] = None, **more: Any) -> ApiKeyWithSecret:
        return await self._run(_core.create_key(name, role, scopes, **more))

    async def keys(self) -> List[ApiKey]:
        return (await self._run(_core.get("/v1/keys")))["data"]

    async def revoke_key(self, key_id: str) -> None:
        await self._run(_core.delete("/v1/keys/%s" % key_id))

    async def usage(self, period: Optional[str] = None) -> Dict[str, Any]:
        return await self._run(_core.get("/v1/usage", {"period": period} if period else None))
