"""Dense embeddings per (paper, model) and the state of each model's index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from paperfeed.store.embeddings_schema import EmbeddingVector

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # halfvec and HNSW come from pgvector (PostgreSQL users bring it; the tests' server has it).
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "embedding_models",
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model", name=op.f("pk_embedding_models")),
    )
    op.create_table(
        "paper_embeddings",
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("vector", EmbeddingVector(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_pk"],
            ["papers.pk"],
            name=op.f("fk_paper_embeddings_paper_pk_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("paper_pk", "model", name=op.f("pk_paper_embeddings")),
    )
    op.create_index("ix_paper_embeddings_model_seq", "paper_embeddings", ["model", "seq"])


def downgrade() -> None:
    op.drop_table("paper_embeddings")
    op.drop_table("embedding_models")
