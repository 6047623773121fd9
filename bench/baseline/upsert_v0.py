"""Merge a batch of prepared records into the store, in the caller's transaction.

Frozen copy of src/paperfeed/ingest/upsert.py as first committed (3239002):
the baseline that `bench/ingest.py --variant baseline` measures against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from bench.baseline.merge_v0 import content_hash, merge, new_paper
from bench.baseline.papers_v0 import (
    PaperWrite,
    StoredPaper,
    find_by_ids,
    find_by_title_keys,
    write_papers,
)
from paperfeed.domain import Paper
from paperfeed.ingest.ids import is_synthetic
from paperfeed.ingest.normalise import Prepared


@dataclass(slots=True)
class BatchCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: BatchCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass(slots=True)
class _Target:
    pk: int | None
    paper: Paper
    title_key: str
    stored_hash: str | None


@dataclass
class _BatchMerger:
    by_id: dict[str, StoredPaper]
    by_title: dict[str, StoredPaper]
    targets: dict[str, _Target] = field(default_factory=dict)  # by final id
    aliases: dict[str, str] = field(default_factory=dict)  # title key -> target id

    def apply(self, item: Prepared) -> None:
        current = self._take_target(item)
        if current is None:
            paper = new_paper(item.id, item.record)
            self.targets[item.id] = _Target(None, paper, item.title_key, None)
            self.aliases[item.title_key] = item.id
            return
        final_id = item.id if is_synthetic(current.paper.id) and not item.synthetic else None
        current.paper = merge(current.paper, item.record, final_id)
        current.title_key = item.title_key
        self.targets[current.paper.id] = current
        self.aliases[item.title_key] = current.paper.id

    def _take_target(self, item: Prepared) -> _Target | None:
        """The work ``item`` belongs to (removed from targets while it is merged), if known."""
        if item.id in self.targets:
            return self.targets.pop(item.id)
        if item.id in self.by_id:
            return _from_store(self.by_id.pop(item.id), item.title_key)
        alias = self.aliases.get(item.title_key)
        if alias is not None and _title_match_allowed(alias, item):
            return self.targets.pop(alias)
        stored = self.by_title.get(item.title_key)
        if stored is not None and _title_match_allowed(stored.paper.id, item):
            del self.by_title[item.title_key]
            self.by_id.pop(stored.paper.id, None)
            return _from_store(stored, item.title_key)
        return None


def _from_store(stored: StoredPaper, key: str) -> _Target:
    return _Target(stored.pk, stored.paper, key, stored.content_hash)


def _title_match_allowed(existing_id: str, item: Prepared) -> bool:
    # Two different arXiv ids are two works even with the same title: a title match merges
    # only when one side has no arXiv id.
    return item.synthetic or is_synthetic(existing_id)


def upsert_batch(conn: Connection, batch: Sequence[Prepared]) -> BatchCounts:
    """Merge ``batch`` into the store: one record per work, unchanged papers not rewritten.

    A record finds its work by id; failing that, a record without an arXiv id (or an arXiv
    record whose title matches a paper stored without one) finds it by normalised title, and the
    paper then takes the arXiv id.
    """
    by_id = find_by_ids(conn, list({p.id for p in batch}))
    unmatched_keys = list({p.title_key for p in batch if p.id not in by_id})
    by_title = find_by_title_keys(conn, unmatched_keys) if unmatched_keys else {}
    merger = _BatchMerger(by_id, by_title)
    for item in batch:
        merger.apply(item)
    return _write(conn, list(merger.targets.values()))


def _write(conn: Connection, targets: list[_Target]) -> BatchCounts:
    counts = BatchCounts()
    writes = []
    for target in targets:
        digest = content_hash(target.paper)
        if digest == target.stored_hash:
            counts.unchanged += 1
            continue
        if target.pk is None:
            counts.inserted += 1
        else:
            counts.updated += 1
        writes.append(PaperWrite(target.pk, target.paper, target.title_key, digest))
    if writes:
        write_papers(conn, writes)
    return counts
