"""Search: query parsing, lexical and dense retrieval, fusion, snippets, similar papers, eval."""
