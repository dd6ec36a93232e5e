"""A LangChain document loader (``pip install "quire-client[langchain]"``):

    from quire.langchain import QuireLoader
    docs = QuireLoader("report.pdf", mode="chunks").load()

``mode="elements"`` gives one document per element (with its type, page
and box), ``"chunks"`` the chunk command's pieces (a table's header kept
with each), ``"document"`` one document of the whole Markdown.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, Optional

from langchain_core.document_loaders import BaseLoader
from langchain_core.documents import Document

from .client import Client


class QuireLoader(BaseLoader):
    def __init__(self, path: str, mode: str = "document", client: Optional[Client] = None, chunk: Optional[Dict[str, Any]] = None):
        if mode not in ("document", "elements", "chunks"):
            raise ValueError("mode is document, elements or chunks")
        self.path, self.mode, self.client, self.chunk = path, mode, client, chunk or {}

    def lazy_load(self) -> Iterator[Document]:
        q = self.client or Client()
        doc = q.upload(self.path)
        commands = [{"name": "extract"}]
        if self.mode == "chunks":
            commands.append({"name": "chunk", "options": self.chunk} if self.chunk else {"name": "chunk"})
        job = q.create_job(doc["id"], commands)
        q.wait(job["id"])
        source = {"source": self.path, "document_id": doc["id"]}
        if self.mode == "chunks":
            for c in q.result(job["id"], "chunk")["chunks"]:
                meta = {k: c.get(k) for k in ("index", "page_start", "page_end", "heading")}
                yield Document(page_content=c["text"], metadata={**source, **meta})
            return
        result = q.result(job["id"], "extract")
        if self.mode == "document":
            yield Document(page_content=result["markdown"], metadata={**source, "pages": result.get("pages")})
            return
        for e in result["elements"]:
            if e.get("text"):
                meta = {k: e[k] for k in ("type", "page", "bbox", "level") if k in e}
                yield Document(page_content=e["text"], metadata={**source, **meta})
