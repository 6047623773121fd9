"""Request dependencies shared by pages and the API: the ready engine and the dense retriever."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine

from paperfeed import services
from paperfeed.search.indexer import DenseRetriever, embed_papers

log = logging.getLogger(__name__)
_retriever_lock = threading.Lock()


def ready_engine(request: Request) -> Engine:
    """The app's engine, once its schema is current (else DatabaseNotReady, a 503 page)."""
    return app_engine(request.app)


def app_engine(app: Any) -> Engine:
    """``ready_engine`` for code that has the app but no request (the MCP tools)."""
    state = app.state
    if not state.schema_ready:
        # Checked per request until it passes, so `paperfeed db upgrade` needs no restart.
        services.require_current_schema(state.engine)
        state.schema_ready = True
    engine: Engine = state.engine
    return engine


def dense_retriever(request: Request) -> DenseRetriever:
    """The app's one DenseRetriever, made on first use: its model loads once, not per request."""
    return app_retriever(request.app)


def app_retriever(app: Any) -> DenseRetriever:
    """``dense_retriever`` for code that has the app but no request (the MCP tools)."""
    state = app.state
    if state.retriever is None:
        # Sync routes run in a thread pool; two first searches must not both build one.
        with _retriever_lock:
            if state.retriever is None:
                state.retriever = DenseRetriever()
    retriever: DenseRetriever = state.retriever
    return retriever


def embed_new_paper(request: Request, engine: Engine, paper_pk: int) -> None:
    """Embed a paper just submitted, so that its page shows similar papers at once (~10 ms on
    a CPU). Best effort: the paper is stored either way, and ``paperfeed index`` embeds what
    this misses."""
    try:
        embed_papers(engine, dense_retriever(request).embedder, [paper_pk])
    except Exception:  # the model or the store failed: the submission itself stands
        log.warning("submitted paper not embedded", extra={"paper_pk": paper_pk}, exc_info=True)


EngineDep = Annotated[Engine, Depends(ready_engine)]
RetrieverDep = Annotated[DenseRetriever, Depends(dense_retriever)]
