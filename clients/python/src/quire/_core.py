"""The API's operations, written once for both clients.

Each operation is a generator: it yields a :class:`Call` (one HTTP
request) or a :class:`Sleep`, and is sent back the :class:`Reply` (or
``None`` after a sleep). :class:`quire.Client` runs them with blocking
I/O, :class:`quire.AsyncClient` with ``await``; neither knows what an
operation does.
"""
from __future__ import annotations

import hashlib
import json as _json
import mimetypes
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generator, Iterable, List, Optional, Union

Progress = Callable[[int, int], None]
"""Called with (done, total): bytes sent for uploads, percent for jobs."""

#: Bodies up to this size go in one request; larger files are uploaded in
#: parts through ``/v1/uploads`` (resumable).
SINGLE_UPLOAD_MAX = 64 * 1024 * 1024

TERMINAL = ("succeeded", "failed", "cancelled")

#: The routes this client calls (a test holds them to docs/openapi.json).
ROUTES = [
    ("POST", "/v1/documents"),
    ("GET", "/v1/documents/{id}"),
    ("DELETE", "/v1/documents/{id}"),
    ("POST", "/v1/uploads"),
    ("GET", "/v1/uploads/{id}"),
    ("PUT", "/v1/uploads/{id}/parts/{n}"),
    ("POST", "/v1/uploads/{id}/complete"),
    ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs/{id}"),
    ("GET", "/v1/jobs/{id}/events"),
    ("GET", "/v1/jobs/{id}/result"),
    ("POST", "/v1/jobs/{id}/cancel"),
    ("GET", "/v1/keys"),
    ("POST", "/v1/keys"),
    ("DELETE", "/v1/keys/{id}"),
    ("GET", "/v1/usage"),
]


@dataclass
class Call:
    method: str
    path: str
    params: Optional[Dict[str, Any]] = None
    json: Any = None
    content: Optional[bytes] = None
    headers: Dict[str, str] = field(default_factory=dict)
    #: Accept these statuses as answers instead of raising (e.g. 409).
    allow: Iterable[int] = ()


@dataclass
class Sleep:
    seconds: float


@dataclass
class Reply:
    status: int
    headers: Dict[str, str]
    content: bytes

    def json(self) -> Any:
        return _json.loads(self.content) if self.content else None


Op = Generator[Union[Call, Sleep], Optional[Reply], Any]


def media_type_of(filename: str, given: Optional[str]) -> str:
    if given:
        return given
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def upload_bytes(data: bytes, filename: str, media_type: Optional[str] = None) -> Op:
    """``POST /v1/documents``: the document's metadata."""
    reply = yield Call(
        "POST",
        "/v1/documents",
        content=data,
        headers={"content-type": media_type_of(filename, media_type), "x-filename": os.path.basename(filename)},
    )
    return reply.json()


