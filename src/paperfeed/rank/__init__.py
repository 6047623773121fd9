"""Ranking: the trending score (``paperfeed.rank.trending``)."""
