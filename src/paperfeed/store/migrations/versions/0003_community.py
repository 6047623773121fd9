"""The community: accounts, sessions, votes, comments, libraries, moderation, paper activity.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_events",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_rate_events")),
    )
    with op.batch_alter_table("rate_events", schema=None) as batch_op:
        batch_op.create_index("ix_rate_events_kind_key_at", ["kind", "key", "at"], unique=False)

    op.create_table(
        "users",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["users.pk"], name=op.f("fk_api_tokens_user_pk_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_pk"), ["user_pk"], unique=False)

    op.create_table(
        "comments",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["paper_pk"],
            ["papers.pk"],
            name=op.f("fk_comments_paper_pk_papers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["users.pk"], name=op.f("fk_comments_user_pk_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_paper_pk"), ["paper_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_comments_user_pk"), ["user_pk"], unique=False)

    op.create_table(
        "library_items",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_pk"],
            ["papers.pk"],
            name=op.f("fk_library_items_paper_pk_papers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_library_items_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_pk", "paper_pk", name=op.f("pk_library_items")),
    )
    op.create_table(
        "library_tags",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_pk"],
            ["papers.pk"],
            name=op.f("fk_library_tags_paper_pk_papers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_library_tags_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_pk", "paper_pk", "tag", name=op.f("pk_library_tags")),
    )
    op.create_table(
        "moderation_log",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor_pk", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_pk"],
            ["users.pk"],
            name=op.f("fk_moderation_log_actor_pk_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_moderation_log")),
    )
    op.create_table(
        "one_time_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_one_time_tokens_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_one_time_tokens")),
    )
    with op.batch_alter_table("one_time_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_one_time_tokens_user_pk"), ["user_pk"], unique=False)

    op.create_table(
        "paper_activity",
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_pk"],
            ["papers.pk"],
            name=op.f("fk_paper_activity_paper_pk_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("paper_pk", "day", "kind", name=op.f("pk_paper_activity")),
    )
    op.create_table(
        "paper_stats",
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("upvotes", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("trending_score", sa.Float(), nullable=False),
        sa.Column("trending_terms", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_pk"],
            ["papers.pk"],
            name=op.f("fk_paper_stats_paper_pk_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("paper_pk", name=op.f("pk_paper_stats")),
    )
    with op.batch_alter_table("paper_stats", schema=None) as batch_op:
        batch_op.create_index("ix_paper_stats_trending_score", ["trending_score"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["users.pk"], name=op.f("fk_sessions_user_pk_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_user_pk"), ["user_pk"], unique=False)

    op.create_table(
        "submissions",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_pk"],
            ["papers.pk"],
            name=op.f("fk_submissions_paper_pk_papers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["users.pk"], name=op.f("fk_submissions_user_pk_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_submissions")),
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submissions_paper_pk"), ["paper_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_submissions_user_pk"), ["user_pk"], unique=False)

    op.create_table(
        "votes",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("paper_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_pk"], ["papers.pk"], name=op.f("fk_votes_paper_pk_papers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["users.pk"], name=op.f("fk_votes_user_pk_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_pk", "paper_pk", name=op.f("pk_votes")),
    )
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_index("ix_votes_paper_pk", ["paper_pk"], unique=False)

    op.create_table(
        "comment_flags",
        sa.Column("comment_pk", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_pk"],
            ["comments.pk"],
            name=op.f("fk_comment_flags_comment_pk_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_comment_flags_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("comment_pk", "user_pk", name=op.f("pk_comment_flags")),
    )
    # A plain ADD COLUMN: a batch (copy-and-move) of papers would break its FTS5 triggers.
    op.add_column("papers", sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("papers", "hidden_at")

    op.drop_table("comment_flags")
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_index("ix_votes_paper_pk")

    op.drop_table("votes")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_user_pk"))
        batch_op.drop_index(batch_op.f("ix_submissions_paper_pk"))

    op.drop_table("submissions")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_user_pk"))

    op.drop_table("sessions")
    with op.batch_alter_table("paper_stats", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_stats_trending_score")

    op.drop_table("paper_stats")
    op.drop_table("paper_activity")
    with op.batch_alter_table("one_time_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_one_time_tokens_user_pk"))

    op.drop_table("one_time_tokens")
    op.drop_table("moderation_log")
    op.drop_table("library_tags")
    op.drop_table("library_items")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_user_pk"))
        batch_op.drop_index(batch_op.f("ix_comments_paper_pk"))

    op.drop_table("comments")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_pk"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("rate_events", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_events_kind_key_at")

    op.drop_table("rate_events")
