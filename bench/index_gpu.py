"""`paperfeed index` on a GPU: ``update_index`` throughput on an SQLite store, old code vs new.

Builds an SQLite store of ``--papers`` papers (distinct ids, the real arXiv titles and
abstracts of ``--data`` repeated; tables from the schema, filled directly, no FTS), copies it
once per source tree, and runs ``update_index`` from each tree (``--src``, e.g. the commit
before a change exported with ``git archive``) in its own process, one after another, on the
same card. Each process first embeds ``--warm`` texts (torch.compile and the first tokeniser
pool: the warm-up, reported apart), then times ``update_index`` on the store (every paper
stale): the stale scan, the embedding phase (first progress call to the start of the vector
index sync: reading texts, embedding, writing vectors in committed batches), the sync (the
HNSW file, 500k papers being over ``HNSW_MIN_PAPERS``), and the whole call, in papers/s.
Compile warm-up times depend on inductor's cache (the first process on a machine compiles
cold). Without the GPU set's file, ``--data`` defaults to the shipped sample listings.

    python bench/index_gpu.py --papers 500000 --data .bench_data/arxiv-15k.jsonl.xz \
        --src old=.old_src/src --src new=src --src new-eager=src:eager

(``.bench_data/arxiv-15k.jsonl.xz``: the first 15,000 lines of ``.train/gpu/arxiv.jsonl.xz``,
to fit the device's 64 MiB upload beside the wheels that the store needs there.)

(``.old_src`` from ``git archive <commit> src/paperfeed | tar -x -C .old_src``.) Weights:
the shipped model's, dequantised from its ONNX file (``embed_gpu.onnx_bert_weights``), in a
temporary folder; compiled as in bench/embed_gpu.py, or not (``NAME=TREE:eager`` or ``--eager``:
what ``get_embedder`` builds). The GPU's busy and idle time come from CUDA events around each
chunk's launch; read and write seconds from timers around the indexer's steps (new code).
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "bench/minilm_l6_config.json"
ONNX = ROOT / "src/paperfeed/search/models/paperfeed-minilm-sci/model.onnx"
TOKENIZER = ROOT / "src/paperfeed/search/models/paperfeed-minilm-sci/tokenizer.json"
DATA = ROOT / ".train/gpu/arxiv.jsonl.xz"
SAMPLE = ROOT / "src/paperfeed/sample/arxiv-listings.jsonl.gz"
T0 = time.perf_counter()


def log(*parts: Any) -> None:
    print(f"[{time.perf_counter() - T0:7.1f}s]", *parts, flush=True)


def load_papers(path: Path) -> list[tuple[str, str]]:
    """(title, abstract) pairs: the GPU set's ``[title, "title abstract"]`` lines or the
    sample listings' JSON objects."""
    if path.suffix == ".xz":
        out = []
        with lzma.open(path, "rt") as f:
            for line in f:
                title, text = json.loads(line)
                out.append((title, text[len(title) :].lstrip(". ") or text))
        return out
    import gzip

    with gzip.open(path, "rt") as f:
        rows = [json.loads(line) for line in f]
    return [(str(r["title"]), str(r["abstract"])) for r in rows]


def make_model_dir() -> Path:
    import torch
    from transformers import BertConfig, BertModel

    from paperfeed.search import embed_gpu

    folder = Path(tempfile.mkdtemp(prefix="index_gpu_"))
    model = BertModel(BertConfig.from_dict(json.loads(CONFIG.read_text())))
    state = {k: torch.from_numpy(v) for k, v in embed_gpu.onnx_bert_weights(ONNX).items()}
    model.load_state_dict(state, strict=False)
    model.save_pretrained(str(folder))
    shutil.copy(TOKENIZER, folder / "tokenizer.json")
    return folder


