"""Tables of "for you": per-tag classifiers, feedback on recommendations, picked categories.

Imported by ``schema``; they register on the one ``metadata``. Migration 0005 creates them.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Table

from paperfeed.store.metadata import metadata

tag_models = Table(
    "tag_models",
    metadata,
    # One linear classifier per (user, tag, embedding model), kept until its training set
    # changes: ``fingerprint`` hashes the positives, negatives and the model's vector version.
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(80), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("fingerprint", String(32), nullable=False),
    Column("weights", LargeBinary, nullable=False),  # float32, the embedding's dimension
    Column("bias", Float, nullable=False),
    Column("trained_at", DateTime(timezone=True), nullable=False),
)

recommendation_feedback = Table(
    "recommendation_feedback",
    metadata,
    # 👍 (+1) or 👎 (-1) on a recommended paper, for the tag it was recommended from ("" when
    # it came from the merged list): trains that tag's classifier.
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
    Column("paper_pk", ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(80), nullable=False, default=""),
    Column("value", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

user_categories = Table(
    "user_categories",
    metadata,
    # Cold start: arXiv categories a user picked before saving any paper.
    Column("user_pk", ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
    Column("category", String(64), primary_key=True),
)
