"""Precompute the sample corpus's embeddings (``src/paperfeed/sample/embeddings-<model>.npz``).

Ingests the bundled sample into a scratch SQLite database exactly as ``paperfeed ingest
--sample`` does (so the text hashes match what users' databases will hold), embeds every
paper's text with the shipped model, and writes ids, text hashes and float16 vectors.

    .venv/bin/python scripts/embed_sample.py                  # all steps on this machine

On a slow machine the embedding step can run elsewhere (it needs only numpy, tokenizers and
onnxruntime):

    .venv/bin/python scripts/embed_sample.py --texts-out build/sample-texts.jsonl
    python scripts/embed_sample.py --embed build/sample-texts.jsonl --vectors-out build/v.npy
    .venv/bin/python scripts/embed_sample.py --texts build/sample-texts.jsonl --vectors build/v.npy
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
MODEL = "paperfeed-minilm-sci"


def sample_texts() -> list[dict[str, str]]:
    """id, text hash and embedded text of every sample paper, after real ingest."""
    from sqlalchemy import select

    from paperfeed.ingest.sample import sample_sources
    from paperfeed.ingest.service import run_ingest
    from paperfeed.search.embed import paper_text
    from paperfeed.store import migrate
    from paperfeed.store.embeddings import text_hash
    from paperfeed.store.engine import make_engine
    from paperfeed.store.schema import papers

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'sample.db'}")
        migrate.upgrade(engine)
        for source in sample_sources():
            run_ingest(engine, source)
        query = select(papers.c.id, papers.c.title, papers.c.abstract).order_by(papers.c.pk)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        engine.dispose()
    texts = [paper_text(title, abstract) for _, title, abstract in rows]
    return [{"id": r[0], "hash": text_hash(t), "text": t} for r, t in zip(rows, texts, strict=True)]


def embed(texts: list[str]) -> np.ndarray:
    from paperfeed.search.embed import OnnxEmbedder, model_folder

    return OnnxEmbedder(model_folder(MODEL), name=MODEL).embed_documents(texts)


def write(rows: list[dict[str, str]], vectors: np.ndarray) -> None:
    from paperfeed.search.precomputed import sample_path, save_precomputed

    out = sample_path(MODEL)
    save_precomputed(out, MODEL, [r["id"] for r in rows], [r["hash"] for r in rows], vectors)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(rows)} papers)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts-out", type=Path, help="only ingest and write the texts")
    parser.add_argument("--embed", type=Path, help="only embed a texts file ...")
    parser.add_argument("--vectors-out", type=Path, help="... into this .npy")
    parser.add_argument("--texts", type=Path, help="assemble from a texts file ...")
    parser.add_argument("--vectors", type=Path, help="... and its vectors")
    args = parser.parse_args()
    if args.embed:
        rows = [json.loads(line) for line in args.embed.open()]
        np.save(args.vectors_out, embed([r["text"] for r in rows]))
    elif args.texts_out:
        args.texts_out.write_text("".join(json.dumps(r) + "\n" for r in sample_texts()))
    elif args.texts:
        write([json.loads(line) for line in args.texts.open()], np.load(args.vectors))
    else:
        rows = sample_texts()
        write(rows, embed([r["text"] for r in rows]))


if __name__ == "__main__":
    main()
