"""Merge a batch of prepared records into the store, in the caller's transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from paperfeed.domain import Paper
from paperfeed.ingest.ids import SYNTHETIC_PREFIX, is_synthetic
from paperfeed.ingest.merge import content_hash, merge, new_paper
from paperfeed.ingest.normalise import Prepared
from paperfeed.store.bulk import writer_for
from paperfeed.store.papers import (
    DayEncoder,
    PaperRows,
    PaperWrite,
    StoredHead,
    StoredPaper,
    find_by_ids,
    find_by_title_keys,
    find_heads,
    paper_rows,
    write_papers,
)


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
    stored_text: tuple[str, str] | None = None  # title and abstract as stored


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
            # The first paper seen with a title keeps it: a later title-only record lands on the
            # same paper whatever the batch boundaries (the store answers "first stored" too).
            self.aliases.setdefault(item.title_key, item.id)
            return
        old_id = current.paper.id
        final_id = item.id if is_synthetic(old_id) and not item.synthetic else None
        current.paper = merge(current.paper, item.record, final_id)
        current.title_key = item.title_key
        self.targets[current.paper.id] = current
        if self.aliases.get(item.title_key, old_id) == old_id:
            self.aliases[item.title_key] = current.paper.id

    def _take_target(self, item: Prepared) -> _Target | None:
        """The work ``item`` belongs to (removed from targets while it is merged), if known.

        By id first; then by title, where a stored paper (stored earlier) wins over one first
        seen in this batch.
        """
        if item.id in self.targets:
            return self.targets.pop(item.id)
        if item.id in self.by_id:
            return _from_store(self.by_id.pop(item.id), item.title_key)
        stored = self.by_title.get(item.title_key)
        if stored is not None and _title_match_allowed(stored.paper.id, item):
            del self.by_title[item.title_key]
            self.by_id.pop(stored.paper.id, None)
            return _from_store(stored, item.title_key)
        alias = self.aliases.get(item.title_key)
        if alias is not None and alias in self.targets and _title_match_allowed(alias, item):
            return self.targets.pop(alias)
        return None


def _from_store(stored: StoredPaper, key: str) -> _Target:
    text = (stored.paper.title, stored.paper.abstract)
    return _Target(stored.pk, stored.paper, key, stored.content_hash, text)


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
    heads = find_heads(conn, list({p.id for p in batch}))
    counts = BatchCounts()
    day = writer_for(conn).day
    rest, lone = _sort_out(batch, heads, counts)
    by_title = _title_candidates(conn, [*lone, *(p for p in rest if p.id not in heads)])
    # A lone record with nothing stored to merge into makes a new paper on its own: the
    # common case of a bulk load skips the merger (and uses rows built ahead, if any).
    fresh = [own_rows(p, day) for p in lone if p.title_key not in by_title]
    rest += [p for p in lone if p.title_key in by_title]
    by_id = find_by_ids(conn, list({p.id for p in rest if p.id in heads}))
    merger = _BatchMerger(by_id, by_title)
    for item in rest:
        merger.apply(item)
    counts.add(_write(conn, list(merger.targets.values()), fresh))
    return counts


def own_rows(item: Prepared, day: DayEncoder) -> PaperRows:
    """The rows of the paper ``item`` makes on its own (built ahead, or now)."""
    if item.rows is not None:
        return item.rows
    paper = new_paper(item.id, item.record)
    return paper_rows(paper, item.title_key, content_hash(paper), day)


def _own_hash(item: Prepared) -> str:
    if item.rows is not None:
        return item.rows.content_hash
    return content_hash(new_paper(item.id, item.record))


def _sort_out(
    batch: Sequence[Prepared], heads: dict[str, StoredHead], counts: BatchCounts
) -> tuple[list[Prepared], list[Prepared]]:
    """(records to merge, lone records not stored by id); the others are counted unchanged.

    A record is lone when no other record of its batch has its id or title key: nothing else
    can then merge into its paper. Merging is idempotent, so a stored paper whose hash is that
    of a lone record's own paper is what merging the record would give again: a re-ingest
    skips it without reading it whole.
    """
    ids = Counter(p.id for p in batch)
    keys = Counter(p.title_key for p in batch)
    rest, lone = [], []
    for item in batch:
        if ids[item.id] == 1 and keys[item.title_key] == 1:
            head = heads.get(item.id)
            if head is None:
                lone.append(item)
                continue
            if head.title_key == item.title_key and head.content_hash == _own_hash(item):
                counts.unchanged += 1
                continue
        rest.append(item)
    return rest, lone


def _title_candidates(conn: Connection, new: Sequence[Prepared]) -> dict[str, StoredPaper]:
    """Stored papers the records not found by id may merge into, by title key.

    An arXiv record can only merge into a paper stored without an arXiv id, so its keys look at
    those alone: a bulk arXiv ingest then reads nothing for titles that arXiv papers share.
    (The first stored paper of a key is the same either way: once an arXiv paper holds a title,
    a later title-only record merges into it instead of being stored.)
    """
    synthetic = {p.title_key for p in new if p.synthetic}
    arxiv = {p.title_key for p in new if not p.synthetic} - synthetic
    found = find_by_title_keys(conn, list(arxiv), id_prefix=SYNTHETIC_PREFIX) if arxiv else {}
    if synthetic:
        found |= find_by_title_keys(conn, list(synthetic))
    return found


def _write(conn: Connection, targets: list[_Target], fresh: list[PaperRows]) -> BatchCounts:
    counts = BatchCounts(inserted=len(fresh))
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
        write = PaperWrite(target.pk, target.paper, target.title_key, digest)
        write.text_changed = target.stored_text != (target.paper.title, target.paper.abstract)
        writes.append(write)
    if writes or fresh:
        write_papers(conn, writes, fresh)
    return counts
