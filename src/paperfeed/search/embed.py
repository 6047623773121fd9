"""Sentence embedding on CPU with ONNX Runtime (the default, what tests run), and the pieces
every embedder shares (model folders, tokenizer, batching, pooling); ``embedders`` picks one.

All of them (this, OpenVINO, PyTorch on a GPU) turn text into mean-pooled, L2-normalised
float32 vectors of the same model, so papers embedded in bulk on a GPU and queries embedded on
a CPU server meet in one vector space.
The model weights ship inside the package (``models/<name>/``: int8 ONNX graph, tokenizer,
``model.json``), made by ``scripts/export_model.py``; nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # at run time this module needs only numpy, tokenizers and onnxruntime
    from paperfeed.search.types import Vectors

MODELS_DIR = Path(__file__).resolve().parent / "models"
MAX_LENGTH = 256
# Tokens per ONNX call. Length-sorted batches fill this with rows of near-equal length, so
# padding stays under a few percent; larger calls gain nothing on 2 cores and cost memory.
CPU_TOKEN_BUDGET = 8192
QUERY_CACHE_SIZE = 1024
MIN_WINDOW = 16  # [CLS], [SEP] and a title's worth of wordpieces


def paper_text(title: str, abstract: str) -> str:
    """The text embedded for a paper (title, then abstract, as in BEIR's SciFact runs)."""
    return f"{title} {abstract}".strip()


def model_folder(name: str) -> Path:
    """The folder of a model: a path to one, or a name of a shipped model (case-insensitive)."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    slug = name.rsplit("/", 1)[-1].lower()  # "sentence-transformers/all-MiniLM-L6-v2" works
    folder = MODELS_DIR / slug
    if not (folder / "model.json").exists():
        shipped = sorted(p.name for p in MODELS_DIR.iterdir() if (p / "model.json").exists())
        raise ValueError(f"unknown embedding model {name!r}; shipped: {', '.join(shipped)}")
    return folder


def load_card(folder: Path) -> dict[str, Any]:
    """``model.json``: name, dim, max_length, pooling, source."""
    card: dict[str, Any] = json.loads((folder / "model.json").read_text())
    return card


def document_window(card: dict[str, Any], window: int | None) -> int:
    """The wordpieces of a document to embed: ``window``, at most the model's own length."""
    longest = int(card.get("max_length", MAX_LENGTH))
    if window is None:
        return longest
    if not MIN_WINDOW <= window <= longest:
        raise ValueError(
            f"embedding_document_tokens is {window}; model {card['name']!r} reads "
            f"{MIN_WINDOW} to {longest} wordpieces a document"
        )
    return window


def cpu_threads() -> int:
    """Cores this process may use (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def load_tokenizer(folder: Path, max_length: int = MAX_LENGTH) -> Any:
    """The fast tokenizer, truncating at ``max_length`` and never padding (batches pad)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    # The shipped tokenizer.json truncates at 128; the model was trained with 256.
    tokenizer.enable_truncation(max_length)
    tokenizer.no_padding()
    return tokenizer


def length_sorted_batches(lengths: Sequence[int], token_budget: int, max_rows: int) -> list[Any]:
    """Index arrays of texts grouped by length, each padded batch within ``token_budget``."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        # Sorted ascending, so the batch's longest row is its last: grow while it fits.
        while end < len(order) and end - start < max_rows:
            if (end + 1 - start) * lengths[order[end]] > token_budget:
                break
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def pad(rows: Sequence[Sequence[int]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Token ids and attention mask, right-padded to the longest row."""
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


def mean_pool(hidden: npt.NDArray[Any], mask: npt.NDArray[Any]) -> Vectors:
    """Mean over real tokens, then L2-normalised (what sentence-transformers does)."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
    return normalise(pooled)


def normalise(vectors: npt.NDArray[Any]) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxEmbedder:
    """CPU embedder over an ONNX graph with ONNX Runtime (int8 by default)."""

    def __init__(
        self,
        folder: Path,
        *,
        name: str | None = None,
        onnx_file: str = "model.onnx",
        threads: int | None = None,
        calls: int | None = None,
        token_budget: int = CPU_TOKEN_BUDGET,
        max_rows: int = 256,
        window: int | None = None,
    ) -> None:
        """``calls`` batches run at once, each on ``threads // calls`` threads (default: one
        single-threaded call per core). On 2 idle cores this embeds as fast as one two-thread
        call; while other work shares the cores it embeds ~20% more abstracts a second, as no
        call waits for a thread of its own that another process holds (BENCHMARKS.md).

        ``window``: the wordpieces of a document the model reads (default: the model's own
        length); queries always get the model's own length."""
        card = load_card(folder)
        self.name = name or card["name"]
        self.dim = int(card["dim"])
        self.tokenizer = load_tokenizer(folder, int(card.get("max_length", MAX_LENGTH)))
        self.window = document_window(card, window)
        self.doc_tokenizer = load_tokenizer(folder, self.window)
        self.graph = folder / onnx_file
        threads = threads or cpu_threads()
        self.calls = max(1, min(calls or threads, threads))
        per_call = max(1, threads // self.calls)
        self.session = _session(self.graph, per_call, spin=per_call > 1)
        self.token_budget = token_budget
        self.max_rows = max_rows
        self._query_session: Any = self.session if per_call == 1 else None
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def _run(self, rows: Sequence[Sequence[int]], session: Any = None) -> Vectors:
        ids, mask = pad(rows)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = (session or self.session).run(["last_hidden_state"], feeds)
        return mean_pool(hidden, mask)

    def _queries(self) -> Any:
        """A single-threaded session that never spins, for queries: a few tokens gain little
        from a second thread (0.8 vs 1.0 ms), and search embeds the query while the calling
        thread works in SQLite, so a spinning second thread would only take that core."""
        with self._lock:
            if self._query_session is None:
                self._query_session = _session(self.graph, 1, spin=False)
            return self._query_session

    def embed_documents(self, texts: Sequence[str], *, sort: bool = True) -> Vectors:
        """Embed many texts; ``sort=False`` keeps input order in batches (for benchmarks)."""
        return embed_in_batches(
            self.doc_tokenizer,
            texts,
            self.dim,
            self._run,
            token_budget=self.token_budget,
            max_rows=self.max_rows,
            calls=self.calls,
            sort=sort,
        )

    def embed_query(self, text: str) -> Vectors:
        """One text as a (1, dim) array; repeated queries come from a small LRU cache."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self._run([self.tokenizer.encode(text).ids], self._queries())
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > QUERY_CACHE_SIZE:
                self._cache.popitem(last=False)
        return vector


def embed_in_batches(
    tokenizer: Any,
    texts: Sequence[str],
    dim: int,
    run: Callable[[list[list[int]]], Vectors],
    *,
    token_budget: int = CPU_TOKEN_BUDGET,
    max_rows: int = 256,
    calls: int = 1,
    sort: bool = True,
) -> Vectors:
    """Tokenise ``texts``, ``run`` them in batches (``calls`` at once), vectors in input order.

    Batches are length-sorted within ``token_budget`` unless ``sort`` is off (then fixed-size
    batches in input order). Threads suffice for ``calls`` > 1: the runtimes release the GIL.
    """
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    rows = [e.ids for e in tokenizer.encode_batch(list(texts))]
    if sort:
        batches = length_sorted_batches([len(r) for r in rows], token_budget, max_rows)
    else:
        size = max(1, token_budget // MAX_LENGTH)
        batches = [np.arange(i, min(i + size, len(rows))) for i in range(0, len(rows), size)]
    if calls == 1 or len(batches) == 1:
        for batch in batches:
            out[batch] = run([rows[i] for i in batch])
        return out
    with ThreadPoolExecutor(calls, thread_name_prefix="embed") as pool:
        done = pool.map(lambda batch: run([rows[i] for i in batch]), batches)
        for batch, vectors in zip(batches, done, strict=True):
            out[batch] = vectors
    return out


def _session(graph: Path, threads: int, *, spin: bool) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