def upload_parts(path: str, media_type: Optional[str] = None, progress: Optional[Progress] = None) -> Op:
    """A large file through ``/v1/uploads``: declared with its size and
    SHA-256, sent a part at a time (a part already received is not sent
    again when an upload is resumed), then completed."""
    size = os.path.getsize(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    started = yield Call(
        "POST",
        "/v1/uploads",
        json={
            "filename": os.path.basename(path),
            "media_type": media_type_of(path, media_type),
            "size": size,
            "sha256": digest.hexdigest(),
        },
    )
    upload = started.json()
    yield from send_parts(path, upload, progress)
    done = yield Call("POST", "/v1/uploads/%s/complete" % upload["id"])
    return done.json()


def send_parts(path: str, upload: Dict[str, Any], progress: Optional[Progress]) -> Op:
    """Sends the parts the upload is missing."""
    status = (yield Call("GET", "/v1/uploads/%s" % upload["id"])).json()
    missing = set(status.get("parts_missing") or range(1, upload["parts"] + 1))
    part_size, size = upload["part_size"], os.path.getsize(path)
    with open(path, "rb") as f:
        for n in range(1, upload["parts"] + 1):
            if n in missing:
                f.seek((n - 1) * part_size)
                yield Call("PUT", "/v1/uploads/%s/parts/%d" % (upload["id"], n), content=f.read(part_size))
            if progress:
                progress(min(n * part_size, size), size)


def upload_file(
    path: str,
    media_type: Optional[str] = None,
    progress: Optional[Progress] = None,
    resumable: Optional[bool] = None,
) -> Op:
    """One request, or resumable parts for a file over
    :data:`SINGLE_UPLOAD_MAX` (or when ``resumable`` says so)."""
    size = os.path.getsize(path)
    if resumable or (resumable is None and size > SINGLE_UPLOAD_MAX):
        return (yield from upload_parts(path, media_type, progress))
    with open(path, "rb") as f:
        data = f.read()
    doc = yield from upload_bytes(data, path, media_type)
    if progress:
        progress(size, size)
    return doc


def create_job(document_id: str, commands: List[Dict[str, Any]], webhook_url: Optional[str] = None) -> Op:
    body: Dict[str, Any] = {"document_id": document_id, "commands": commands}
    if webhook_url:
        body["webhook_url"] = webhook_url
    return (yield Call("POST", "/v1/jobs", json=body)).json()


JOB_FILTERS = ("status", "document_id", "limit", "cursor")


def page_params(filters: Dict[str, Any]) -> Dict[str, Any]:
    """The query of a list call: the filters given, unknown ones refused."""
    unknown = set(filters) - set(JOB_FILTERS)
    if unknown:
        raise ValueError("unknown filter(s): %s" % ", ".join(sorted(unknown)))
    return {k: v for k, v in filters.items() if v is not None}


def get(path: str, params: Optional[Dict[str, Any]] = None) -> Op:
    return (yield Call("GET", path, params=params)).json()


def wait(job_id: str, progress: Optional[Progress] = None, timeout: float = 600.0) -> Op:
    """Polls the job until it ends, at the pace its ``Retry-After`` asks;
    raises :class:`quire.JobFailed` unless it succeeded."""
    from .errors import JobFailed

    waited = 0.0
    while True:
        reply = yield Call("GET", "/v1/jobs/%s" % job_id)
        job = reply.json()
        if progress:
            progress(int(job.get("progress") or 0), 100)
        if job["status"] in TERMINAL:
            if job["status"] != "succeeded":
                raise JobFailed(job)
            return job
        pause = float(reply.headers.get("retry-after") or 1)
        if waited > timeout:
            raise TimeoutError("job %s still %s after %.0f s" % (job_id, job["status"], waited))
        waited += pause
        yield Sleep(pause)


def result(job_id: str, command: Optional[str] = None) -> Op:
    params = {"command": command} if command else None
    return (yield Call("GET", "/v1/jobs/%s/result" % job_id, params=params)).json()


def extract(
    path: str,
    media_type: Optional[str] = None,
    options: Optional[Dict[str, Any]] = None,
    progress: Optional[Progress] = None,
) -> Op:
    """Uploads a file, runs ``extract`` and returns its result."""
    doc = yield from upload_file(path, media_type, progress)
    command: Dict[str, Any] = {"name": "extract"}
    if options:
        command["options"] = options
    job = yield from create_job(doc["id"], [command])
    yield from wait(job["id"])
    return (yield from result(job["id"], "extract"))


def create_key(name: str, role: Optional[str] = None, scopes: Optional[List[str]] = None, **more: Any) -> Op:
    body: Dict[str, Any] = {"name": name, **more}
    if role:
        body["role"] = role
    if scopes:
        body["scopes"] = list(scopes)
    return (yield Call("POST", "/v1/keys", json=body)).json()


def delete(path: str) -> Op:
    yield Call("DELETE", path)
    return None


class SseParser:
    """Server-Sent Events, a line at a time: :meth:`feed` returns an event
    (``{"event", "data"}``, data parsed as JSON when it is) when a blank
    line ends one."""

    def __init__(self) -> None:
        self.event, self.data = "message", []  # type: str, List[str]

    def feed(self, line: str) -> Optional[Dict[str, Any]]:
        if line == "":
            out = None
            if self.data:
                text = "\n".join(self.data)
                try:
                    value: Any = _json.loads(text)
                except ValueError:
                    value = text
                out = {"event": self.event, "data": value}
            self.event, self.data = "message", []
            return out
        if line.startswith("event:"):
            self.event = line[6:].strip()
        elif line.startswith("data:"):
            self.data.append(line[5:].lstrip())
        return None  # comments (keep-alives) and unknown fields


def get_post(path: str) -> Op:
    """A POST without a body (an action such as cancel)."""
    return (yield Call("POST", path)).json()
