"""Ingest: read papers from every source format and merge them into the store."""
