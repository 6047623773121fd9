"""How many results a search or a similar-papers list returns at most: one place for the
engine and the CLI, whose --limit refuses more rather than be cut short silently (kept free
of heavy imports, so the CLI reads it at start)."""

MAX_RESULTS = 1000  # search(): the engine ranks no deeper
MAX_SIMILAR = 100  # similar_papers()
