"""BEIR-format datasets (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) and a fixed dev split."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class BeirDataset:
    corpus: dict[str, Document]
    queries: dict[str, str]  # only the queries judged in the split
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}


class DatasetError(ValueError):
    """The folder is not a readable BEIR dataset; the message names the file and line."""


def load_beir(folder: Path, split: str = "test") -> BeirDataset:
    _check_folder(folder, split)
    qrels = _load_qrels(folder / "qrels" / f"{split}.tsv")
    queries = {q: t for q, t in _load_queries(folder / "queries.jsonl").items() if q in qrels}
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise DatasetError(f"{folder}/queries.jsonl: no text for judged queries {missing[:5]}")
    return BeirDataset(_load_corpus(folder / "corpus.jsonl"), queries, qrels)


def _check_folder(folder: Path, split: str) -> None:
    """Say what is wrong with the folder itself before looking for its files."""
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "the folder does not exist"
        raise DatasetError(f"{folder}: {what} (give a BEIR-format dataset folder)")
    qrels = folder / "qrels"
    if not qrels.is_dir():
        raise DatasetError(f"{folder}: not a BEIR-format dataset (it has no qrels folder)")
    if not (qrels / f"{split}.tsv").is_file():
        splits = ", ".join(sorted(p.stem for p in qrels.glob("*.tsv"))) or "none"
        raise DatasetError(f"{qrels}: no {split}.tsv for split {split!r} (splits: {splits})")


def _jsonl(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise DatasetError(f"{path}: missing")
    rows = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                raise DatasetError(f"{path} line {number}: invalid JSON ({error})") from None
            if not isinstance(row, dict) or "_id" not in row:
                raise DatasetError(f"{path} line {number}: expected an object with _id")
            rows.append(row)
    return rows


def _load_corpus(path: Path) -> dict[str, Document]:
    return {
        str(r["_id"]): Document(str(r["_id"]), str(r.get("title") or ""), str(r.get("text") or ""))
        for r in _jsonl(path)
    }


def _load_queries(path: Path) -> dict[str, str]:
    return {str(r["_id"]): str(r.get("text") or "") for r in _jsonl(path)}


def _load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), 1):
            if number == 1 and row and row[0] == "query-id":
                continue
            if len(row) != 3:
                raise DatasetError(f"{path} line {number}: expected query-id, corpus-id, score")
            try:
                score = int(row[2])
            except ValueError:
                raise DatasetError(
                    f"{path} line {number}: score {row[2]!r} is not a number"
                ) from None
            qrels.setdefault(row[0], {})[row[1]] = score
    return qrels


def dev_split(query_ids: list[str], dev_fraction: float = 0.2) -> tuple[list[str], list[str]]:
    """Split training queries deterministically (by hash) into (train, dev).

    Tuning uses the dev part; adapting the model uses the train part; test queries are never
    touched by either.
    """
    train: list[str] = []
    dev: list[str] = []
    for qid in query_ids:
        bucket = int(hashlib.sha256(qid.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (dev if bucket < dev_fraction else train).append(qid)
    return train, dev