def build_store(db: Path, n: int, papers: list[tuple[str, str]]) -> None:
    """The schema's tables, then ``n`` papers by plain INSERTs (ids 0000.00001 on)."""
    from paperfeed.store import schema
    from paperfeed.store.engine import make_engine

    engine = make_engine(f"sqlite:///{db}")
    schema.metadata.create_all(engine)
    engine.dispose()
    now = "2026-11-26 00:00:00.000000"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")

    def rows() -> Any:
        for i in range(n):
            title, abstract = papers[i % len(papers)]
            yield (i + 1, f"b{i:07d}", title, abstract, title.lower(), 0, now, now, "0" * 32)

    con.executemany(
        "INSERT INTO papers (pk, id, title, abstract, title_key, external_upvotes,"
        " first_seen_at, updated_at, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def gpu_events(emb: Any) -> tuple[list[Any], list[Any]]:
    """CUDA events before and after each chunk's launch: the GPU's busy time and its idle
    gaps between chunks (the end event completes when the chunk's work has run)."""
    import torch

    starts: list[Any] = []
    ends: list[Any] = []
    launch = emb._launch

    def timed(flat: Any, lengths: Any) -> Any:
        starts.append(torch.cuda.Event(enable_timing=True))
        starts[-1].record()
        out = launch(flat, lengths)
        ends.append(torch.cuda.Event(enable_timing=True))
        ends[-1].record()
        return out

    emb._launch = timed
    return starts, ends


def db_times(indexer: Any) -> dict[str, float]:
    """Seconds spent reading texts and writing vectors, where the indexer has those steps."""
    spent = {"read": 0.0, "write": 0.0}
    for key, name in (("read", "_read_batch"), ("write", "_write_batch")):
        fn = getattr(indexer, name, None)
        if fn is None:
            continue

        def timed(*a: Any, _fn: Any = fn, _key: str = key) -> Any:
            t = time.perf_counter()
            try:
                return _fn(*a)
            finally:
                spent[_key] += time.perf_counter() - t

        setattr(indexer, name, timed)
    return spent


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """One tree's run (in a process of its own, that tree first on sys.path)."""
    sys.path.insert(0, str(Path(args.measure).resolve()))
    import torch

    from paperfeed.search.embed_gpu import TorchEmbedder
    from paperfeed.search.indexer import update_index
    from paperfeed.store.engine import make_engine

    assert Path(sys.modules["paperfeed"].__file__ or "").is_relative_to(
        Path(args.measure).resolve()
    )
    papers = load_papers(args.data)
    emb = TorchEmbedder(args.model_dir, name="bench-minilm", device="cuda", compile=not args.eager)
    warm_texts = [f"{t} {a}" for t, a in (papers * (args.warm // len(papers) + 1))[: args.warm]]
    t = time.perf_counter()
    emb.embed_documents(warm_texts)
    torch.cuda.synchronize()
    warm = time.perf_counter() - t
    log(f"warm-up (compile + first pool) {len(warm_texts):,} texts: {warm:.1f} s")
    engine = make_engine(f"sqlite:///{args.db}")
    marks: list[tuple[float, int]] = []
    events = gpu_events(emb)
    indexer = sys.modules["paperfeed.search.indexer"]
    db = db_times(indexer)
    synced: list[float] = []  # when the vector index sync starts: every batch committed
    sync_index = indexer.sync_vector_index

    def timed_sync(*a: Any, **k: Any) -> Any:
        synced.append(time.perf_counter())
        return sync_index(*a, **k)

    indexer.sync_vector_index = timed_sync
    t0 = time.perf_counter()
    report = update_index(engine, emb, progress=lambda d, n: marks.append((time.perf_counter(), d)))
    whole = time.perf_counter() - t0
    torch.cuda.synchronize()
    starts, ends = events
    busy = sum(a.elapsed_time(b) for a, b in zip(starts, ends, strict=True)) / 1e3
    gaps = [max(0.0, b.elapsed_time(a) / 1e3) for b, a in zip(ends[:-1], starts[1:], strict=True)]
    close = getattr(emb, "close", None)
    if close is not None:
        close()
    scan = marks[0][0] - t0
    embed = synced[0] - marks[0][0]  # to the last commit (new code: after the last progress)
    sync = whole - scan - embed
    n = report.embedded
    out = {
        "papers": n,
        "warm_s": round(warm, 1),
        "scan_s": round(scan, 2),
        "embed_s": round(embed, 2),
        "sync_s": round(sync, 2),
        "whole_s": round(whole, 2),
        "embed_per_s": round(n / embed),
        "whole_per_s": round(n / whole),
        "batches": len(marks) - 1,
        "chunks": len(starts),
        "gpu_busy_s": round(busy, 2),
        "gpu_idle_s": round(sum(gaps), 2),  # between the first chunk and the last
        "gpu_gap_max_s": round(max(gaps, default=0.0), 3),
        "read_s": round(db["read"], 2),  # in _read_batch / _write_batch (new code only)
        "write_s": round(db["write"], 2),
        "index": report.vector_index,
        "compiled": not args.eager,
    }
    log("RESULT " + json.dumps(out))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--papers", type=int, default=500_000)
    p.add_argument("--data", type=Path, default=DATA if DATA.exists() else SAMPLE)
    p.add_argument("--src", action="append", help="NAME=SOURCE_TREE (repeatable, in order)")
    p.add_argument("--warm", type=int, default=70_000, help="warm-up texts per process")
    p.add_argument("--eager", action="store_true", help="no torch.compile (the CLI's default)")
    p.add_argument("--work", type=Path, help="folder for the stores (default: a temporary one)")
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench/out")))
    p.add_argument("--measure", help=argparse.SUPPRESS)
    p.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        measure(args)
        return
    print("$ python " + " ".join(sys.argv), flush=True)
    sys.path.insert(0, str(ROOT / "src"))
    import torch

    log("torch", torch.__version__, "cuda", torch.cuda.get_device_name(), "cpus", os.cpu_count())
    trees = [s.split("=", 1) for s in args.src or ["new=src"]]  # NAME=TREE[:eager]
    work = args.work or Path(tempfile.mkdtemp(prefix="index_gpu_"))
    model_dir = make_model_dir()
    papers = load_papers(args.data)
    log(f"{len(papers):,} distinct papers from {args.data.name}; weights ready")
    base = work / "base.db"
    build_store(base, args.papers, papers)
    log(f"store of {args.papers:,} papers: {base.stat().st_size / 2**20:,.0f} MiB")
    results: dict[str, dict[str, Any]] = {}
    for name, tree in trees:
        db = work / f"{name}.db"
        shutil.copy(base, db)
        tree, _, mode = tree.partition(":")
        cmd = [sys.executable, __file__, "--measure", tree, "--db", str(db)]
        cmd += ["--model-dir", str(model_dir), "--data", str(args.data), "--warm", str(args.warm)]
        cmd += ["--eager"] if args.eager or mode == "eager" else []
        log(f"{name}: {tree}")
        run = subprocess.run(cmd, capture_output=True, text=True)
        print(run.stdout[-4000:] + run.stderr[-4000:], flush=True)
        lines = [x for x in run.stdout.splitlines() if "RESULT " in x]
        if lines:
            results[name] = json.loads(lines[-1].split("RESULT ", 1)[1])
        db.unlink()
        for extra in work.glob(f"{name}.db*"):
            extra.unlink()
    print(f"\n{args.papers:,} papers:")
    print(
        "tree       warm-up s  scan s  embed s  embed papers/s  sync s  whole s  whole papers/s"
        "  GPU busy s  GPU idle s  read s  write s"
    )
    for name, r in results.items():
        print(
            f"{name:10} {r['warm_s']:9} {r['scan_s']:7} {r['embed_s']:8} {r['embed_per_s']:15,}"
            f" {r['sync_s']:7} {r['whole_s']:8} {r['whole_per_s']:15,} {r['gpu_busy_s']:11}"
            f" {r['gpu_idle_s']:11} {r['read_s']:7} {r['write_s']:8}"
        )
    print("reproduce: python " + " ".join(sys.argv))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "index_gpu.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
