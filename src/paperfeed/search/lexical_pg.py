"""PostgreSQL backend: the generated ``search_vector`` (title A, abstract B), ``ts_rank_cd``."""

from __future__ import annotations

import json
import math
from typing import Any

import snowballstemmer
from sqlalchemy import Connection

from paperfeed.search.filters import sql_text
from paperfeed.search.lexical_sql import (
    Clause,
    LexicalParams,
    Plan,
    edit_distance,
    filters_for,
    run_hits,
)
from paperfeed.search.query import ParsedQuery
from paperfeed.search.types import Hit

_MIN_PREFIX = 4
_SAMPLE_DOCS = 1_000
# Trust an estimate of "common" only well above the limit (estimates err both ways).
_ESTIMATE_MARGIN = 2
_ENGLISH = snowballstemmer.stemmer("english")  # PostgreSQL's 'english' config is Snowball
# ts_rank_cd normalisation 1: divide by 1 + log(document length), as bm25 does in spirit.
_NORMALISATION = 1


class _Builder:
    """Builds a tsquery SQL expression; every user word is a bound parameter."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def _bind(self, value: str) -> str:
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def clause(self, clause: Clause) -> str:
        if clause.column == "title":
            lexemes = " <-> ".join(f"{w}:A" for w in clause.words)
            return f"to_tsquery('english', {self._bind(lexemes)})"
        function = "phraseto_tsquery" if len(clause.words) > 1 else "plainto_tsquery"
        return f"{function}('english', {self._bind(' '.join(clause.words))})"

    def expression(
        self, required: list[Clause], optional: list[Clause], excluded: list[Clause]
    ) -> str:
        parts = [self.clause(c) for c in required]
        if optional:
            parts.append("(" + " || ".join(self.clause(c) for c in optional) + ")")
        result = "(" + " && ".join(parts) + ")"
        for clause in excluded:
            result = f"({result} && !! {self.clause(clause)})"
        return result


class PostgresBackend:
    # ts_rank_cd reads each match's tsvector from the heap: ~10-20 us a match, measured at
    # 100k papers, against FTS5's ~2 us; so PostgreSQL ranks a quarter as many.
    posting_cost = 4.0

    def __init__(self, params: LexicalParams) -> None:
        self.params = params

    def _weights(self) -> list[float]:
        # ts_rank_cd's weights are {D, C, B, A}; titles are A, abstracts B.
        top = max(self.params.title_weight, self.params.abstract_weight) or 1.0
        return [0.0, 0.0, self.params.abstract_weight / top, self.params.title_weight / top]

    def count(self, conn: Connection, clause: Clause, limit: int) -> int:
        """The planner's estimate when it says "common" (reading rows to count them was
        measured at ~10 ms a word: GIN has no index-only scans), else a real capped count."""
        builder = _Builder()
        query = builder.clause(clause)
        explain = f"EXPLAIN (FORMAT JSON) SELECT 1 FROM papers WHERE search_vector @@ {query}"
        plan = conn.execute(sql_text(explain), builder.params).scalar_one()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        if int(plan[0]["Plan"]["Plan Rows"]) >= limit * _ESTIMATE_MARGIN:
            return limit
        sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM papers WHERE search_vector @@ {query} LIMIT :n) s"
        )
        return int(conn.execute(sql_text(sql), builder.params | {"n": limit}).scalar_one())

    def is_indexable(self, conn: Connection, word: str) -> bool:
        sql = "SELECT numnode(plainto_tsquery('english', :w))"
        return int(conn.execute(sql_text(sql), {"w": word}).scalar_one()) > 0

    def fuzzy(self, conn: Connection, word: str, max_distance: int) -> Clause | None:
        """The best-attested indexed word within ``max_distance`` edits of ``word``.

        PostgreSQL has no cheap view of its whole vocabulary (``ts_stat`` over every row
        reads them all), so the vocabulary is sampled: ``ts_stat`` over at most
        ``_SAMPLE_DOCS`` papers with a word sharing the first letters, one GIN probe.
        """
        target = _english_stem(word)
        limit = 1 if len(target) <= 5 else max_distance
        prefix = target[:_MIN_PREFIX]
        # ts_stat takes its query as text; the prefix is letters and digits only (quotes
        # doubled all the same), so it cannot change that query.
        literal = prefix.replace("'", "''")
        inner = (
            "SELECT search_vector FROM papers WHERE search_vector @@ "
            f"to_tsquery('simple', '{literal}:*') LIMIT {_SAMPLE_DOCS}"
        )
        sql = "SELECT word, ndoc FROM ts_stat(:inner) WHERE word LIKE :like"
        rows = conn.execute(sql_text(sql), {"inner": inner, "like": prefix + "%"}).all()
        near = [(int(n), w) for w, n in rows if w != target]
        near = [(n, w) for n, w in near if edit_distance(target, w, limit) <= limit]
        return Clause((max(near)[1],)) if near else None

    def exclusion(self, clauses: list[Clause]) -> tuple[str, dict[str, Any]]:
        builder = _Builder()
        query = builder.expression([], clauses, [])
        return f"NOT (p.search_vector @@ {query})", builder.params

    def ranked(self, conn: Connection, plan: Plan, parsed: ParsedQuery, k: int) -> list[Hit]:
        """ts_rank_cd per clause, each weighted by an idf from its estimated frequency.

        ts_rank_cd alone has no idf: a rare word counts no more than a common one, which was
        seen to bury the paper a rare (corrected) word names under common-word matches.
        """
        builder = _Builder()
        query = builder.expression(plan.required, plan.optional, plan.excluded)
        horizon = self.params.max_term_df + 1
        terms = []
        for clause in plan.required + plan.optional:
            weight = math.log(1 + horizon / max(plan.df.get(clause, 1), 1))
            terms.append(
                f"{weight:.6f} * ts_rank_cd(CAST(:w AS float4[]), p.search_vector,"
                f" {builder.clause(clause)}, :norm)"
            )
        where, params = filters_for(parsed, "postgresql")
        sql = (
            f"SELECT p.pk, {' + '.join(terms)} AS s"
            f" FROM papers p, (SELECT {query} AS q) q WHERE p.search_vector @@ q.q{where}"
            " ORDER BY s DESC, p.pk DESC LIMIT :k"
        )
        params |= builder.params | {"w": self._weights(), "norm": _NORMALISATION, "k": k}
        return run_hits(conn, sql, params)

    def capped(
        self,
        conn: Connection,
        clauses: list[Clause],
        excluded: list[Clause],
        parsed: ParsedQuery,
        k: int,
    ) -> tuple[list[Hit], int]:
        """The newest ``candidate_cap`` papers with every word, ranked by ``ts_rank_cd``.

        Any of the words (OR) when too few papers have all of them.
        """
        hits, scored = self._capped(conn, clauses, [], excluded, parsed, k)
        if len(clauses) > 1 and len(hits) < k:
            hits, scored = self._capped(conn, [], clauses, excluded, parsed, k)
        return hits, scored

    def _capped(
        self,
        conn: Connection,
        required: list[Clause],
        optional: list[Clause],
        excluded: list[Clause],
        parsed: ParsedQuery,
        k: int,
    ) -> tuple[list[Hit], int]:
        builder = _Builder()
        match = builder.expression(required, optional, excluded)
        rank = builder.expression([], required + optional, [])
        where, params = filters_for(parsed, "postgresql")
        sql = (
            "SELECT c.pk, ts_rank_cd(CAST(:w AS float4[]), c.sv, q.r, :norm) AS s,"
            " count(*) OVER () AS scored FROM ("
            f"  SELECT p.pk, p.search_vector AS sv FROM papers p WHERE p.search_vector @@ {match}"
            f"  {where} ORDER BY p.pk DESC LIMIT :cap) c, (SELECT {rank} AS r) q"
            " ORDER BY s DESC, c.pk DESC LIMIT :k"
        )
        params |= builder.params
        params |= {"w": self._weights(), "norm": _NORMALISATION, "cap": self.params.candidate_cap}
        rows = conn.execute(sql_text(sql), params | {"k": k}).all()
        scored = int(rows[0][2]) if rows else 0
        return [Hit(int(pk), float(s)) for pk, s, _ in rows], scored


def _english_stem(word: str) -> str:
    return str(_ENGLISH.stemWord(word.casefold()))
