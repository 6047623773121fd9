"""How much of the store the dense side covers: the share of papers with a vector.

Fusion weighs the dense list against the lexical one as if both ranked the same papers. While
only some papers have vectors (ingested with ``--no-index``, or a store being indexed), the
few with vectors would top every search on meaning alone, above the papers that match the
query's words. The engine scales the dense weight by this share instead: unchanged once every
paper has its vector.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, func, select

from paperfeed.store import embeddings as store
from paperfeed.store.key_lists import sql_text
from paperfeed.store.schema import papers

_Key = tuple[int, str, str]  # engine, its URL, model
_Stamp = tuple[int, int]  # model version, newest paper key

_STAMP = sql_text(
    "SELECT (SELECT version FROM embedding_models WHERE model = :model),"
    " (SELECT coalesce(max(pk), 0) FROM papers)"
)
_shares: dict[_Key, tuple[_Stamp, float]] = {}
_lock = threading.Lock()


def embedded_share(conn: Connection, model: str) -> float:
    """Papers with a vector for ``model`` over all papers, in [0, 1] (1 without papers).

    Counting a million rows takes tens of milliseconds, so the share is counted again only when
    the model's vectors changed (its version) or papers were added (the newest key).
    """
    version, newest = conn.execute(_STAMP, {"model": model}).one()  # one round trip a query
    if version is None:
        return 0.0
    key, stamp = (id(conn.engine), str(conn.engine.url), model), (int(version), int(newest))
    with _lock:
        cached = _shares.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    total = int(conn.execute(select(func.count()).select_from(papers)).scalar_one())
    share = 1.0 if total == 0 else min(1.0, store.count_embeddings(conn, model) / total)
    with _lock:
        _shares[key] = (stamp, share)
    return share
