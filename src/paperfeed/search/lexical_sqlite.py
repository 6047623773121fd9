"""SQLite FTS5 backend: bm25 (title weighted above abstract) and the capped common-word path."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from paperfeed.search.filters import in_keys, sql_text
from paperfeed.search.lexical_sql import (
    Clause,
    LexicalParams,
    Plan,
    edit_distance,
    filters_for,
    run_hits,
)
from paperfeed.search.query import ParsedQuery
from paperfeed.search.snippets import stem
from paperfeed.search.types import Hit

# fts5vocab over the index, created per connection in the temp schema: it needs no migration
# and reads the live index. Used only to correct unknown words.
_VOCAB = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.papers_fts_vocab"
    " USING fts5vocab(main, papers_fts, 'row')"
)
_VOCAB_ROWS = 5_000
_BM25_K1, _BM25_B = 1.2, 0.75
_ABSTRACT_CHARS = 600
# What the filters' key sets are compared with. The unary + keeps SQLite from handing the
# rowid IN (...) to FTS5 as a constraint: FTS5 then seeks every key of the set through the
# MATCH (measured ~800 ms for cs.RO at 100k papers, against ~10 ms reading the matches).
_KEY = "+papers_fts.rowid"


def fts_clause(clause: Clause) -> str:
    """One clause as FTS5 syntax: the words inside a double-quoted string (so never syntax)."""
    phrase = '"' + " ".join(w.replace('"', "") for w in clause.words) + '"'
    return f"title : {phrase}" if clause.column == "title" else phrase


def fts_expression(required: list[Clause], optional: list[Clause], excluded: list[Clause]) -> str:
    """``req AND req AND (opt OR opt) NOT (ex OR ex)``."""
    parts = [fts_clause(c) for c in required]
    if optional:
        parts.append("(" + " OR ".join(fts_clause(c) for c in optional) + ")")
    expression = " AND ".join(parts)
    if excluded:
        expression = f"({expression}) NOT (" + " OR ".join(fts_clause(c) for c in excluded) + ")"
    return expression


class SqliteBackend:
    posting_cost = 1.0  # bm25 ~2 us a match on the 2-core machine

    def __init__(self, params: LexicalParams) -> None:
        self.params = params

    def count(self, conn: Connection, clause: Clause, limit: int) -> int:
        sql = "SELECT count(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH :m LIMIT :n)"
        return int(conn.execute(sql_text(sql), {"m": fts_clause(clause), "n": limit}).scalar_one())

    def is_indexable(self, conn: Connection, word: str) -> bool:
        return True  # the porter unicode61 tokenizer has no stopwords

    def fuzzy(self, conn: Connection, word: str, max_distance: int) -> Clause | None:
        """The most frequent indexed stem within ``max_distance`` edits of the word's stem.

        Candidates share the first letters (3, then 2): a range scan of fts5vocab, which is
        cheap, where a scan of the whole vocabulary is not.
        """
        target = stem(word)
        limit = 1 if len(target) <= 5 else max_distance
        conn.execute(sql_text(_VOCAB))
        for size in (3, 2):
            prefix = target[:size]
            rows = conn.execute(
                sql_text(
                    "SELECT term, doc FROM temp.papers_fts_vocab"
                    " WHERE term >= :lo AND term < :hi LIMIT :n"
                ),
                {"lo": prefix, "hi": prefix + "\U0010ffff", "n": _VOCAB_ROWS},
            )
            near = [(int(d), t) for t, d in rows if t != target]
            near = [(d, t) for d, t in near if edit_distance(target, t, limit) <= limit]
            if near:
                return Clause((max(near)[1],))  # the best-attested close word
        return None

    def exclusion(self, clauses: list[Clause]) -> tuple[str, dict[str, Any]]:
        sql = "p.pk NOT IN (SELECT rowid FROM papers_fts WHERE papers_fts MATCH :exclude)"
        return sql, {"exclude": fts_expression([], clauses, [])}

    def ranked(self, conn: Connection, plan: Plan, parsed: ParsedQuery, k: int) -> list[Hit]:
        where, params = filters_for(parsed, "sqlite", _KEY)
        sql = (
            "SELECT papers_fts.rowid, -bm25(papers_fts, :tw, :aw) AS s"
            f" FROM {_source(where)} WHERE papers_fts MATCH :m{where}"
            " ORDER BY s DESC, papers_fts.rowid DESC LIMIT :k"
        )
        params |= {
            "m": fts_expression(plan.required, plan.optional, plan.excluded),
            "tw": self.params.title_weight,
            "aw": self.params.abstract_weight,
            "k": k,
        }
        return run_hits(conn, sql, params)

    def capped(
        self,
        conn: Connection,
        clauses: list[Clause],
        excluded: list[Clause],
        parsed: ParsedQuery,
        k: int,
    ) -> tuple[list[Hit], int]:
        """Newest papers with every word (in the title first, then anywhere), ranked in Python.

        bm25 is not used here: before it scores anything, it counts the documents of every
        phrase with a full pass over its doclist, which is the cost being avoided.
        """
        cap = self.params.candidate_cap
        titled = [Clause(c.words, "title") for c in clauses]
        pks: dict[int, None] = {}
        self._collect(conn, pks, fts_expression(titled, [], excluded), parsed, cap // 2)
        self._collect(conn, pks, fts_expression(clauses, [], excluded), parsed, cap)
        if len(clauses) > 1 and len(pks) < min(k, cap):
            # Too few papers have every word: take papers with any of them.
            self._collect(conn, pks, fts_expression([], clauses, excluded), parsed, cap)
        return self._score(conn, list(pks), clauses)[:k], len(pks)

    def _collect(
        self,
        conn: Connection,
        pks: dict[int, None],
        expression: str,
        parsed: ParsedQuery,
        upto: int,
    ) -> None:
        for pk in self._newest(conn, expression, parsed, upto - len(pks)):
            pks.setdefault(pk, None)

    def _newest(self, conn: Connection, expression: str, parsed: ParsedQuery, n: int) -> list[int]:
        if n <= 0:
            return []
        where, params = filters_for(parsed, "sqlite", _KEY)
        sql = (
            f"SELECT papers_fts.rowid FROM {_source(where)}"
            f" WHERE papers_fts MATCH :m{where} ORDER BY papers_fts.rowid DESC LIMIT :n"
        )
        return list(conn.execute(sql_text(sql), params | {"m": expression, "n": n}).scalars())

    def _score(self, conn: Connection, pks: list[int], clauses: list[Clause]) -> list[Hit]:
        """BM25F-like score over title and the abstract's start (idf is moot: every word is
        common). A word's frequency is the count of its stem as a substring: C-speed, where
        tokenising and stemming 300 abstracts in Python was measured at ~20 ms."""
        if not pks:
            return []
        stems = {stem(w) for c in clauses for w in c.words}
        rows = _texts(conn, pks)
        lengths = {pk: len(t) + len(a) for pk, (t, a) in rows.items()}
        average = sum(lengths.values()) / max(len(lengths), 1) or 1.0
        title_weight, abstract_weight = self.params.title_weight, self.params.abstract_weight
        hits = []
        for pk in pks:
            title, abstract = rows.get(pk, ("", ""))
            title, abstract = title.casefold(), abstract.casefold()
            norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * lengths.get(pk, 0) / average)
            score = 0.0
            for word in stems:
                tf = title_weight * title.count(word) + abstract_weight * abstract.count(word)
                score += tf * (_BM25_K1 + 1) / (tf + norm)
            hits.append(Hit(pk, round(score, 6)))
        hits.sort(key=lambda h: (-h.score, -h.pk))
        return hits


def _source(where: str) -> str:
    # Never a join to papers: it reads each matching paper's row (abstract included),
    # measured 7-10x slower than the index alone; filters are sets of rowids (search.filters).
    return "papers_fts"


def _texts(conn: Connection, pks: list[int]) -> dict[int, tuple[str, str]]:
    among, params = in_keys(conn, "pk", pks)
    # The abstract's start is enough to rank candidates that all contain the words.
    sql = f"SELECT pk, title, substr(abstract, 1, :chars) FROM papers WHERE {among}"
    params["chars"] = _ABSTRACT_CHARS
    return {int(pk): (t, a) for pk, t, a in conn.execute(sql_text(sql), params).fetchall()}
