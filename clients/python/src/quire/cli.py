"""``quire``: Quire from the shell. The base URL and key come from
``--url``/``--key``, QUIRE_URL/QUIRE_API_KEY or ``~/.config/quire/config.toml``.

    quire extract report.pdf --format markdown
    quire jobs watch job_…
    quire keys create ci --role member --scopes documents:read jobs:read
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, List, Optional

from .client import Client
from .errors import QuireError


def _bar(label: str):
    def show(done: int, total: int) -> None:
        if not sys.stderr.isatty() and done < total:
            return
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write("\r%s [%s%s] %3d%%" % (label, "#" * filled, " " * (width - filled), 100 * done // max(total, 1)))
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _extract(q: Client, a: argparse.Namespace) -> None:
    doc = q.upload(a.file, a.media_type, progress=_bar("upload"))
    options: dict = {}
    if a.pages:
        options["pages"] = a.pages
    if a.languages:
        options["languages"] = a.languages.split(",")
    job = q.create_job(doc["id"], [{"name": "extract", **({"options": options} if options else {})}])
    q.wait(job["id"], progress=_bar("extract"))
    result = q.result(job["id"], "extract")
    for warning in result.get("warnings") or []:
        print("warning: %s" % warning, file=sys.stderr)
    if a.format == "json":
        _print(result)
    else:
        print(result["markdown" if a.format == "markdown" else "text"])


def _jobs(q: Client, a: argparse.Namespace) -> None:
    if a.action == "list":
        _print(q.jobs(status=a.status, document_id=a.document))
    elif a.action == "watch":
        _print(q.wait(a.job_id, progress=_bar(a.job_id)))
    else:
        _print(q.job(a.job_id))


def _keys(q: Client, a: argparse.Namespace) -> None:
    if a.action == "create":
        _print(q.create_key(a.name, a.role, a.scopes))
    elif a.action == "revoke":
        q.revoke_key(a.name)
    else:
        _print(q.keys())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quire", description="Quire from the shell")
    p.add_argument("--url", help="base URL (QUIRE_URL)")
    p.add_argument("--key", help="API key (QUIRE_API_KEY)")
    sub = p.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="upload a file and print its extraction")
    ex.add_argument("file")
    ex.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    ex.add_argument("--media-type")
    ex.add_argument("--pages", help="page range such as 2-5")
    ex.add_argument("--languages", help="OCR languages, comma-separated (eng,deu)")
    ex.set_defaults(run=_extract)
    jobs = sub.add_parser("jobs", help="list jobs, a job's state, or watch it to the end")
    jobs.add_argument("action", choices=["list", "get", "watch"])
    jobs.add_argument("job_id", nargs="?")
    jobs.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "cancelled"])
    jobs.add_argument("--document", help="only the jobs on this document")
    jobs.set_defaults(run=_jobs)
    keys = sub.add_parser("keys", help="list, create or revoke API keys")
    keys.add_argument("action", choices=["list", "create", "revoke"])
    keys.add_argument("name", nargs="?", help="the new key's name (create) or the key id (revoke)")
    keys.add_argument("--role")
    keys.add_argument("--scopes", nargs="+")
    keys.set_defaults(run=_keys)
    usage = sub.add_parser("usage", help="this month's usage against the budgets")
    usage.set_defaults(run=lambda q, a: _print(q.usage()))
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = parser().parse_args(argv)
    if a.command == "keys" and a.action in ("create", "revoke") and not a.name:
        parser().error("keys %s needs a name or id" % a.action)
    if a.command == "jobs" and a.action != "list" and not a.job_id:
        parser().error("jobs %s needs a job id" % a.action)
    try:
        with Client(a.url, a.key) as q:
            a.run(q, a)
    except QuireError as e:
        print("quire: %s" % e, file=sys.stderr)
        return 1
    except ValueError as e:
        print("quire: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
